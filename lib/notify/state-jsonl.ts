/**
 * JSONL sent state: `<dir>/notify_sent.jsonl` next to the store's files, one full record per line, the
 * last line of a key wins; a line {"key", "deleted": true} forgets a released claim. Claims read, decide
 * and append under the directory lock the JSONL store and run ledger use, so processes on one host agree;
 * a torn last line left by a crashed writer is cut off first (the store's JsonlFile). The daily cleanup
 * prunes it (prune.ts) and rewrites it compacted.
 */
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import * as v from "valibot";
import { DirLock } from "../fs/file-lock.ts";
import { silentLogger, type Logger } from "../core/log.ts";
import { BLANK, type LineSink } from "../fs/line-sink.ts";
import { JsonlFile } from "../fs/jsonl-file.ts";
import { decideClaims, firingOf, NOTICE_KINDS, unchanged, type Decide, type NoticeRecord, type NotifyStateStore } from "./state.ts";

export const NOTIFY_FILE = "notify_sent.jsonl";

const RecordSchema = v.looseObject({
  key: v.string(),
  webhook: v.string(),
  fingerprint: v.string(),
  kind: v.picklist(NOTICE_KINDS),
  status: v.picklist(["sending", "sent"]),
  run_id: v.string(),
  claimed_at: v.string(),
});
const Deleted = v.object({ key: v.string(), deleted: v.literal(true) });

function sink() {
  const records = new Map<string, NoticeRecord>();
  const s: LineSink = {
    reset: () => records.clear(),
    batch(values) {
      const bad: number[] = [];
      values.forEach((value, i) => {
        if (value === BLANK) return;
        if (v.is(Deleted, value)) records.delete(value.key);
        else if (v.is(RecordSchema, value)) records.set(value.key, value as unknown as NoticeRecord);
        else bad.push(i);
      });
      return bad;
    },
    end: () => {},
  };
  return { records, sink: s };
}

export class JsonlNotifyState implements NotifyStateStore {
  readonly name = "JsonlNotifyState";
  readonly file: string;
  private readonly dir: string;
  private readonly lock: DirLock;
  constructor(dir: string, private readonly log: Logger = silentLogger, lockStaleMs = 10_000) {
    this.dir = resolve(dir);
    this.file = join(this.dir, NOTIFY_FILE);
    this.lock = new DirLock(this.dir, { staleMs: lockStaleMs, log });
  }

  private async read<R>(fn: (records: Map<string, NoticeRecord>, file: JsonlFile, tail: number) => Promise<R>): Promise<R> {
    await mkdir(this.dir, { recursive: true });
    const file = new JsonlFile(this.file, this.log);
    try {
      const { records, sink: s } = sink();
      const tail = await file.catchUp(s);
      return await fn(records, file, tail);
    } finally {
      await file.close();
    }
  }

  /** Under the lock: read, decide, append the lines `decide` returns. */
  private update<R>(decide: (records: Map<string, NoticeRecord>) => { lines: object[]; result: R }): Promise<R> {
    return this.lock.run(() =>
      this.read(async (records, file, tail) => {
        const { lines, result } = decide(records);
        if (lines.length) {
          await file.repairTail(tail);
          await file.append(lines.map((l) => JSON.stringify(l) + "\n").join(""), lines.length);
        }
        return result;
      }),
    );
  }

  async claim(records: NoticeRecord[], now: Date, leaseMs: number): Promise<string[]> {
    if (!records.length) return [];
    return this.update((current) => {
      const won = decideClaims(current, records, now, leaseMs);
      return { lines: won, result: won.map((r) => r.key) };
    });
  }

  async complete(keys: string[], runId: string, now: Date): Promise<void> {
    if (!keys.length) return;
    await this.update((current) => {
      const lines = keys.flatMap((k) => {
        const r = current.get(k);
        return r && r.run_id === runId ? [{ ...r, status: "sent", sent_at: now.toISOString() }] : [];
      });
      return { lines, result: undefined };
    });
  }

  async release(keys: string[], runId: string): Promise<void> {
    if (!keys.length) return;
    await this.update((current) => {
      const lines = keys.filter((k) => current.get(k)?.run_id === runId && current.get(k)?.status === "sending").map((key) => ({ key, deleted: true }));
      return { lines, result: undefined };
    });
  }

  /** Every record (the auto store's replay hook copies them into Postgres). */
  all(): Promise<NoticeRecord[]> {
    return this.read(async (records) => [...records.values()]);
  }

  firing(webhook: string): Promise<NoticeRecord[]> {
    return this.read(async (records) => firingOf(records.values(), webhook));
  }

  /**
   * Decides outside the lock (it may ask the backlog store), then under it drops what is unchanged and
   * rewrites the file with one line per record left: superseded lines (claim then sent) and release markers
   * go too, so the file stays as small as its records.
   */
  async prune(decide: Decide, dryRun = false): Promise<number> {
    if (!existsSync(this.file)) return (await decide([])).length; // never created: nothing to do, nothing to create
    const drop = await decide(await this.all());
    if (dryRun) return drop.length;
    return this.lock.run(() =>
      this.read(async (records, file) => {
        let n = 0;
        for (const r of drop) if (unchanged(records.get(r.key), r) && records.delete(r.key)) n++;
        if (n > 0 || file.lines > records.size) await file.rewrite([...records.values()].map((r) => JSON.stringify(r) + "\n"), records.size);
        return n;
      }),
    );
  }

  async close(): Promise<void> {}
}
