/**
 * Replay of the auto store's JSONL journal into Postgres, and the ledger that makes it once-only.
 *
 * The ledger `<dir>/replayed.jsonl` gets one line per replayed item version
 * (`{"item":id,"updated_at":…,"into":pg_id}`) and per replayed event (`{"event":id}`), appended with
 * one write + fsync after Postgres committed. A JSONL item is pending when its (id, updated_at) is not
 * in the ledger (so a later change to it is pending again), an event when its id is not.
 * If the ledger write is lost (crash between commit and append), the next replay sends the same
 * records again, which changes nothing: events are inserted `on conflict (id) do nothing` and the
 * merge rule (auto-merge.ts) gives ties to Postgres.
 */
import { open, readFile } from "node:fs/promises";
import { join } from "node:path";
import { AppError, describeError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { JsonlBacklogStore } from "./jsonl.ts";
import type { PostgresBacklogStore } from "./postgres.ts";
import type { ImportResult } from "./postgres-import.ts";
import type { BacklogEvent, BacklogItem } from "./types.ts";

export const LEDGER_FILE = "replayed.jsonl";

const itemMark = (id: string, updatedAt: string) => `i ${id} ${updatedAt}`;
const eventMark = (id: string) => `e ${id}`;

export class ReplayLedger {
  readonly path: string;

  constructor(dir: string) {
    this.path = join(dir, LEDGER_FILE);
  }

  /** Marks of everything replayed so far. A torn or foreign line is ignored (its records replay again, harmlessly). */
  async load(): Promise<Set<string>> {
    let text: string;
    try {
      text = await readFile(this.path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return new Set();
      throw new AppError("unavailable", `Cannot read the replay ledger ${this.path}: ${describeError(err)}.`, { cause: err });
    }
    const done = new Set<string>();
    for (const line of text.split("\n")) {
      if (!line) continue;
      try {
        const rec = JSON.parse(line) as { item?: unknown; updated_at?: unknown; event?: unknown };
        if (typeof rec.item === "string" && typeof rec.updated_at === "string") done.add(itemMark(rec.item, rec.updated_at));
        else if (typeof rec.event === "string") done.add(eventMark(rec.event));
      } catch {
        // torn last line of a crashed append
      }
    }
    return done;
  }

  async append(items: BacklogItem[], events: BacklogEvent[], idMap: Record<string, string>, at: Date): Promise<void> {
    let text = "";
    const ts = at.toISOString();
    for (const it of items) text += JSON.stringify({ item: it.id, updated_at: it.updated_at, into: idMap[it.id] ?? null, at: ts }) + "\n";
    for (const e of events) text += JSON.stringify({ event: e.id }) + "\n";
    const fh = await open(this.path, "a+");
    try {
      // After a torn append, start on a fresh line so the next record is not glued to the fragment.
      const { size } = await fh.stat();
      if (size > 0) {
        const last = new Uint8Array(1);
        await fh.read(last, 0, 1, size - 1);
        if (last[0] !== 10) text = "\n" + text;
      }
      await fh.write(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
  }
}

export interface ReplaySummary extends Omit<ImportResult, "idMap"> {
  pendingItems: number;
  pendingEvents: number;
}

/**
 * Sends every JSONL record not yet in the ledger to Postgres (one transaction, advisory-locked there),
 * then records them in the ledger. Returns null when there was nothing to send.
 */
export async function replayJournal(pg: PostgresBacklogStore, jsonl: JsonlBacklogStore, ledger: ReplayLedger, now: Date, log: Logger): Promise<ReplaySummary | null> {
  const items = await jsonl.allItems();
  const events = await jsonl.allEvents();
  const done = await ledger.load();
  const pendingItems = items.filter((it) => !done.has(itemMark(it.id, it.updated_at)));
  const pendingEvents = events.filter((e) => !done.has(eventMark(e.id)));
  if (!pendingItems.length && !pendingEvents.length) return null;

  const keyOf = new Map(items.map((it) => [it.id, it.dedupe_key]));
  const { idMap, ...counts } = await pg.importRecords(pendingItems, pendingEvents, keyOf);
  try {
    await ledger.append(pendingItems, pendingEvents, idMap, now);
  } catch (err) {
    // Postgres has the records; without the marks they are sent again next time, which is harmless.
    log.warn("backlog_replay_ledger_failed", { ledger: ledger.path, error: describeError(err) });
  }
  const summary: ReplaySummary = { pendingItems: pendingItems.length, pendingEvents: pendingEvents.length, ...counts };
  log.info("backlog_store_replayed", { ...summary, ledger: ledger.path });
  if (counts.orphanEvents || counts.skippedItems) {
    log.warn("backlog_replay_incomplete", {
      orphan_events: counts.orphanEvents,
      skipped_items: counts.skippedItems,
      hint: "orphan events belong to items Postgres no longer has (removed by cleanup); skipped items are listed in backlog_replay_item_skipped lines",
    });
  }
  return summary;
}
