/**
 * Which run ledger: the one that follows the backlog store's binding (lib/store/types.ts StoreBinding),
 * decided here only. Postgres (scheduler_runs) for the Postgres store, the JSONL file next to the
 * store's files for JSONL, memory for memory, and on `auto` the two together behind the store's router:
 *
 * - claim: the JSONL claim first (file-locked, so every process on this host agrees), then — when
 *   Postgres serves — the Postgres claim with the same run_id. Lost on either side → not claimed.
 *   A JSONL claim Postgres refuses is recorded locally as not run (status error, reason given).
 * - While Postgres is down only the JSONL claim is taken; the router's replay pushes every JSONL run
 *   into scheduler_runs (`on conflict do nothing`) inside the switch gate, before Postgres serves again.
 * So a (job, minute) claimed anywhere on this host is never claimed again, across switches and
 * restarts. Several hosts need BACKLOG_BACKEND=postgres (Postgres the only authority): docs/scheduler.md.
 */
import { perStore } from "../store/per-store.ts";
import { describeError } from "../core/errors.ts";
import type { Logger } from "../core/log.ts";
import type { FallbackRouter, ReplayHook } from "../store/auto/router.ts";
import type { PostgresBacklogStore } from "../store/postgres/store.ts";
import { isConnectionError } from "../pg/connection-errors.ts";
import type { BacklogStore } from "../store/types.ts";
import { busyRun, finished, isManual, jobStats, latestPerJob, neverRan, newRun, NOT_RUN, runSlot, type ClaimResult, type JobStats, type Outcome, type RunLedger, type RunRecord } from "./ledger.ts";
import { JsonlRunLedger } from "./ledger-jsonl.ts";
import { PostgresRunLedger } from "./ledger-postgres.ts";

export class MemoryRunLedger implements RunLedger {
  readonly name = "MemoryRunLedger";
  readonly runs = new Map<string, RunRecord>();
  async claim(job: string, scheduledAt: string, source: string, now: Date, runId?: string): Promise<ClaimResult> {
    const minute = runSlot(scheduledAt, source);
    for (const r of this.runs.values()) if (r.job === job && r.scheduled_at === minute) return { claimed: false, existing: r };
    const busy = isManual(source) ? busyRun(this.runs.values(), job, now) : undefined;
    if (busy) return { claimed: false, existing: busy };
    const run = newRun(job, minute, source, now, runId);
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

  async runningRuns(job: string): Promise<RunRecord[]> {
    return [...this.runs.values()].filter((r) => r.job === job && r.status === "running");
  }
  async stats(now: Date): Promise<Map<string, JobStats>> {
    return jobStats(this.runs.values(), now);
  }
  async close(): Promise<void> {}
}

export class AutoRunLedger implements RunLedger {
  readonly jsonl: JsonlRunLedger;
  private pgLedger: { store: PostgresBacklogStore; ledger: PostgresRunLedger } | null = null;

  constructor(private readonly router: FallbackRouter, private readonly log: Logger) {
    this.jsonl = new JsonlRunLedger(router.dir, log);
    const hook: ReplayHook = {
      name: "run ledger",
      order: 30,
      replay: async (pg) => {
        // A claim Postgres refused never ran: Postgres has the run that did (or a manual run's instant of its own).
        const pushed = await this.postgres(pg).pushRuns((await this.jsonl.allRuns()).filter((r) => !neverRan(r)));
        if (pushed) this.log.info("scheduler_runs_replayed", { pushed, from: this.jsonl.file });
      },
    };
    router.register(hook);
  }

  private postgres(pg: PostgresBacklogStore): PostgresRunLedger {
    if (this.pgLedger?.store !== pg) this.pgLedger = { store: pg, ledger: new PostgresRunLedger(pg.sql) };
    return this.pgLedger.ledger;
  }

  get name(): string {
    return this.router.serving ? "PostgresRunLedger+JsonlRunLedger" : "JsonlRunLedger";
  }

  claim(job: string, scheduledAt: string, source: string, now: Date, runId?: string): Promise<ClaimResult> {
    return this.router.both(async (pg) => {
      const local = await this.jsonl.claim(job, scheduledAt, source, now, runId);
      if (!local.claimed || !pg) return local;
      let remote: ClaimResult;
      try {
        remote = await this.postgres(pg).claimRun(local.run);
      } catch (err) {
        if (!isConnectionError(err)) {
          await this.jsonl.finish(local.run.run_id, { status: "error", error: `${NOT_RUN}the Postgres claim failed: ${describeError(err)}` }, now).catch(() => {});
          throw err;
        }
        // Postgres went away mid-claim: the local claim stands and is pushed by the replay.
        this.router.fallBack(pg, err);
        return local;
      }
      if (remote.claimed) return local;
      await this.jsonl.finish(local.run.run_id, { status: "error", error: `${NOT_RUN}Postgres already has ${remote.existing.scheduled_at === local.run.scheduled_at ? "this minute" : "a run of the job running"} (run ${remote.existing.run_id} by ${remote.existing.source})` }, now);
      return remote;
    });
  }

  async finish(runId: string, outcome: Outcome, now: Date): Promise<RunRecord> {
    const done = await this.jsonl.finish(runId, outcome, now);
    const pg = this.router.serving;
    if (pg) {
      // A run claimed while Postgres was down is not there yet: the replay pushes it with its outcome.
      await this.postgres(pg).finish(runId, outcome, now).catch((err) => {
        if (isConnectionError(err)) this.router.fallBack(pg, err);
        else if (!/^no run /.test(describeError(err))) throw err;
      });
    }
    return done;
  }

  lastRuns(): Promise<Map<string, RunRecord>> {
    return this.read((l) => l.lastRuns());
  }

  runningRuns(job: string): Promise<RunRecord[]> {
    return this.read((l) => l.runningRuns(job));
  }

  stats(now: Date): Promise<Map<string, JobStats>> {
    return this.read((l) => l.stats(now));
  }

  /** Reads from Postgres while it serves (it has every run after the replay), else from JSONL. */
  private async read<T>(fn: (l: RunLedger) => Promise<T>): Promise<T> {
    const pg = this.router.serving;
    if (pg) {
      try {
        return await fn(this.postgres(pg));
      } catch (err) {
        if (!isConnectionError(err)) throw err;
        this.router.fallBack(pg, err);
      }
    }
    return fn(this.jsonl);
  }

  async close(): Promise<void> {}
}

const cached = perStore<RunLedger>();

export function openRunLedger(store: BacklogStore, log: Logger): RunLedger {
  const b = store.binding;
  switch (b.kind) {
    case "postgres":
      // One per connection pool: the claims given up on with their outcome unknown are remembered there.
      return cached(b.sql, () => new PostgresRunLedger(b.sql));
    case "jsonl":
      return new JsonlRunLedger(b.dir, log);
    case "auto": {
      // One per router: each registers a replay hook, and one is enough.
      return cached(b.router, () => new AutoRunLedger(b.router, log));
    }
    case "memory":
      return new MemoryRunLedger();
  }
}
