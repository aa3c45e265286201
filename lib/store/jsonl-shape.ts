/**
 * Cheap shape checks for lines read back from the JSONL files. They run once per line on loads of a
 * million lines, so they are plain typeof/Set checks rather than valibot: enough to keep a damaged or
 * foreign line from reaching the index (it is skipped and counted), not a re-validation of every rule
 * the writer already applied.
 */
import { EVENT_TYPES, PRIORITIES, STATUSES, type BacklogEvent, type BacklogItem } from "./types.ts";

const STATUS_SET: ReadonlySet<unknown> = new Set(STATUSES);
const PRIORITY_SET: ReadonlySet<unknown> = new Set(PRIORITIES);
const EVENT_TYPE_SET: ReadonlySet<unknown> = new Set(EVENT_TYPES);

const str = (x: unknown): x is string => typeof x === "string";
const strOrNull = (x: unknown) => x === null || typeof x === "string";
const obj = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);

export function isItemLine(v: unknown): v is BacklogItem {
  if (!obj(v)) return false;
  return (
    str(v.id) &&
    v.id.startsWith("bl_") &&
    str(v.dedupe_key) &&
    str(v.env) &&
    str(v.service) &&
    str(v.category) &&
    str(v.title) &&
    str(v.description) &&
    PRIORITY_SET.has(v.priority) &&
    STATUS_SET.has(v.status) &&
    strOrNull(v.owner) &&
    strOrNull(v.due_date) &&
    str(v.source) &&
    Array.isArray(v.tags) &&
    obj(v.meta) &&
    str(v.created_at) &&
    str(v.updated_at)
  );
}

export function isEventLine(v: unknown): v is BacklogEvent {
  if (!obj(v)) return false;
  return str(v.id) && str(v.item_id) && str(v.ts) && EVENT_TYPE_SET.has(v.type) && str(v.actor) && str(v.message) && obj(v.meta);
}
