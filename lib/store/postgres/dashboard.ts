/**
 * The dashboard (runbook section 6) as ONE statement: counts, overdue list and top services come back
 * as json columns of a single row, so the numbers are one consistent snapshot and one round trip.
 * Orders match compute-dashboard.ts exactly: overdue by due_date, priority, id (compareOverdue); top services by
 * count desc, service (compareTopServices). `collate "C"` makes text order byte order, as in JS.
 * "Today" is a parameter taken from the caller's clock, never the database's.
 */
import type { Sql } from "../../pg/db.ts";
import { emptyDashboard } from "../compute-dashboard.ts";
import { todayUtc } from "../dates.ts";
import { DASHBOARD_OVERDUE_LIMIT, DASHBOARD_TOP_SERVICES, type Dashboard, type OverdueEntry } from "../types.ts";

interface DashboardRow {
  total: number;
  s_open: number;
  s_in_progress: number;
  s_blocked: number;
  s_done: number;
  s_canceled: number;
  p0: number;
  p1: number;
  p2: number;
  p3: number;
  overdue_count: number;
  overdue: OverdueEntry[];
  top_services: { service: string; count: number }[];
}

/**
 * The counts come from the summary tables the triggers of migration 000010 keep exact at every commit
 * (a few hundred rows whatever the item count); the overdue list walks the partial index on open work
 * in due order and stops after DASHBOARD_OVERDUE_LIMIT rows. At 1,000,000 items this is milliseconds;
 * the former one pass over the env's rows grew linearly (30 ms at 100,000: bench/pg-dashboard.ts).
 */
export async function queryDashboard(sql: Sql, env: string | undefined, now: Date): Promise<Dashboard> {
  const today = todayUtc(now);
  const inEnv = env === undefined ? sql`true` : sql`env = ${env}`;
  const [row] = (await sql`
    select
      coalesce(sum(n), 0)::int as total,
      coalesce(sum(n) filter (where status = 'open'), 0)::int as s_open,
      coalesce(sum(n) filter (where status = 'in_progress'), 0)::int as s_in_progress,
      coalesce(sum(n) filter (where status = 'blocked'), 0)::int as s_blocked,
      coalesce(sum(n) filter (where status = 'done'), 0)::int as s_done,
      coalesce(sum(n) filter (where status = 'canceled'), 0)::int as s_canceled,
      coalesce(sum(n) filter (where priority = 'P0'), 0)::int as p0,
      coalesce(sum(n) filter (where priority = 'P1'), 0)::int as p1,
      coalesce(sum(n) filter (where priority = 'P2'), 0)::int as p2,
      coalesce(sum(n) filter (where priority = 'P3'), 0)::int as p3,
      (select coalesce(sum(n), 0)::int from backlog_open_due
        where ${inEnv} and due_date < ${today}::date and not (snoozed_until > ${today}::text)) as overdue_count,
      (select coalesce(json_agg(json_build_object(
                'id', id, 'env', env, 'service', service, 'category', category, 'title', title,
                'priority', priority, 'status', status, 'owner', owner,
                'due_date', to_char(due_date, 'YYYY-MM-DD'),
                'days_overdue', ${today}::date - due_date)
              order by due_date, priority collate "C", id collate "C"), '[]'::json)
         from (select id, env, service, category, title, priority, status, owner, due_date
                 from backlog_items
                where ${inEnv} and status in ('open', 'in_progress', 'blocked') and due_date is not null
                  and due_date < ${today}::date and not coalesce((meta->>'snoozed_until') > ${today}::text, false)
                order by due_date, priority collate "C", id collate "C"
                limit ${DASHBOARD_OVERDUE_LIMIT}) o) as overdue,
      (select coalesce(json_agg(json_build_object('service', service, 'count', n)
              order by n desc, service collate "C"), '[]'::json)
         from (select service, sum(n)::int as n from backlog_open_services
                where ${inEnv} group by service having sum(n) > 0
                order by n desc, service collate "C"
                limit ${DASHBOARD_TOP_SERVICES}) t) as top_services
      from backlog_counts
     where ${inEnv}`) as unknown as DashboardRow[];
  const d = emptyDashboard();
  if (!row) return d;
  d.total = row.total;
  d.status_counts = { open: row.s_open, in_progress: row.s_in_progress, blocked: row.s_blocked, done: row.s_done, canceled: row.s_canceled };
  d.priority_counts = { P0: row.p0, P1: row.p1, P2: row.p2, P3: row.p3 };
  d.overdue_count = row.overdue_count;
  d.overdue = row.overdue;
  d.top_services = row.top_services;
  return d;
}
