/**
 * The dashboard's aggregates kept up to date item by item, so a live JSONL store answers dashboard()
 * in microseconds instead of walking every item (≈30 ms at 100k items; bench/jsonl-fold.ts). Results
 * are exactly computeDashboard's (tests/store/dashboard-index.test.ts checks it against random
 * histories): counts per env, open work per service, and unfinished items with a due date grouped
 * by that date, so "overdue as of today" is a walk over the few earliest dates, whatever today is.
 * Items are never mutated in place by the stores, so the version passed to add() is the one passed
 * to remove() later.
 */
import { compareOverdue, compareTopServices, emptyDashboard, toOverdueEntry } from "../compute-dashboard.ts";
import { isClosed, isOpen, isSnoozed } from "../item-state.ts";
import { todayUtc } from "../dates.ts";
import { DASHBOARD_OVERDUE_LIMIT, DASHBOARD_TOP_SERVICES, PRIORITIES, STATUSES, type BacklogItem, type Dashboard, type Priority, type Status } from "../types.ts";

/** Per env: items by status × priority, and unfinished items per due date up to a horizon (for lib/alerting). */
export interface AttentionView {
  items: Record<Status, Record<Priority, number>>;
  /** Unfinished items by priority per due date on or before the horizon, earliest first. */
  days: { date: string; priorities: Record<Priority, number> }[];
  /** Unfinished snoozed items due on or before the horizon (few): counted in `days`, for the caller to take out while snoozed. */
  snoozed: { due_date: string; priority: Priority; snoozed_until: string }[];
}

interface DueDay {
  items: Map<string, BacklogItem>;
  priorities: Record<Priority, number>;
  /** By priority then id (compareOverdue within one date); null until needed after a change. */
  sorted: BacklogItem[] | null;
}

class Bucket {
  total = 0;
  readonly counts = emptyDashboard();
  readonly matrix = Object.fromEntries(STATUSES.map((st) => [st, Object.fromEntries(PRIORITIES.map((p) => [p, 0]))])) as AttentionView["items"];
  /** Open work per service; a service leaves the map when its count drops to 0. */
  readonly services = new Map<string, number>();
  readonly due = new Map<string, DueDay>();
  private dates: string[] | null = null;
  /** The last answer, for as long as nothing changes and the day is the same (a polled dashboard). */
  private last: { today: string; d: Dashboard } | null = null;

  private readonly snoozed = new Map<string, BacklogItem>();

  apply(it: BacklogItem, sign: 1 | -1): void {
    this.last = null;
    this.total += sign;
    this.counts.status_counts[it.status] += sign;
    this.counts.priority_counts[it.priority] += sign;
    this.matrix[it.status][it.priority] += sign;
    if (isOpen(it.status)) {
      const n = (this.services.get(it.service) ?? 0) + sign;
      if (n) this.services.set(it.service, n);
      else this.services.delete(it.service);
    }
    if (it.due_date === null || isClosed(it.status)) return;
    // Snoozed items (meta.snoozed_until) are few: kept aside and taken out of overdue at compute time.
    if (typeof it.meta.snoozed_until === "string") {
      if (sign > 0) this.snoozed.set(it.id, it);
      else this.snoozed.delete(it.id);
    }
    let day = this.due.get(it.due_date);
    if (sign > 0) {
      if (!day) {
        day = { items: new Map(), sorted: null, priorities: { P0: 0, P1: 0, P2: 0, P3: 0 } };
        this.due.set(it.due_date, day);
        this.dates = null;
      }
      day.items.set(it.id, it);
      day.priorities[it.priority]++;
    } else if (day) {
      if (day.items.delete(it.id)) day.priorities[it.priority]--;
      if (!day.items.size) {
        this.due.delete(it.due_date);
        this.dates = null;
      }
    }
    if (day) day.sorted = null;
  }

  dashboard(today: string): Dashboard {
    if (this.last?.today !== today) this.last = { today, d: this.compute(today) };
    return copy(this.last.d);
  }

  /** Walks only the distinct due dates up to the horizon, never the items. */
  attention(horizon: string): AttentionView {
    const items = Object.fromEntries(STATUSES.map((st) => [st, { ...this.matrix[st] }])) as AttentionView["items"];
    const days: AttentionView["days"] = [];
    for (const date of this.sortedDates()) {
      if (date > horizon) break;
      days.push({ date, priorities: { ...this.due.get(date)!.priorities } });
    }
    const snoozed = [...this.snoozed.values()]
      .filter((it) => it.due_date! <= horizon)
      .map((it) => ({ due_date: it.due_date!, priority: it.priority, snoozed_until: String(it.meta.snoozed_until) }));
    return { items, days, snoozed };
  }

  /** Unfinished items due on or before the horizon (the index's own objects: read-only). */
  dueBy(horizon: string): BacklogItem[] {
    const out: BacklogItem[] = [];
    for (const date of this.sortedDates()) {
      if (date > horizon) break;
      for (const it of this.due.get(date)!.items.values()) out.push(it);
    }
    return out;
  }

  private sortedDates(): string[] {
    return (this.dates ??= [...this.due.keys()].sort());
  }

  private compute(today: string): Dashboard {
    const d = emptyDashboard();
    d.total = this.total;
    Object.assign(d.status_counts, this.counts.status_counts);
    Object.assign(d.priority_counts, this.counts.priority_counts);
    this.dates ??= [...this.due.keys()].sort();
    for (const date of this.dates) {
      if (date >= today) break;
      const day = this.due.get(date)!;
      d.overdue_count += day.items.size;
      if (d.overdue.length >= DASHBOARD_OVERDUE_LIMIT) continue;
      day.sorted ??= [...day.items.values()].sort((a, b) => compareOverdue(a as never, b as never));
      for (const it of day.sorted) {
        if (d.overdue.length >= DASHBOARD_OVERDUE_LIMIT) break;
        if (isSnoozed(it, today)) continue;
        d.overdue.push(toOverdueEntry(it, today));
      }
    }
    for (const it of this.snoozed.values()) if (it.due_date! < today && isSnoozed(it, today)) d.overdue_count--;
    d.top_services = [...this.services].map(([service, count]) => ({ service, count })).sort(compareTopServices).slice(0, DASHBOARD_TOP_SERVICES);
    return d;
  }
}

/** Callers get their own objects, as from computeDashboard. */
function copy(d: Dashboard): Dashboard {
  return {
    ...d,
    status_counts: { ...d.status_counts },
    priority_counts: { ...d.priority_counts },
    overdue: d.overdue.map((e) => ({ ...e })),
    top_services: d.top_services.map((t) => ({ ...t })),
  };
}

export class DashboardIndex {
  /** Every env together, for dashboards without an env filter. */
  private readonly all = new Bucket();
  private readonly byEnv = new Map<string, Bucket>();

  constructor(items: Iterable<BacklogItem> = []) {
    for (const it of items) this.add(it);
  }

  add(it: BacklogItem): void {
    this.all.apply(it, 1);
    let b = this.byEnv.get(it.env);
    if (!b) this.byEnv.set(it.env, (b = new Bucket()));
    b.apply(it, 1);
  }

  remove(it: BacklogItem): void {
    this.all.apply(it, -1);
    const b = this.byEnv.get(it.env);
    if (!b) return;
    b.apply(it, -1);
    if (!b.total) this.byEnv.delete(it.env);
  }

  /** Per env present: see AttentionView. Items are the index's own objects: callers must not change them. */
  attention(horizon: string): Map<string, AttentionView> {
    return new Map([...this.byEnv].map(([env, b]) => [env, b.attention(horizon)]));
  }

  /** Every env's unfinished items due on or before the horizon (the index's own objects: read-only). */
  dueBy(horizon: string): BacklogItem[] {
    return [...this.byEnv.values()].flatMap((b) => b.dueBy(horizon));
  }

  /** What computeDashboard(items, filter, now) gives for the items added and not removed. */
  dashboard(filter: { env?: string } = {}, now: Date): Dashboard {
    const b = filter.env === undefined ? this.all : this.byEnv.get(filter.env);
    return b ? b.dashboard(todayUtc(now)) : emptyDashboard();
  }
}
