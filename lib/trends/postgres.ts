/**
 * Trends in Postgres (table backlog_trends, migrations/000006_backlog_trends.sql) over the backlog
 * store's pool. put() is one statement (jsonb_to_recordset + on conflict do update), so a batch is
 * atomic and concurrent snapshots of the same day leave one row.
 */
import type { Sql } from "../pg/db.ts";
import { AppError } from "../core/errors.ts";
import type { TrendRow, TrendStore } from "./types.ts";

const day = (x: unknown) => (x instanceof Date ? x.toISOString().slice(0, 10) : String(x).slice(0, 10));

function toRow(r: Record<string, unknown>): TrendRow {
  return {
    env: r.env as string,
    day: day(r.day),
    total: Number(r.total),
    open: Number(r.open),
    overdue: Number(r.overdue),
    p0_open: Number(r.p0_open),
    p1_open: Number(r.p1_open),
    created: Number(r.created),
    closed: Number(r.closed),
    recorded_at: (r.recorded_at instanceof Date ? r.recorded_at : new Date(String(r.recorded_at))).toISOString(),
  };
}

export class PostgresTrendStore implements TrendStore {
  readonly name = "PostgresTrendStore";
  private checked = false;

  /** `sql` belongs to the backlog store; close() leaves it open. */
  constructor(private readonly sql: Sql) {}

  private async ready(): Promise<Sql> {
    if (this.checked) return this.sql;
    const [row] = await this.sql<{ ok: boolean }[]>`select to_regclass('public.backlog_trends') is not null as ok`;
    if (!row?.ok) throw new AppError("unavailable", "Postgres has no backlog_trends table: run the migrations first (npx bun run migrate; 000006_backlog_trends.sql).");
    this.checked = true;
    return this.sql;
  }

  async put(rows: TrendRow[]): Promise<void> {
    if (!rows.length) return;
    const sql = await this.ready();
    // Last row per (env, day) within the batch, like the other backends (one statement cannot update a row twice).
    const latest = [...new Map(rows.map((r) => [`${r.env}\u0000${r.day}`, r])).values()];
    await sql`
      insert into backlog_trends (env, day, total, open, overdue, p0_open, p1_open, created, closed, recorded_at)
      select env, day, total, open, overdue, p0_open, p1_open, created, closed, recorded_at
        from jsonb_to_recordset(${sql.json(latest as unknown as Parameters<Sql["json"]>[0])}) as r(
          env text, day date, total int, open int, overdue int, p0_open int, p1_open int, created int, closed int, recorded_at timestamptz)
      on conflict (env, day) do update set
        total = excluded.total, open = excluded.open, overdue = excluded.overdue, p0_open = excluded.p0_open,
        p1_open = excluded.p1_open, created = excluded.created, closed = excluded.closed, recorded_at = excluded.recorded_at`;
  }

  async range(env: string, from: string, to: string): Promise<TrendRow[]> {
    const sql = await this.ready();
    const rows = await sql`
      select env, to_char(day, 'YYYY-MM-DD') as day, total, open, overdue, p0_open, p1_open, created, closed, recorded_at
        from backlog_trends where env = ${env} and day >= ${from}::date and day <= ${to}::date order by day`;
    return rows.map(toRow);
  }

  async cleanup(cutoff: string, dryRun: boolean, env?: string): Promise<number> {
    const sql = await this.ready();
    const ofEnv = env === undefined ? sql`true` : sql`env = ${env}`;
    const [row] = dryRun
      ? await sql`select count(*)::int as n from backlog_trends where day < ${cutoff}::date and ${ofEnv}`
      : await sql`with d as (delete from backlog_trends where day < ${cutoff}::date and ${ofEnv} returning 1) select count(*)::int as n from d`;
    return Number(row?.n ?? 0);
  }

  async close(): Promise<void> {}
}
