/**
 * Risk history in Postgres (tables from migrations/000004_risk_history.sql) over the backlog store's
 * pool. Every write is ONE statement, so it is atomic without an explicit transaction: a batch of
 * signals goes in as one jsonb parameter (jsonb_to_recordset), snapshots use
 * `on conflict (env, service, hour) do nothing` (concurrent hourly runs insert each row once), and
 * cleanup deletes from both tables in one statement.
 */
import type { Sql } from "../pg/db.ts";
import { AppError } from "../core/errors.ts";
import type { CleanupCounts, HistoryRow, RiskHistoryStore } from "./history-store.ts";
import type { SignalRecord } from "./signals.ts";

type Row = Record<string, unknown>;

const iso = (x: unknown): string => (x instanceof Date ? x : new Date(String(x))).toISOString();
const obj = <T>(x: unknown): T => (typeof x === "string" ? JSON.parse(x) : x) as T;

function toSignal(r: Row): SignalRecord {
  return {
    id: r.id as string,
    env: r.env as string,
    service: r.service as string,
    ts: iso(r.ts),
    signals: obj(r.signals),
    source: r.source as string,
    actor: r.actor as string,
    recorded_at: iso(r.recorded_at),
  };
}

function toHistory(r: Row): HistoryRow {
  return {
    env: r.env as string,
    service: r.service as string,
    hour: iso(r.hour),
    score: Number(r.score),
    band: r.band as HistoryRow["band"],
    contributions: obj(r.contributions),
    signals: obj(r.signals),
    created_at: iso(r.created_at),
  };
}

export class PostgresRiskHistory implements RiskHistoryStore {
  readonly name = "PostgresRiskHistory";
  private checked = false;

  /** `sql` belongs to the backlog store; close() leaves it open. */
  constructor(private readonly sql: Sql) {}

  /** Fails with the fix when migration 000004 has not been applied (checked once per instance). */
  private async ready(): Promise<Sql> {
    if (this.checked) return this.sql;
    const [row] = await this.sql<{ ok: boolean }[]>`
      select to_regclass('public.risk_signals') is not null and to_regclass('public.risk_history') is not null as ok`;
    if (!row?.ok) {
      throw new AppError("unavailable", "Postgres has no risk_signals/risk_history tables: run the migrations first (npx bun run migrate; 000004_risk_history.sql).");
    }
    this.checked = true;
    return this.sql;
  }

  private json(records: object[]) {
    return this.sql.json(records as unknown as Parameters<Sql["json"]>[0]);
  }

  /** With `replay`, records whose id is already stored are skipped (re-delivered outage rows). */
  async addSignals(records: SignalRecord[], replay = false): Promise<void> {
    if (!records.length) return;
    const sql = await this.ready();
    await sql`
      insert into risk_signals (id, env, service, ts, signals, source, actor, recorded_at)
      select id, env, service, ts, signals, source, actor, recorded_at
        from jsonb_to_recordset(${this.json(records)}) as r(
          id text, env text, service text, ts timestamptz, signals jsonb, source text, actor text, recorded_at timestamptz)
      ${replay ? sql`on conflict (id) do nothing` : sql``}`;
  }

  async signals(env: string, from: string, to: string): Promise<SignalRecord[]> {
    const sql = await this.ready();
    const rows = await sql`
      select * from risk_signals where env = ${env} and ts >= ${from} and ts <= ${to} order by ts, recorded_at`;
    return rows.map(toSignal);
  }

  async addSnapshots(rows: HistoryRow[]): Promise<HistoryRow[]> {
    if (!rows.length) return [];
    const sql = await this.ready();
    const inserted = await sql`
      insert into risk_history (env, service, hour, score, band, contributions, signals, created_at)
      select env, service, hour, score, band, contributions, signals, created_at
        from jsonb_to_recordset(${this.json(rows)}) as r(
          env text, service text, hour timestamptz, score double precision, band text, contributions jsonb,
          signals jsonb, created_at timestamptz)
      on conflict (env, service, hour) do nothing
      returning *`;
    return inserted.map(toHistory);
  }

  async history(env: string, from: string, to: string): Promise<HistoryRow[]> {
    const sql = await this.ready();
    const rows = await sql`
      select * from risk_history where env = ${env} and hour >= ${from} and hour <= ${to}
       order by service collate "C", hour`;
    return rows.map(toHistory);
  }

  async cleanup(cutoff: string, dryRun: boolean, env?: string): Promise<CleanupCounts> {
    const sql = await this.ready();
    const ofEnv = env === undefined ? sql`true` : sql`env = ${env}`;
    const [row] = dryRun
      ? await sql`
          select (select count(*) from risk_signals where ts < ${cutoff} and ${ofEnv})::int as signals,
                 (select count(*) from risk_history where hour < ${cutoff} and ${ofEnv})::int as history`
      : await sql`
          with s as (delete from risk_signals where ts < ${cutoff} and ${ofEnv} returning 1),
               h as (delete from risk_history where hour < ${cutoff} and ${ofEnv} returning 1)
          select (select count(*) from s)::int as signals, (select count(*) from h)::int as history`;
    return { signals: Number(row?.signals ?? 0), history: Number(row?.history ?? 0) };
  }

  async close(): Promise<void> {}
}
