/**
 * The dashboard (runbook section 6) as ONE statement: counts, overdue list and top services come back
 * as json columns of a single row, so the numbers are one consistent snapshot and one round trip.
 * Orders match logic.ts exactly: overdue by due_date, priority, id (compareOverdue); top services by
 * count desc, service (compareTopServices). `collate "C"` makes text order byte order, as in JS.
 * "Today" is a parameter taken from the caller's clock, never the database's.
 */
import type { Sql } from "../db.ts";
import { emptyDashboard, todayUtc } from "./logic.ts";
import { DASHBOARD_OVERDUE_LIMIT, DASHBOARD_TOP_SERVICES, type Dashboard, type OverdueEntry } from "./types.ts";

interface DashboardRow {
  total: number;
  status_counts: Record<string, number>;
  priority_counts: Record<string, number>;
  overdue_count: number;
  overdue: OverdueEntry[];
  top_services: { service: string; count: number }[];
}

export async function queryDashboard(sql: Sql, env: string | undefined, now: Date): Promise<Dashboard> {
  const today = todayUtc(now);
  const [row] = (await sql`
    with f as (
      select id, env, service, category, title, priority, status, owner, due_date
        from backlog_items
       where ${env === undefined ? sql`true` : sql`env = ${env}`}
    ), od as (
      select * from f
       where status not in ('done', 'canceled') and due_date < ${today}::date
    )
    select
      (select count(*)::int from f) as total,
      (select coalesce(json_object_agg(status, n), '{}'::json)
         from (select status, count(*)::int as n from f group by status) s) as status_counts,
      (select coalesce(json_object_agg(priority, n), '{}'::json)
         from (select priority, count(*)::int as n from f group by priority) p) as priority_counts,
      (select count(*)::int from od) as overdue_count,
      (select coalesce(json_agg(json_build_object(
                'id', id, 'env', env, 'service', service, 'category', category, 'title', title,
                'priority', priority, 'status', status, 'owner', owner,
                'due_date', to_char(due_date, 'YYYY-MM-DD'),
                'days_overdue', ${today}::date - due_date)
              order by due_date, priority collate "C", id collate "C"), '[]'::json)
         from (select * from od order by due_date, priority collate "C", id collate "C"
                limit ${DASHBOARD_OVERDUE_LIMIT}) o) as overdue,
      (select coalesce(json_agg(json_build_object('service', service, 'count', n)
              order by n desc, service collate "C"), '[]'::json)
         from (select service, count(*)::int as n from f
                where status in ('open', 'in_progress', 'blocked')
                group by service order by n desc, service collate "C"
                limit ${DASHBOARD_TOP_SERVICES}) t) as top_services`) as unknown as DashboardRow[];
  const d = emptyDashboard();
  if (!row) return d;
  // Zeros for every status/priority and the fixed key order come from the shared empty shape.
  for (const k of Object.keys(d.status_counts) as (keyof Dashboard["status_counts"])[]) d.status_counts[k] = row.status_counts[k] ?? 0;
  for (const k of Object.keys(d.priority_counts) as (keyof Dashboard["priority_counts"])[]) d.priority_counts[k] = row.priority_counts[k] ?? 0;
  d.total = row.total;
  d.overdue_count = row.overdue_count;
  d.overdue = row.overdue;
  d.top_services = row.top_services;
  return d;
}
