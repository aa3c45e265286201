/**
 * Cheap shape checks for lines read back from the JSONL files. They run once per line on loads of a
 * million lines, so they are plain typeof/Set checks rather than valibot: enough to keep a damaged or
 * foreign line from reaching the index (it is skipped and counted), not a re-validation of every rule
 * the writer already applied.
 */
import { AppError } from "../../core/errors.ts";
import { isSafeText, jsonValueProblem, MAX_META_DEPTH } from "../../domain/schemas.ts";
import { EVENT_TYPES, PRIORITIES, STATUSES, type BacklogEvent, type BacklogItem } from "../types.ts";

const STATUS_SET: ReadonlySet<unknown> = new Set(STATUSES);
const PRIORITY_SET: ReadonlySet<unknown> = new Set(PRIORITIES);
const EVENT_TYPE_SET: ReadonlySet<unknown> = new Set(EVENT_TYPES);

// Text a line may hold is what the input boundary accepts (lib/domain): a hand-edited line with a NUL,
// a lone surrogate or meta nested past the limit is skipped like any damaged line, so it can never reach
// Postgres in a replay or an import.
const str = (x: unknown): x is string => typeof x === "string" && isSafeText(x);
const strOrNull = (x: unknown) => x === null || str(x);
const meta = (x: unknown) => obj(x) && jsonValueProblem(x, MAX_META_DEPTH) === null;
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
    v.tags.every(str) &&
    meta(v.meta) &&
    str(v.created_at) &&
    str(v.updated_at)
  );
}

export function isEventLine(v: unknown): v is BacklogEvent {
  if (!obj(v)) return false;
  return str(v.id) && str(v.item_id) && str(v.ts) && EVENT_TYPE_SET.has(v.type) && str(v.actor) && str(v.message) && meta(v.meta);
}

/** appendRaw's input check (the auto store hands over records read elsewhere): 400 naming the first bad record. */
export function checkRawRecords(items: readonly unknown[], events: readonly unknown[]): void {
  items.forEach((it, i) => {
    if (!isItemLine(it)) throw new AppError("invalid_input", `items[${i}]: expected a backlog item with id bl_…, every field of BacklogItem and valid status/priority, got ${describeRecord(it)}.`);
  });
  events.forEach((e, i) => {
    if (!isEventLine(e)) throw new AppError("invalid_input", `events[${i}]: expected a backlog event with id, item_id, ts, a known type, actor, message and meta, got ${describeRecord(e)}.`);
  });
}

function describeRecord(x: unknown): string {
  const text = JSON.stringify(x) ?? String(x);
  return text.length > 200 ? text.slice(0, 200) + "…" : text;
}
