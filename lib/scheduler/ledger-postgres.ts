/**
 * Postgres run ledger: claim = ONE `INSERT … ON CONFLICT DO NOTHING RETURNING` (unique job, scheduled_at).
 *
 * The run id is made here, before the INSERT, so a claimer recognises its own claim: a row for
 * (job, minute) carrying ITS run id means it won, whoever wrote the row (its own INSERT whose answer
 * was lost with the connection, or the auto router's replay of its local claim). A run id is held by
 * one claim call at a time (the one that made it, or a later one of this process that took it back
 * after it was given up on), so exactly once still rests on the unique key alone.
 * Lost answer: the claim asks again with the same run (a fresh connection) until Postgres answers or
 * RESOLVE_MS passes; then it is a 503 (ClaimOutcomeUnknown) and the run is kept so this process's next
 * claim of that minute asks with it again. The cases: docs/scheduler.md "A lost claim answer".
 */
import type { Sql, Tx } from "../pg/db.ts";
import { tableHint } from "../pg/table-hint.ts";
import { beginSafely } from "../pg/begin-safely.ts";
import { isConnectionError } from "../pg/connection-errors.ts";
import { ClaimOutcomeUnknown, isManual, newRun, NOT_RUN, runSlot, STUCK_AFTER_MS, summarize, type ClaimResult, type JobStats, type Outcome, type RunLedger, type RunRecord } from "./ledger.ts";

/** How long a claim whose answer was lost keeps asking: a Postgres restart or a short failover. */
export const RESOLVE_MS = 30_000;

/**
 * Failures before the statement could reach the server (no connection was made): nothing was
 * recorded, so the claim fails at once as before. Any other connection failure may have lost an answer.
 */
const NEVER_SENT = new Set(["ECONNREFUSED", "CONNECT_TIMEOUT", "ENOTFOUND", "EAI_AGAIN", "57P03", "53300"]);

function neverSent(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" && NEVER_SENT.has(code);
}

export interface PostgresRunLedgerOptions {
  /** How long a claim whose answer was lost keeps asking Postgres (default RESOLVE_MS). */
  resolveMs?: number;
}

interface Row {
  run_id: string;
  job: string;
  scheduled_at: Date;
  source: string;
  started_at: Date;
  ended_at: Date | null;
  status: RunRecord["status"];
  result: unknown;
  error: string | null;
}

const toRecord = (r: Row): RunRecord => ({
  run_id: r.run_id,
  job: r.job,
  scheduled_at: new Date(r.scheduled_at).toISOString(),
  source: r.source,
  started_at: new Date(r.started_at).toISOString(),
  ended_at: r.ended_at ? new Date(r.ended_at).toISOString() : null,
  status: r.status,
  ...(r.result !== null && r.result !== undefined ? { result: r.result } : {}),
  ...(r.error ? { error: r.error } : {}),
});

const hinted = tableHint("scheduler_runs", "000003_scheduler_runs.sql");

export class PostgresRunLedger implements RunLedger {
  readonly name = "PostgresRunLedger";
  private readonly resolveMs: number;
  /** Claims given up on with their outcome unknown, by job and minute: asked again with the same run. */
  private readonly unresolved = new Map<string, RunRecord>();

  constructor(private readonly sql: Sql, options: PostgresRunLedgerOptions = {}) {
    this.resolveMs = options.resolveMs ?? RESOLVE_MS;
  }

  async claim(job: string, scheduledAt: string, source: string, now: Date, runId?: string): Promise<ClaimResult> {
    const minute = runSlot(scheduledAt, source);
    const key = `${job} ${minute}`;
    // A caller-held run (runId) is the caller's to ask again with: not remembered here, and a remembered
    // run of this process is left for this process' own next claim.
    // Taken out synchronously: two concurrent claims of this minute cannot both ask with the same run.
    const remembered = runId ? undefined : this.unresolved.get(key);
    const run = remembered ?? newRun(job, minute, source, now, runId);
    if (!runId) this.unresolved.delete(key);
    let sent = false;
    const started = Date.now();
    for (let delay = 100; ; delay = Math.min(delay * 2, 2000)) {
      try {
        return await this.claimRun(run);
      } catch (err) {
        if (!isConnectionError(err)) {
          // Postgres answered: this attempt recorded nothing, but an earlier one may have.
          if ((sent || remembered) && !runId) this.remember(key, run);
          throw err;
        }
        sent ||= !neverSent(err);
        // A run never sent (this time or before) is certainly not recorded: the error as it is.
        if (!sent && !remembered) throw err;
        // Ask again only while an answer may be on its way back; a remembered run that could not even be
        // sent now is still unknown, and is kept for the next claim.
        if (!sent || Date.now() + delay > started + this.resolveMs) {
          if (!runId) this.remember(key, run);
          throw new ClaimOutcomeUnknown(run, Date.now() - started, err, runId !== undefined);
        }
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /** Bounded: a long outage must not grow it without end; the oldest given-up claims go first. */
  private remember(key: string, run: RunRecord): void {
    this.unresolved.set(key, run);
    if (this.unresolved.size > 1000) this.unresolved.delete(this.unresolved.keys().next().value!);
  }

  /** Claims with a run record made elsewhere (the auto ledger claims locally first, same run_id). */
  claimRun(run: RunRecord): Promise<ClaimResult> {
    return hinted(`claim ${run.job} at ${run.scheduled_at}`, () => this.insertClaim(run));
  }

  /**
   * Pushes runs recorded elsewhere (the JSONL ledger during an outage): each (job, minute) Postgres
   * lacks goes in as it is; a run Postgres has as `running` gets its outcome. Never a second claim.
   */
  async pushRuns(runs: RunRecord[]): Promise<number> {
    if (!runs.length) return 0;
    const rows = this.sql.json(runs.map((r) => ({ ...r, result: r.result === undefined ? null : summarize(r.result), error: r.error ?? null })) as never);
    return hinted("push fallback runs", async () => {
      const inserted = await this.sql`
        insert into scheduler_runs (run_id, job, scheduled_at, source, started_at, ended_at, status, result, error)
        select run_id, job, scheduled_at, source, started_at, ended_at, status, result, error
          from jsonb_to_recordset(${rows}) as r(run_id text, job text, scheduled_at timestamptz, source text,
               started_at timestamptz, ended_at timestamptz, status text, result jsonb, error text)
        on conflict do nothing`;
      await this.sql`
        update scheduler_runs s
           set status = r.status, ended_at = r.ended_at, result = r.result, error = r.error
          from jsonb_to_recordset(${rows}) as r(run_id text, ended_at timestamptz, status text, result jsonb, error text)
         where s.run_id = r.run_id and s.status = 'running' and r.status <> 'running'`;
      return inserted.count;
    });
  }

  private async insertClaim(run: RunRecord): Promise<ClaimResult> {
    if (!isManual(run.source)) return this.insertRow(this.sql, run);
    // A manual run (ledger.ts busyRun): run-nows of one job take turns on its advisory lock, and each
    // looks for a running run after it holds it, so the second of two at once sees the first's row.
    return beginSafely(this.sql, async (tx) => {
      await tx`select pg_advisory_xact_lock(hashtext(${`scheduler_runs manual ${run.job}`}))`;
      const stuckBefore = new Date(new Date(run.started_at).getTime() - STUCK_AFTER_MS);
      const [busy] = await tx<Row[]>`select * from scheduler_runs where job = ${run.job} and status = 'running' and started_at >= ${stuckBefore} order by scheduled_at limit 1`;
      if (busy && busy.run_id !== run.run_id) return { claimed: false, existing: toRecord(busy) };
      return this.insertRow(tx, run);
    });
  }

  private async insertRow(sql: Sql | Tx, run: RunRecord): Promise<ClaimResult> {
    // No conflict target: the run_id key counts as a conflict too. The auto router's replay may insert
    // this very run (from JSONL) at the same moment; with only (job, scheduled_at) as the arbiter, a
    // concurrent insert of the same run_id is a unique-violation error instead of "already there".
    const [won] = await sql<Row[]>`
      insert into scheduler_runs (run_id, job, scheduled_at, source, started_at, status)
      values (${run.run_id}, ${run.job}, ${run.scheduled_at}, ${run.source}, ${run.started_at}, 'running')
      on conflict do nothing
      returning *`;
    if (won) return { claimed: true, run: toRecord(won) };
    const [existing] = await sql<Row[]>`select * from scheduler_runs where job = ${run.job} and scheduled_at = ${run.scheduled_at}`;
    // Our own run: our earlier INSERT whose answer was lost, or the replay of our local claim (auto).
    // Still `running` only: a finished run of ours ran already (a caller repeating a claim_token that won).
    if (existing!.run_id === run.run_id && existing!.status === "running") return { claimed: true, run: toRecord(existing!) };
    return { claimed: false, existing: toRecord(existing!) };
  }

  async finish(runId: string, outcome: Outcome, now: Date): Promise<RunRecord> {
    const result = outcome.result === undefined ? null : this.sql.json(summarize(outcome.result) as never);
    const [row] = await this.sql<Row[]>`
      update scheduler_runs
      set status = ${outcome.status}, ended_at = ${now.toISOString()}, result = ${result}, error = ${outcome.error ?? null}
      where run_id = ${runId}
      returning *`;
    if (!row) throw new Error(`no run ${runId} in scheduler_runs`);
    return toRecord(row);
  }

  async lastRuns(): Promise<Map<string, RunRecord>> {
    const rows = await hinted("read the last runs", () => this.sql<Row[]>`select distinct on (job) * from scheduler_runs order by job, scheduled_at desc`);
    return new Map(rows.map((r) => [r.job, toRecord(r)]));
  }

  async runningRuns(job: string): Promise<RunRecord[]> {
    const rows = await hinted("read the running runs", () => this.sql<Row[]>`select * from scheduler_runs where job = ${job} and status = 'running' order by scheduled_at`);
    return rows.map(toRecord);
  }

  async stats(now: Date): Promise<Map<string, JobStats>> {
    const stuckBefore = new Date(now.getTime() - STUCK_AFTER_MS);
    const rows = await hinted("read the run statistics", () => this.sql<{ job: string; running: number; stuck: 0 | 1; last_failed: 0 | 1; success: number; error: number; last_run_at: Date | null; last_success_at: Date | null }[]>`
      select job,
             count(*) filter (where status = 'running')::int as running,
             (bool_or(status = 'running' and started_at < ${stuckBefore} and scheduled_at = latest))::int as stuck,
             coalesce(bool_or(status = 'error' and ran and scheduled_at = latest_ran), false)::int as last_failed,
             count(*) filter (where status = 'success')::int as success,
             count(*) filter (where status = 'error')::int as error,
             max(scheduled_at) as last_run_at,
             max(ended_at) filter (where status = 'success') as last_success_at
        from (select *, max(scheduled_at) over (partition by job) as latest,
                     max(scheduled_at) filter (where ran) over (partition by job) as latest_ran
                from (select *, not (status = 'error' and coalesce(starts_with(error, ${NOT_RUN}), false)) as ran from scheduler_runs) r) runs
       group by job`);
    const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);
    return new Map(rows.map((r) => [r.job, { job: r.job, runs: { running: r.running, success: r.success, error: r.error }, stuck: r.stuck, last_run_at: iso(r.last_run_at), last_success_at: iso(r.last_success_at), last_failed: r.last_failed }]));
  }

  async close(): Promise<void> {}
}
