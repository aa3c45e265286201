/**
 * The replay merge rule (pure): what Postgres' copy of an item becomes when the auto store replays a
 * JSONL item written during an outage for a dedupe_key Postgres already has.
 *
 * Each side's intent is read from its events, field by field, and the later intent wins:
 * - title, description, tags, meta: the side whose latest `created`/`updated` event touching the
 *   field is later wins (an `updated` event names its fields). An upsert always sends title and
 *   description but may omit tags, so a fallback creation with no tags does not clear Postgres' tags.
 *   meta is merged, the winner's keys on top (upserts merge meta; no key is ever dropped).
 * - status: changed only by a `status_changed` made during the outage that is later than Postgres'
 *   last status change. The status a fallback *creation* started with is ignored (upsert rule: an
 *   existing item's status stays as people left it).
 * - owner: likewise only by a later `owner_changed`; the owner a fallback creation started with is
 *   not an explicit change, so Postgres' owner is preserved.
 * - priority, due_date, env, service, category, source, created_at, id: Postgres' (upserts never
 *   change them on an existing item).
 * Ties go to Postgres, so replaying the same records twice changes nothing the second time.
 */
import { stableJson } from "./logic.ts";
import type { BacklogEvent, BacklogItem } from "./types.ts";

export type EventMark = Pick<BacklogEvent, "ts" | "type" | "meta">;

const CONTENT = ["title", "description", "tags", "meta"] as const;
type Field = (typeof CONTENT)[number] | "status" | "owner";

function touches(e: EventMark, field: Field, item: BacklogItem, side: "pg" | "replayed"): boolean {
  switch (e.type) {
    case "created":
      if (field === "tags" && side === "replayed") return item.tags.length > 0;
      return (CONTENT as readonly string[]).includes(field);
    case "updated":
      return Array.isArray(e.meta.fields) && (e.meta.fields as unknown[]).includes(field);
    case "status_changed":
      return field === "status";
    case "owner_changed":
      return field === "owner";
    default:
      return false;
  }
}

function latest(events: readonly EventMark[], field: Field, item: BacklogItem, side: "pg" | "replayed"): string {
  let max = "";
  for (const e of events) if (e.ts > max && touches(e, field, item, side)) max = e.ts;
  return max;
}

/**
 * Returns the merged item, or null when Postgres' copy already is the result (nothing to write).
 * `replayedEvents` are the JSONL events of `replayed` not replayed before; `pgEvents` are Postgres'
 * events of `pg` (plus those of records merged into it earlier in the same replay).
 */
export function mergeReplayed(pg: BacklogItem, pgEvents: readonly EventMark[], replayed: BacklogItem, replayedEvents: readonly EventMark[]): BacklogItem | null {
  const wins = (field: Field) => {
    const ours = latest(replayedEvents, field, replayed, "replayed");
    return ours !== "" && ours > latest(pgEvents, field, pg, "pg");
  };
  const next: BacklogItem = { ...pg };
  if (wins("title")) next.title = replayed.title;
  if (wins("description")) next.description = replayed.description;
  if (wins("tags")) next.tags = replayed.tags;
  // Keys an outage upsert added survive even when Postgres' later upsert wins (as if merged in order).
  if (wins("meta")) next.meta = { ...pg.meta, ...replayed.meta };
  else if (latest(replayedEvents, "meta", replayed, "replayed") !== "") next.meta = { ...replayed.meta, ...pg.meta };
  if (wins("status")) next.status = replayed.status;
  if (wins("owner")) next.owner = replayed.owner;

  const same =
    next.title === pg.title &&
    next.description === pg.description &&
    stableJson(next.tags) === stableJson(pg.tags) &&
    stableJson(next.meta) === stableJson(pg.meta) &&
    next.status === pg.status &&
    next.owner === pg.owner;
  if (same) return null;
  next.updated_at = replayed.updated_at > pg.updated_at ? replayed.updated_at : pg.updated_at;
  return next;
}
