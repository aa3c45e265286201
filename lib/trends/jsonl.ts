/**
 * Trends on the JSONL backend: trends.jsonl in the backlog's JSONL directory, written under the same
 * directory lock as items.jsonl. A snapshot appends whole lines (the last line per (env, day) wins);
 * cleanup rewrites the file atomically, keeping only each day's latest row — both through
 * lib/fs/jsonl-file.ts, the backlog files' own machinery. One small row per env and day, so a
 * full read per call is a few hundred lines a year.
 */
import { statSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import * as v from "valibot";
import { DirLock } from "../fs/file-lock.ts";
import type { Logger } from "../core/log.ts";
import { BLANK, type LineSink } from "../fs/line-sink.ts";
import { JsonlFile } from "../fs/jsonl-file.ts";
import { compareTrend, latestPerDay, TrendRowSchema, type TrendRow, type TrendStore } from "./types.ts";

export const TRENDS_FILE = "trends.jsonl";

const lines = (rows: object[]) => rows.map((r) => JSON.stringify(r) + "\n").join("");

export class JsonlTrendStore implements TrendStore {
  readonly name = "JsonlTrendStore";
  readonly dir: string;
  private readonly log: Logger;
  private readonly lock: DirLock;

  constructor(options: { dir: string; log: Logger; lockStaleMs?: number }) {
    this.dir = resolve(options.dir);
    this.log = options.log;
    this.lock = new DirLock(this.dir, { staleMs: options.lockStaleMs ?? 10_000, log: this.log });
  }

  /** Opens the file, reads every valid row (latest per day), runs `fn` with the open file, closes it. */
  private async withFile<R>(fn: (rows: Map<string, TrendRow>, file: JsonlFile, tail: number, lineCount: number) => Promise<R>): Promise<R> {
    await mkdir(this.dir, { recursive: true });
    const file = new JsonlFile(join(this.dir, TRENDS_FILE), this.log);
    try {
      const all: TrendRow[] = [];
      const sink: LineSink = {
        reset: () => void (all.length = 0),
        batch(values) {
          const bad: number[] = [];
          values.forEach((value, i) => {
            if (value === BLANK) return;
            const r = v.safeParse(TrendRowSchema, value);
            if (r.success) all.push(r.output);
            else bad.push(i);
          });
          return bad;
        },
        end: () => {},
      };
      const tail = await file.catchUp(sink);
      return await fn(latestPerDay(all), file, tail, all.length);
    } finally {
      await file.close();
    }
  }

  private async locked<R>(fn: () => Promise<R>): Promise<R> {
    await mkdir(this.dir, { recursive: true });
    return this.lock.run(fn);
  }

  async put(rows: TrendRow[]): Promise<void> {
    if (!rows.length) return;
    await this.locked(() =>
      this.withFile(async (_rows, file, tail) => {
        await file.repairTail(tail);
        await file.append(lines(rows), rows.length);
      }),
    );
  }

  range(env: string, from: string, to: string): Promise<TrendRow[]> {
    return this.withFile(async (rows) => [...rows.values()].filter((r) => r.env === env && r.day >= from && r.day <= to).sort(compareTrend));
  }

  cleanup(cutoff: string, dryRun: boolean, env?: string): Promise<number> {
    return this.locked(() =>
      this.withFile(async (rows, file, _tail, lineCount) => {
        const kept = [...rows.values()].filter((r) => r.day >= cutoff || (env !== undefined && r.env !== env)).sort(compareTrend);
        const removed = rows.size - kept.length;
        // Replaced rows are compacted away too, whenever something is removed or superseded lines piled up.
        if (!dryRun && (removed > 0 || lineCount > rows.size)) await file.rewrite([lines(kept)], kept.length);
        return removed;
      }),
    );
  }

  /** True when the file holds anything (one stat). */
  hasRows(): boolean {
    try {
      return statSync(join(this.dir, TRENDS_FILE)).size > 0;
    } catch {
      return false;
    }
  }

  /** Hands every row to `into` (idempotent), then empties the file, under the lock. */
  drain(into: (rows: TrendRow[]) => Promise<void>): Promise<number> {
    return this.locked(() =>
      this.withFile(async (rows, file) => {
        const all = [...rows.values()];
        if (all.length) await into(all);
        await file.rewrite([], 0);
        return all.length;
      }),
    );
  }

  async close(): Promise<void> {}
}
