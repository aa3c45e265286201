/**
 * Taking a day's trend row from the backlog store: the dashboard's counts (one consistent query each)
 * plus what was created and closed that day, found by walking the items newest-updated first and
 * stopping at the first one last changed before the day began — so the walk touches only today's
 * changes, not the whole backlog. Pure tallying lives in tallyDay(), tested with data.
 */
import { isClosed } from "../store/item-state.ts";
import { todayUtc } from "../store/dates.ts";
import { OPEN_STATUSES, type BacklogItem, type BacklogStore } from "../store/types.ts";
import type { TrendRow } from "./types.ts";

const PAGE = 500;

/** Counts created/closed on `day` among items ordered by updated_at desc; `older` says the walk can stop. */
export function tallyDay(items: readonly BacklogItem[], day: string): { created: number; closed: number; older: boolean } {
  let created = 0;
  let closed = 0;
  for (const it of items) {
    if (it.updated_at.slice(0, 10) < day) return { created, closed, older: true };
    if (it.created_at.slice(0, 10) === day) created++;
    if (isClosed(it.status) && it.updated_at.slice(0, 10) === day) closed++;
  }
  return { created, closed, older: false };
}

export async function takeSnapshot(store: BacklogStore, env: string, now: Date): Promise<TrendRow> {
  const day = todayUtc(now);
  const dash = await store.dashboard({ env }, now);
  const openOf = async (priority: "P0" | "P1") => (await store.list({ env, priority, status: [...OPEN_STATUSES], limit: 1 }, now)).total;
  let created = 0;
  let closed = 0;
  for (let offset = 0; ; offset += PAGE) {
    const page = await store.list({ env, sort: "updated", limit: PAGE, offset }, now);
    const t = tallyDay(page.items, day);
    created += t.created;
    closed += t.closed;
    if (t.older || page.items.length < PAGE) break;
  }
  return {
    env,
    day,
    total: dash.total,
    open: dash.status_counts.open + dash.status_counts.in_progress + dash.status_counts.blocked,
    overdue: dash.overdue_count,
    p0_open: await openOf("P0"),
    p1_open: await openOf("P1"),
    created,
    closed,
    recorded_at: now.toISOString(),
  };
}
