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
 * Every count comes from ONE pass over the env's rows (FILTER aggregates); the overdue list and the
 * top services are small subqueries. (A CTE of the env's rows scanned once per count was 2.3× slower
 * than this at 100k items: bench/pg-dashboard.ts.)
 */
export async function queryDashboard(sql: Sql, env: string | undefined, now: Date): Promise<Dashboard> {
  const today = todayUtc(now);
  const inEnv = env === undefined ? sql`true` : sql`env = ${env}`;
  const [row] = (await sql`
    select
      count(*)::int as total,
      count(*) filter (where status = 'open')::int as s_open,
      count(*) filter (where status = 'in_progress')::int as s_in_progress,
      count(*) filter (where status = 'blocked')::int as s_blocked,
      count(*) filter (where status = 'done')::int as s_done,
      count(*) filter (where status = 'canceled')::int as s_canceled,
      count(*) filter (where priority = 'P0')::int as p0,
      count(*) filter (where priority = 'P1')::int as p1,
      count(*) filter (where priority = 'P2')::int as p2,
      count(*) filter (where priority = 'P3')::int as p3,
      count(*) filter (where status not in ('done', 'canceled') and due_date < ${today}::date)::int as overdue_count,
      (select coalesce(json_agg(json_build_object(
                'id', id, 'env', env, 'service', service, 'category', category, 'title', title,
                'priority', priority, 'status', status, 'owner', owner,
                'due_date', to_char(due_date, 'YYYY-MM-DD'),
                'days_overdue', ${today}::date - due_date)
              order by due_date, priority collate "C", id collate "C"), '[]'::json)
         from (select id, env, service, category, title, priority, status, owner, due_date
                 from backlog_items
                where ${inEnv} and status not in ('done', 'canceled') and due_date < ${today}::date
                order by due_date, priority collate "C", id collate "C"
                limit ${DASHBOARD_OVERDUE_LIMIT}) o) as overdue,
      (select coalesce(json_agg(json_build_object('service', service, 'count', n)
              order by n desc, service collate "C"), '[]'::json)
         from (select service, count(*)::int as n from backlog_items
                where ${inEnv} and status in ('open', 'in_progress', 'blocked')
                group by service order by n desc, service collate "C"
                limit ${DASHBOARD_TOP_SERVICES}) t) as top_services
      from backlog_items
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
