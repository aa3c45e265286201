/**
 * The counts /metrics and the alert rules need, as one small aggregate per scrape (never a series per
 * item): items by env × status × priority, and unfinished items needing attention (overdue, due soon)
 * by env × priority. Service is NOT a label here: services are unbounded (every digest may add some), so
 * per-service numbers stay on the dashboard's top_services, not in Prometheus (docs/alerting.md).
 *
 * Two implementations of one computation: `countItems` (pure, over items in memory: the memory and
 * JSONL stores) and `queryCounts` (one statement over Postgres' summary tables). tests/alerting/counts.test.ts
 * runs both on the same items and expects the same answer.
 */
import type { Sql } from "../pg/db.ts";
import { todayUtc } from "../store/dates.ts";
import { PRIORITIES, STATUSES, type BacklogItem, type Priority, type Status } from "../store/types.ts";
import { attentionClassifier, attentionHorizon } from "./due.ts";

export interface EnvCounts {
  items: Record<Status, Record<Priority, number>>;
  overdue: Record<Priority, number>;
  due_soon: Record<Priority, number>;
}

export interface AlertCounts {
  /** The UTC day the attention counts are for. */
  today: string;
  warn_days: number;
  envs: Record<string, EnvCounts>;
}

const byPriority = (): Record<Priority, number> => Object.fromEntries(PRIORITIES.map((p) => [p, 0])) as Record<Priority, number>;

export function emptyEnvCounts(): EnvCounts {
  return {
    items: Object.fromEntries(STATUSES.map((s) => [s, byPriority()])) as EnvCounts["items"],
    overdue: byPriority(),
    due_soon: byPriority(),
  };
}

/** `envs` are always present (zeros), so a gauge never disappears when an env empties. */
export function countItems(items: Iterable<Pick<BacklogItem, "env" | "status" | "priority" | "due_date">>, now: Date, warnDays: number, envs: readonly string[] = []): AlertCounts {
  const today = todayUtc(now);
  const out: AlertCounts = { today, warn_days: warnDays, envs: Object.fromEntries(envs.map((e) => [e, emptyEnvCounts()])) };
  const attention = attentionClassifier(today, warnDays);
  for (const it of items) {
    const c = (out.envs[it.env] ??= emptyEnvCounts());
    c.items[it.status][it.priority]++;
    const a = attention(it);
    if (a) c[a][it.priority]++;
  }
  return out;
}

interface Row {
  env: string;
  status: Status;
  priority: Priority;
  n: number;
  overdue: number;
  due_soon: number;
}

/**
 * The same answer as countItems, from ONE statement over the summary tables the triggers of migration
 * 000010 keep exact (a few hundred rows whatever the item count): items per (env, status, priority),
 * and open work per (env, due date, priority, snoozed_until) for overdue and due soon.
 */
export async function queryCounts(sql: Sql, now: Date, warnDays: number, envs: readonly string[] = []): Promise<AlertCounts> {
  const today = todayUtc(now);
  const horizon = attentionHorizon(today, warnDays);
  // snoozed items (snoozed_until after today) are out of alerts until their date
  const rows = (await sql`
    select env, status, priority, n::int as n, 0 as overdue, 0 as due_soon
      from backlog_counts where n <> 0
    union all
    select env, 'open' as status, priority, 0 as n,
           coalesce(sum(n) filter (where due_date < ${today}::date), 0)::int as overdue,
           coalesce(sum(n) filter (where due_date >= ${today}::date), 0)::int as due_soon
      from backlog_open_due
     where n <> 0 and due_date <= ${horizon}::date and not (snoozed_until > ${today}::text)
     group by env, priority`) as unknown as Row[];
  const out: AlertCounts = { today, warn_days: warnDays, envs: Object.fromEntries(envs.map((e) => [e, emptyEnvCounts()])) };
  for (const r of rows) {
    const c = (out.envs[r.env] ??= emptyEnvCounts());
    c.items[r.status][r.priority] += r.n;
    c.overdue[r.priority] += r.overdue;
    c.due_soon[r.priority] += r.due_soon;
  }
  return out;
}
