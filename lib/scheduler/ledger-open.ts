/**
 * Which run ledger: the one in the backlog store's backend. Postgres (scheduler_runs table) when the
 * store serves from Postgres; the JSONL file next to the store's files otherwise; memory for the memory
 * store. On the auto store each call goes to whichever backend serves at that moment.
 */
import type { Logger } from "../log.ts";
import { AutoBacklogStore, JsonlBacklogStore, PostgresBacklogStore } from "../store/index.ts";
import type { BacklogStore } from "../store/types.ts";
import { finished, jobStats, latestPerJob, newRun, scheduledMinute, type ClaimResult, type JobStats, type Outcome, type RunLedger, type RunRecord } from "./ledger.ts";
import { JsonlRunLedger } from "./ledger-jsonl.ts";
import { PostgresRunLedger } from "./ledger-postgres.ts";

export class MemoryRunLedger implements RunLedger {
  readonly name = "MemoryRunLedger";
  readonly runs = new Map<string, RunRecord>();
  async claim(job: string, scheduledAt: string, source: string, now: Date): Promise<ClaimResult> {
    const minute = scheduledMinute(new Date(scheduledAt));
    for (const r of this.runs.values()) if (r.job === job && r.scheduled_at === minute) return { claimed: false, existing: r };
    const run = newRun(job, minute, source, now);
    this.runs.set(run.run_id, run);
    return { claimed: true, run };
  }
  async finish(runId: string, outcome: Outcome, now: Date): Promise<RunRecord> {
    const prev = this.runs.get(runId);
    if (!prev) throw new Error(`no run ${runId}`);
    const done = finished(prev, outcome, now);
    this.runs.set(runId, done);
    return done;
  }
  async lastRuns(): Promise<Map<string, RunRecord>> {
    return latestPerJob(this.runs.values());
  }
  async stats(): Promise<Map<string, JobStats>> {
    return jobStats(this.runs.values());
  }
  async close(): Promise<void> {}
}

class AutoRunLedger implements RunLedger {
  private readonly jsonl: JsonlRunLedger;
  private pg: { store: PostgresBacklogStore; ledger: PostgresRunLedger } | null = null;
  constructor(private readonly store: AutoBacklogStore, log: Logger) {
    this.jsonl = new JsonlRunLedger(store.jsonl.dir, log);
  }
  private current(): RunLedger {
    const pg = this.store.serving;
    if (!pg) return this.jsonl;
    if (this.pg?.store !== pg) this.pg = { store: pg, ledger: new PostgresRunLedger(pg.sql) };
    return this.pg.ledger;
  }
  get name() {
    return this.current().name;
  }
  claim(job: string, at: string, source: string, now: Date) {
    return this.current().claim(job, at, source, now);
  }
  finish(runId: string, outcome: Outcome, now: Date) {
    return this.current().finish(runId, outcome, now);
  }
  lastRuns() {
    return this.current().lastRuns();
  }
  stats() {
    return this.current().stats();
  }
  async close() {}
}

export function openRunLedger(store: BacklogStore, log: Logger): RunLedger {
  if (store instanceof PostgresBacklogStore) return new PostgresRunLedger(store.sql);
  if (store instanceof AutoBacklogStore) return new AutoRunLedger(store, log);
  if (store instanceof JsonlBacklogStore) return new JsonlRunLedger(store.dir, log);
  return new MemoryRunLedger();
}
