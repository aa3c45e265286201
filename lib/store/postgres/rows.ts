/**
 * Row <-> record mapping for the Postgres backend, and the few statements every write path shares.
 * Values always travel as parameters of tagged templates; JSON and arrays go as one jsonb parameter
 * expanded with jsonb_to_recordset, so a batch of any size is one statement with one parameter.
 */
import type { Sql, Tx } from "../../pg/db.ts";
import type { BacklogEvent, BacklogItem } from "../types.ts";

type Row = Record<string, unknown>;

const iso = (v: unknown): string => (v instanceof Date ? v.toISOString() : new Date(String(v)).toISOString());

/** lib/pg/db.ts maps `date` to strings; a pool made elsewhere (tests) may still hand us Dates at UTC midnight. */
const day = (v: unknown): string | null => (v === null || v === undefined ? null : v instanceof Date ? v.toISOString().slice(0, 10) : String(v));

const obj = (v: unknown): Record<string, unknown> => (typeof v === "string" ? JSON.parse(v) : ((v as Record<string, unknown>) ?? {}));

export function rowToItem(r: Row): BacklogItem {
  return {
    id: r.id as string,
    env: r.env as string,
    service: r.service as string,
    category: r.category as string,
    title: r.title as string,
    description: r.description as string,
    priority: r.priority as BacklogItem["priority"],
    status: r.status as BacklogItem["status"],
    owner: (r.owner as string | null) ?? null,
    due_date: day(r.due_date),
    source: r.source as string,
    dedupe_key: r.dedupe_key as string,
    tags: (r.tags as string[]) ?? [],
    meta: obj(r.meta),
    created_at: iso(r.created_at),
    updated_at: iso(r.updated_at),
  };
}

export function rowToEvent(r: Row): BacklogEvent {
  return {
    id: r.id as string,
    item_id: r.item_id as string,
    ts: iso(r.ts),
    type: r.type as BacklogEvent["type"],
    actor: r.actor as string,
    message: r.message as string,
    meta: obj(r.meta),
  };
}

/** One jsonb parameter (typed, so postgres.js serialises it once) holding a whole batch of records. */
const json = (tx: Tx, records: object[]) => tx.json(records as unknown as Parameters<Tx["json"]>[0]);

/** Inserts whole items; with "nothing", rows whose id or dedupe_key exists are skipped (not returned). */
export async function insertItems(tx: Tx, items: BacklogItem[], onConflict: "nothing" | "error"): Promise<{ id: string; dedupe_key: string }[]> {
  if (!items.length) return [];
  const rows = tx`
    insert into backlog_items (id, env, service, category, title, description, priority, status, owner,
                               due_date, source, dedupe_key, tags, meta, created_at, updated_at)
    select id, env, service, category, title, description, priority, status, owner,
           due_date, source, dedupe_key, tags, meta, created_at, updated_at
      from jsonb_to_recordset(${json(tx, items)}) as r(
        id text, env text, service text, category text, title text, description text, priority text,
        status text, owner text, due_date date, source text, dedupe_key text, tags text[], meta jsonb,
        created_at timestamptz, updated_at timestamptz)
     order by dedupe_key collate "C"
    ${onConflict === "nothing" ? tx`on conflict do nothing` : tx``}
    returning id, dedupe_key`;
  return (await rows) as unknown as { id: string; dedupe_key: string }[];
}

/** Writes the mutable fields of existing items (the ones upsert, setStatus and replay may change). */
export async function updateItems(tx: Tx, items: BacklogItem[]): Promise<void> {
  if (!items.length) return;
  await tx`
    update backlog_items as b
       set title = r.title, description = r.description, tags = r.tags, meta = r.meta, owner = r.owner,
           status = r.status, priority = r.priority, due_date = r.due_date, updated_at = r.updated_at
      from jsonb_to_recordset(${json(tx, items)}) as r(
        id text, title text, description text, tags text[], meta jsonb, owner text, status text,
        priority text, due_date date, updated_at timestamptz)
     where b.id = r.id`;
}

/** Inserts events; with "nothing", an id already present is skipped (replay inserts each event once). */
export async function insertEvents(tx: Tx, events: BacklogEvent[], onConflict: "nothing" | "error" = "error"): Promise<number> {
  if (!events.length) return 0;
  const res = await tx`
    insert into backlog_events (id, item_id, ts, type, actor, message, meta)
    select id, item_id, ts, type, actor, message, meta
      from jsonb_to_recordset(${json(tx, events)}) as r(
        id text, item_id text, ts timestamptz, type text, actor text, message text, meta jsonb)
    ${onConflict === "nothing" ? tx`on conflict (id) do nothing` : tx``}`;
  return res.count;
}

export async function selectForUpdateByKey(tx: Tx, keys: string[]): Promise<BacklogItem[]> {
  if (!keys.length) return [];
  // Sorted lock order: two batches touching the same keys wait for each other instead of deadlocking.
  const rows = await tx`
    select * from backlog_items where dedupe_key = any(${keys}::text[])
     order by dedupe_key collate "C" for update`;
  return rows.map(rowToItem);
}

/** isSnoozed() in item-state.ts, negated, as SQL: meta.snoozed_until absent, null or not after today. */
export const notSnoozedSql = (sql: Sql, today: string) => sql`not coalesce((meta->>'snoozed_until') > ${today}::text, false)`;
