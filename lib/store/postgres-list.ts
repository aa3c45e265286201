/**
 * `list` as one statement: every filter is a SQL condition (each value a parameter), the total is
 * counted over the same snapshot as the page, and the order is logic.ts LIST_ORDER[sort]
 * (ids compared byte-wise like JS strings).
 */
import type { Sql } from "../db.ts";
import { parseFilter, todayUtc } from "./logic.ts";
import { rowToItem } from "./postgres-rows.ts";
import type { ListFilter, ListResult } from "./types.ts";

const asList = <T>(x: T | T[] | undefined): T[] | undefined => (x === undefined ? undefined : Array.isArray(x) ? x : [x]);

export async function queryList(sql: Sql, filter: ListFilter | undefined, now: Date): Promise<ListResult> {
  const f = parseFilter(filter);
  const today = todayUtc(now);
  const statuses = asList(f.status);
  const priorities = asList(f.priority);
  // isOverdue() in logic.ts: not done/canceled, has a due date, due before today.
  const overdue = sql`(status not in ('done', 'canceled') and due_date is not null and due_date < ${today}::date)`;
  const conds = [
    f.env !== undefined && sql`env = ${f.env}`,
    statuses && sql`status = any(${statuses}::text[])`,
    priorities && sql`priority = any(${priorities}::text[])`,
    f.service !== undefined && sql`service = ${f.service}`,
    f.owner !== undefined && sql`owner = ${f.owner}`,
    f.category !== undefined && sql`category = ${f.category}`,
    f.overdue === true && overdue,
    f.overdue === false && sql`not ${overdue}`,
    // Substring match like logic.ts (no LIKE, so % and _ in the text are plain characters).
    f.q !== undefined && f.q !== "" &&
      sql`(strpos(lower(title), lower(${f.q})) > 0 or strpos(lower(service), lower(${f.q})) > 0 or strpos(lower(id), lower(${f.q})) > 0)`,
    f.due_within_days !== undefined &&
      sql`(status not in ('done', 'canceled') and due_date is not null and due_date >= ${today}::date and due_date <= ${today}::date + ${f.due_within_days}::int)`,
  ].filter((c) => c !== false && c !== undefined);
  const where = conds.reduce((acc, c) => sql`${acc} and ${c}`, sql`true`);
  // The same orders as logic.ts LIST_ORDER.
  const order =
    f.sort === "due"
      ? sql`due_date asc nulls last, id collate "C" asc`
      : f.sort === "priority"
        ? sql`priority collate "C" asc, updated_at desc, id collate "C" desc`
        : sql`updated_at desc, id collate "C" desc`;
  // The left join keeps one row carrying the total even when the page is empty.
  const rows = await sql`
    with m as (select * from backlog_items where ${where})
    select t.total, p.*
      from (select count(*)::int as total from m) t
      left join lateral (
        select *, row_number() over (order by ${order}) as rn from m order by ${order} limit ${f.limit} offset ${f.offset}
      ) p on true
     order by p.rn`;
  const total = (rows[0]?.total as number | undefined) ?? 0;
  const items = rows.filter((r) => r.id !== null).map((r) => rowToItem(r as Record<string, unknown>));
  return { items, total };
}
