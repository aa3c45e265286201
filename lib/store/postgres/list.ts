/**
 * `list` as one statement: every filter is a SQL condition (each value a parameter), the total is
 * counted over the same snapshot as the page, and the order is list-items.ts LIST_ORDER[sort]
 * (ids compared byte-wise like JS strings).
 */
import type { Sql } from "../../pg/db.ts";
import { parseFilter } from "../list-items.ts";
import { todayUtc } from "../dates.ts";
import { notSnoozedSql, rowToItem } from "./rows.ts";
import type { ListFilter, ListResult } from "../types.ts";

const ORDER = {
  updated: 'updated_at desc, id collate "C" desc',
  due: 'due_date asc nulls last, id collate "C" asc',
  priority: 'priority collate "C" asc, updated_at desc, id collate "C" desc',
} as const;

const asList = <T>(x: T | T[] | undefined): T[] | undefined => (x === undefined ? undefined : Array.isArray(x) ? x : [x]);

export async function queryList(sql: Sql, filter: ListFilter | undefined, now: Date): Promise<ListResult> {
  const f = parseFilter(filter);
  const today = todayUtc(now);
  const statuses = asList(f.status);
  const priorities = asList(f.priority);
  // isOverdue() in item-state.ts: not done/canceled, has a due date, due before today, not snoozed.
  const overdue = sql`(status not in ('done', 'canceled') and due_date is not null and due_date < ${today}::date and ${notSnoozedSql(sql, today)})`;
  const conds = [
    f.env !== undefined && sql`env = ${f.env}`,
    statuses && sql`status = any(${statuses}::text[])`,
    priorities && sql`priority = any(${priorities}::text[])`,
    f.service !== undefined && sql`service = ${f.service}`,
    f.owner !== undefined && sql`owner = ${f.owner}`,
    f.category !== undefined && sql`category = ${f.category}`,
    f.overdue === true && overdue,
    f.overdue === false && sql`not ${overdue}`,
    // Substring match of title and service, prefix match of the id, like list-items.ts (no LIKE, so % and _
    // in the text are plain characters; ids are lower case). The text is folded by the collation of
    // migration 000013, as JavaScript's toLowerCase folds it in the JSONL backend.
    f.q !== undefined && f.q !== "" &&
      sql`(strpos(lower(title collate backlog_search_fold), lower(${f.q}::text collate backlog_search_fold)) > 0 or strpos(lower(service collate backlog_search_fold), lower(${f.q}::text collate backlog_search_fold)) > 0 or starts_with(id, ${f.q.toLowerCase()}))`,
    f.due_within_days !== undefined &&
      sql`(status not in ('done', 'canceled') and due_date is not null and due_date >= ${today}::date and due_date <= ${today}::date + ${f.due_within_days}::int and ${notSnoozedSql(sql, today)})`,
  ].filter((c) => c !== false && c !== undefined);
  const where = conds.reduce((acc, c) => sql`${acc} and ${c}`, sql`true`);
  // The same orders as list-items.ts LIST_ORDER (constants, never input), for the page and for its outer select.
  const order = ORDER[f.sort];
  // One statement, so the total and the page come from the same snapshot; the left join keeps one row
  // carrying the total even when the page is empty. No CTE: a CTE used twice is materialized with every
  // column of every match (3× slower at 10,000 items), while the page alone can walk
  // backlog_items_env_updated_idx (migration 000009) for the default order.
  const rows = await sql`
    select t.total, p.*
      from (select count(*)::int as total from backlog_items where ${where}) t
      left join lateral (
        select * from backlog_items where ${where} order by ${sql.unsafe(order)} limit ${f.limit} offset ${f.offset}
      ) p on true
     order by ${sql.unsafe(order.replace(/(^|, )/g, "$1p."))}`;
  const total = (rows[0]?.total as number | undefined) ?? 0;
  const items = rows.filter((r) => r.id !== null).map((r) => rowToItem(r as Record<string, unknown>));
  return { items, total };
}
