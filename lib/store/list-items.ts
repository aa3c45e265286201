/** The list rule of every backend: the filter (validated here), its match and the three sort orders. */
import { parseOrThrow } from "../core/errors.ts";
import { addDays, todayUtc } from "./dates.ts";
import { isOpen, isOverdue, isSnoozed } from "./item-state.ts";
import { ListFilterSchema, type BacklogItem, type ListFilter, type ListResult } from "./types.ts";

export function parseFilter(filter: ListFilter = {}) {
  return parseOrThrow(ListFilterSchema, filter, "Invalid list filter");
}

type ParsedFilter = ReturnType<typeof parseFilter>;

const asList = <T>(x: T | T[] | undefined): T[] | undefined => (x === undefined ? undefined : Array.isArray(x) ? x : [x]);

export function matchesFilter(item: BacklogItem, f: ParsedFilter, today: string): boolean {
  if (f.env !== undefined && item.env !== f.env) return false;
  const statuses = asList(f.status);
  if (statuses && !statuses.includes(item.status)) return false;
  const priorities = asList(f.priority);
  if (priorities && !priorities.includes(item.priority)) return false;
  if (f.service !== undefined && item.service !== f.service) return false;
  if (f.owner !== undefined && item.owner !== f.owner) return false;
  if (f.category !== undefined && item.category !== f.category) return false;
  if (f.overdue !== undefined && isOverdue(item, today) !== f.overdue) return false;
  if (f.q !== undefined && f.q !== "") {
    // An id matches from its start only: its tail is random, so a word like "tls" would otherwise find
    // an unrelated item now and then (a pasted id or id prefix is what a person searches ids with).
    const q = f.q.toLowerCase();
    if (!item.title.toLowerCase().includes(q) && !item.service.toLowerCase().includes(q) && !item.id.startsWith(q)) return false;
  }
  if (f.due_within_days !== undefined) {
    // A snoozed item is out of attention lists until its date (backlog_tool.snooze).
    if (!isOpen(item.status) || item.due_date === null || item.due_date < today || item.due_date > addDays(today, f.due_within_days) || isSnoozed(item, today)) return false;
  }
  return true;
}

/** Newest first (updated_at desc, then id desc): what an operator wants at the top of a list. */
export function compareForList(a: BacklogItem, b: BacklogItem): number {
  return a.updated_at < b.updated_at ? 1 : a.updated_at > b.updated_at ? -1 : a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

const byId = (a: BacklogItem, b: BacklogItem) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Soonest due first, undated last, then id ascending. */
export function compareByDue(a: BacklogItem, b: BacklogItem): number {
  if (a.due_date !== b.due_date) {
    if (a.due_date === null) return 1;
    if (b.due_date === null) return -1;
    return a.due_date < b.due_date ? -1 : 1;
  }
  return byId(a, b);
}

/** P0 first, then newest first like compareForList. */
export function compareByPriority(a: BacklogItem, b: BacklogItem): number {
  return a.priority !== b.priority ? (a.priority < b.priority ? -1 : 1) : compareForList(a, b);
}

const LIST_ORDER = { updated: compareForList, due: compareByDue, priority: compareByPriority } as const;

export function listItems(items: Iterable<BacklogItem>, filter: ListFilter | undefined, now: Date): ListResult {
  const f = parseFilter(filter);
  const today = todayUtc(now);
  const matched: BacklogItem[] = [];
  for (const it of items) if (matchesFilter(it, f, today)) matched.push(it);
  matched.sort(LIST_ORDER[f.sort]);
  return { items: matched.slice(f.offset, f.offset + f.limit), total: matched.length };
}
