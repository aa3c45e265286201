/**
 * importRecords: writes items and events made elsewhere (the auto store's JSONL outage journal) into
 * Postgres in one transaction, under an advisory lock so two replays never interleave.
 * - a dedupe_key Postgres lacks: the item goes in verbatim, id included;
 * - a dedupe_key Postgres has: merged into Postgres' row by the rule in auto-merge.ts;
 * - events keep their ids, point at the surviving item id, and go in `on conflict (id) do nothing`,
 *   so replaying the same records again inserts no event twice.
 */
import type { Logger } from "../log.ts";
import { mergeReplayed, type EventMark } from "./auto-merge.ts";
import { insertEvents, insertItems, selectForUpdateByKey, updateItems, type Tx } from "./postgres-rows.ts";
import type { BacklogEvent, BacklogItem } from "./types.ts";

export interface ImportResult {
  /** Items whose key was new to Postgres: inserted with their own id. */
  inserted: number;
  /** Items merged into an existing row that changed it. */
  merged: number;
  /** Items whose key existed and whose merge changed nothing. */
  unchanged: number;
  /** Items that could not be placed (their id is taken by a different key): logged, not written. */
  skippedItems: number;
  /** Events inserted now (the rest were already there). */
  events: number;
  /** Events already in Postgres (an earlier replay whose ledger write was lost). */
  duplicateEvents: number;
  /** Events whose item exists neither in Postgres nor among the records (removed by cleanup). */
  orphanEvents: number;
  /** Replayed item id → the id of the Postgres item it now lives in. */
  idMap: Record<string, string>;
}

export const REPLAY_LOCK = "backlog-bridge:replay";

export async function importRecordsTx(
  tx: Tx,
  items: BacklogItem[],
  events: BacklogEvent[],
  keyOf: ReadonlyMap<string, string>,
  log: Logger,
): Promise<ImportResult> {
  await tx`select pg_advisory_xact_lock(hashtext(${REPLAY_LOCK}))`;
  const res: ImportResult = { inserted: 0, merged: 0, unchanged: 0, skippedItems: 0, events: 0, duplicateEvents: 0, orphanEvents: 0, idMap: {} };
  const marksOf = groupBy(events, (e) => e.item_id);
  // Oldest first, so when two records share a key (a hand-edited file) the newer is merged last.
  const ordered = [...items].sort((a, b) => (a.updated_at < b.updated_at ? -1 : a.updated_at > b.updated_at ? 1 : 0));
  const firstOfKey = new Map<string, BacklogItem>();
  for (const it of ordered) if (!firstOfKey.has(it.dedupe_key)) firstOfKey.set(it.dedupe_key, it);

  const insertedKeys = new Set((await insertItems(tx, [...firstOfKey.values()], "nothing")).map((r) => r.dedupe_key));
  const existing = await selectForUpdateByKey(tx, [...firstOfKey.keys()].filter((k) => !insertedKeys.has(k)));
  const pgMarks = groupBy(await selectMarks(tx, existing.map((it) => it.id)), (m) => m.item_id);

  const state = new Map<string, { item: BacklogItem; marks: EventMark[] }>();
  for (const it of existing) state.set(it.dedupe_key, { item: it, marks: pgMarks.get(it.id) ?? [] });
  const changed = new Map<string, BacklogItem>();
  for (const it of ordered) {
    const key = it.dedupe_key;
    if (insertedKeys.has(key) && firstOfKey.get(key) === it) {
      state.set(key, { item: it, marks: marksOf.get(it.id) ?? [] });
      res.idMap[it.id] = it.id;
      res.inserted++;
      continue;
    }
    const s = state.get(key);
    if (!s) {
      log.error("backlog_replay_item_skipped", { id: it.id, dedupe_key: key, reason: "the id is already used by another item in Postgres" });
      res.skippedItems++;
      continue;
    }
    const mine = marksOf.get(it.id) ?? [];
    const merged = mergeReplayed(s.item, s.marks, it, mine);
    res.idMap[it.id] = s.item.id;
    if (merged) {
      s.item = merged;
      changed.set(key, merged);
      res.merged++;
    } else res.unchanged++;
    s.marks = [...s.marks, ...mine];
  }
  await updateItems(tx, [...changed.values()]);

  const target = await resolveTargets(tx, events, res.idMap, keyOf);
  const placed = events.filter((e) => target.has(e.item_id)).map((e) => ({ ...e, item_id: target.get(e.item_id)! }));
  res.orphanEvents = events.length - placed.length;
  res.events = await insertEvents(tx, placed, "nothing");
  res.duplicateEvents = placed.length - res.events;
  return res;
}

async function selectMarks(tx: Tx, ids: string[]): Promise<(EventMark & { item_id: string })[]> {
  if (!ids.length) return [];
  const rows = await tx`
    select item_id, ts, type, meta from backlog_events
     where item_id = any(${ids}::text[]) and type <> 'commented'`;
  return rows.map((r) => ({
    item_id: r.item_id as string,
    ts: (r.ts as Date).toISOString(),
    type: r.type as EventMark["type"],
    meta: (typeof r.meta === "string" ? JSON.parse(r.meta) : r.meta) as Record<string, unknown>,
  }));
}

/**
 * Where each event goes: the item it was replayed into, else the Postgres item with its item's
 * dedupe_key (events on items replayed in an earlier outage), else the same id. Rows are share-locked
 * so cleanup cannot remove them before the events land.
 */
async function resolveTargets(tx: Tx, events: BacklogEvent[], idMap: Record<string, string>, keyOf: ReadonlyMap<string, string>): Promise<Map<string, string>> {
  const target = new Map(Object.entries(idMap));
  const unknown = [...new Set(events.map((e) => e.item_id))].filter((id) => !target.has(id));
  if (!unknown.length) return target;
  const keys = unknown.map((id) => keyOf.get(id)).filter((k): k is string => k !== undefined);
  const rows = await tx`
    select id, dedupe_key from backlog_items
     where id = any(${unknown}::text[]) or dedupe_key = any(${keys}::text[])
     order by id collate "C" for key share`;
  const byKey = new Map(rows.map((r) => [r.dedupe_key as string, r.id as string]));
  const byId = new Set(rows.map((r) => r.id as string));
  for (const id of unknown) {
    const key = keyOf.get(id);
    const to = (key !== undefined ? byKey.get(key) : undefined) ?? (byId.has(id) ? id : undefined);
    if (to) target.set(id, to);
  }
  return target;
}

function groupBy<T>(list: readonly T[], key: (x: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const x of list) {
    const k = key(x);
    const l = out.get(k);
    if (l) l.push(x);
    else out.set(k, [x]);
  }
  return out;
}
