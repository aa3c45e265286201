/** Runbook section 6, the dashboard folded from items: counts, the overdue list and the top services. */
import { daysBetween, todayUtc } from "./dates.ts";
import { isOpen, isOverdue } from "./item-state.ts";
import { DASHBOARD_OVERDUE_LIMIT, DASHBOARD_TOP_SERVICES, PRIORITIES, STATUSES, type BacklogItem, type Dashboard } from "./types.ts";

export function emptyDashboard(): Dashboard {
  return {
    total: 0,
    status_counts: Object.fromEntries(STATUSES.map((s) => [s, 0])) as Dashboard["status_counts"],
    priority_counts: Object.fromEntries(PRIORITIES.map((p) => [p, 0])) as Dashboard["priority_counts"],
    overdue_count: 0,
    overdue: [],
    top_services: [],
  };
}

/** Overdue order: most overdue first, then the more urgent priority, then id (stable). */
export function compareOverdue(a: { due_date: string; priority: string; id: string }, b: typeof a): number {
  return a.due_date !== b.due_date ? (a.due_date < b.due_date ? -1 : 1) : a.priority !== b.priority ? (a.priority < b.priority ? -1 : 1) : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export function compareTopServices(a: { service: string; count: number }, b: typeof a): number {
  return b.count - a.count || (a.service < b.service ? -1 : a.service > b.service ? 1 : 0);
}

/** Runbook section 6: counts over all items of the env, overdue of unfinished ones, top services of open work. */
export function computeDashboard(items: Iterable<BacklogItem>, filter: { env?: string } = {}, now: Date = new Date()): Dashboard {
  const d = emptyDashboard();
  const today = todayUtc(now);
  const services = new Map<string, number>();
  const overdue: BacklogItem[] = [];
  for (const it of items) {
    if (filter.env !== undefined && it.env !== filter.env) continue;
    d.total++;
    d.status_counts[it.status]++;
    d.priority_counts[it.priority]++;
    if (isOpen(it.status)) services.set(it.service, (services.get(it.service) ?? 0) + 1);
    if (isOverdue(it, today)) overdue.push(it);
  }
  d.overdue_count = overdue.length;
  d.overdue = overdue
    .sort((a, b) => compareOverdue(a as never, b as never))
    .slice(0, DASHBOARD_OVERDUE_LIMIT)
    .map((it) => toOverdueEntry(it, today));
  d.top_services = [...services].map(([service, count]) => ({ service, count })).sort(compareTopServices).slice(0, DASHBOARD_TOP_SERVICES);
  return d;
}

export function toOverdueEntry(it: BacklogItem, today: string) {
  return {
    id: it.id,
    env: it.env,
    service: it.service,
    category: it.category,
    title: it.title,
    priority: it.priority,
    status: it.status,
    owner: it.owner,
    due_date: it.due_date!,
    days_overdue: daysBetween(it.due_date!, today),
  };
}
