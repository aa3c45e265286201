/**
 * Risk history on the JSONL backend: risk_signals.jsonl and risk_history.jsonl in the backlog's JSONL
 * directory, written under the same cross-process directory lock as items.jsonl (lib/fs/file-lock.ts).
 * Appends are whole lines in one write after a torn tail is cut off; cleanup rewrites atomically
 * (temp + fsync + rename) — both through lib/fs/jsonl-file.ts, the backlog files' own machinery.
 *
 * Each action reads the files afresh (no long-lived handles, so nothing to close when the backlog
 * store goes away). That is a full read per action: fine for the hourly/daily jobs of a few hundred
 * services; much more than that belongs on Postgres.
 */
import { statSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import * as v from "valibot";
import { DirLock } from "../fs/file-lock.ts";
import type { Logger } from "../core/log.ts";
import { BLANK, type LineSink } from "../fs/line-sink.ts";
import { JsonlFile } from "../fs/jsonl-file.ts";
import {
  compareHistory,
  compareSignals,
  historyKey,
  newSnapshots,
  StoredHistorySchema,
  StoredSignalSchema,
  type CleanupCounts,
  type HistoryRow,
  type RiskHistoryStore,
} from "./history-store.ts";
import type { SignalRecord } from "./signals.ts";

export const SIGNALS_FILE = "risk_signals.jsonl";
export const HISTORY_FILE = "risk_history.jsonl";

/** Collects the lines that match `schema`; the rest are reported by JsonlFile as bad lines. */
function collector<T>(schema: v.GenericSchema<unknown, T>) {
  const rows: T[] = [];
  const sink: LineSink = {
    reset: () => void (rows.length = 0),
    batch(values) {
      const bad: number[] = [];
      values.forEach((value, i) => {
        if (value === BLANK) return;
        const r = v.safeParse(schema, value);
        if (r.success) rows.push(r.output);
        else bad.push(i);
      });
      return bad;
    },
    end: () => {},
  };
  return { rows, sink };
}

const lines = (rows: object[]) => rows.map((r) => JSON.stringify(r) + "\n").join("");

export interface JsonlRiskOptions {
  dir: string;
  log: Logger;
  lockStaleMs?: number;
}

export class JsonlRiskHistory implements RiskHistoryStore {
  readonly name = "JsonlRiskHistory";
  readonly dir: string;
  private readonly log: Logger;
  private readonly lock: DirLock;

  constructor(options: JsonlRiskOptions) {
    this.dir = resolve(options.dir);
    this.log = options.log;
    // The backlog store's lock (same directory, same .lock): one writer at a time in this directory.
    this.lock = new DirLock(this.dir, { staleMs: options.lockStaleMs ?? 10_000, log: this.log });
  }

  /** Opens `name`, reads every valid row, runs `fn` with the open file, closes it. */
  private async withFile<T, R>(name: string, schema: v.GenericSchema<unknown, T>, fn: (rows: T[], file: JsonlFile, tail: number) => Promise<R>): Promise<R> {
    await mkdir(this.dir, { recursive: true });
    const file = new JsonlFile(join(this.dir, name), this.log);
    try {
      const { rows, sink } = collector(schema);
      const tail = await file.catchUp(sink);
      return await fn(rows, file, tail);
    } finally {
      await file.close();
    }
  }

  /** Under the directory lock (which needs the directory to exist first). */
  private async locked<R>(fn: () => Promise<R>): Promise<R> {
    await mkdir(this.dir, { recursive: true });
    return this.lock.run(fn);
  }

  private append<T extends object>(name: string, schema: v.GenericSchema<unknown, T>, pick: (existing: T[]) => T[]): Promise<T[]> {
    return this.locked(() =>
      this.withFile(name, schema, async (existing, file, tail) => {
        const fresh = pick(existing);
        if (fresh.length) {
          await file.repairTail(tail);
          await file.append(lines(fresh), fresh.length);
        }
        return fresh;
      }),
    );
  }

  async addSignals(records: SignalRecord[]): Promise<void> {
    if (records.length) await this.append(SIGNALS_FILE, StoredSignalSchema, () => records);
  }

  signals(env: string, from: string, to: string): Promise<SignalRecord[]> {
    return this.withFile(SIGNALS_FILE, StoredSignalSchema, async (rows) => rows.filter((r) => r.env === env && r.ts >= from && r.ts <= to).sort(compareSignals));
  }

  addSnapshots(rows: HistoryRow[]): Promise<HistoryRow[]> {
    if (!rows.length) return Promise.resolve([]);
    return this.append(HISTORY_FILE, StoredHistorySchema, (existing) => {
      const keys = new Set(existing.map(historyKey));
      return newSnapshots(rows, (k) => keys.has(k));
    });
  }

  history(env: string, from: string, to: string): Promise<HistoryRow[]> {
    return this.withFile(HISTORY_FILE, StoredHistorySchema, async (rows) => rows.filter((r) => r.env === env && r.hour >= from && r.hour <= to).sort(compareHistory));
  }

  cleanup(cutoff: string, dryRun: boolean, env?: string): Promise<CleanupCounts> {
    const other = (r: { env: string }) => env !== undefined && r.env !== env;
    const trim = <T extends object>(name: string, schema: v.GenericSchema<unknown, T>, keep: (r: T) => boolean) =>
      this.withFile(name, schema, async (rows, file) => {
        const kept = rows.filter(keep);
        const removed = rows.length - kept.length;
        if (removed > 0 && !dryRun) await file.rewrite([lines(kept)], kept.length);
        return removed;
      });
    return this.locked(async () => ({
      signals: await trim(SIGNALS_FILE, StoredSignalSchema, (r) => r.ts >= cutoff || other(r)),
      history: await trim(HISTORY_FILE, StoredHistorySchema, (r) => r.hour >= cutoff || other(r)),
    }));
  }

  /** True when either file holds anything (one stat each; cheap enough to ask before every call). */
  hasRows(): boolean {
    return [SIGNALS_FILE, HISTORY_FILE].some((name) => {
      try {
        return statSync(join(this.dir, name)).size > 0;
      } catch {
        return false;
      }
    });
  }

  /**
   * Hands every row to `into` and then empties both files, under the lock (no append can slip in
   * between). `into` must be idempotent: a crash after it and before the emptying hands the rows over
   * again next time.
   */
  drain(into: (signals: SignalRecord[], history: HistoryRow[]) => Promise<void>): Promise<CleanupCounts> {
    return this.locked(() =>
      this.withFile(SIGNALS_FILE, StoredSignalSchema, (signals, signalsFile) =>
        this.withFile(HISTORY_FILE, StoredHistorySchema, async (history, historyFile) => {
          if (signals.length || history.length) await into(signals, history);
          await historyFile.rewrite([], 0);
          await signalsFile.rewrite([], 0);
          return { signals: signals.length, history: history.length };
        }),
      ),
    );
  }

  async close(): Promise<void> {}
}
