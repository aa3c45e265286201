/**
 * The in-process scheduler: runs the cron file's jobs with croner (UTC, overrun protection) through the
 * same dispatcher and RBAC as HTTP, as agent `scheduler`. Exactly once per (job, scheduled minute): every
 * run claims its minute in the run ledger first, so a second replica or the cron runner hitting the HTTP
 * API for the same minute is told `already ran`.
 */
import { Cron } from "croner";
import { clearTimeout, setTimeout } from "node:timers";
import { describeError } from "../core/errors.ts";
import type { Logger } from "../core/log.ts";
import { servingBackend } from "../store/index.ts";
import { dispatch, type Registry } from "../tools/dispatch.ts";
import type { ToolContext } from "../tools/types.ts";
import type { CronJob } from "./cron-file.ts";
import { jobViews, type JobView } from "./job-view.ts";
import { ClaimOutcomeUnknown, scheduledMinute, type RunLedger } from "./ledger.ts";
import { DeferredFires } from "./deferred-fires.ts";
import { createRunNow, type ManualJob } from "./run-now.ts";
import { claimableFire, runClaimed, type SkipReason } from "./run-claimed.ts";
import { fireFor, firesAt, LATE_TOLERANCE_MS, latestFire } from "./schedule.ts";

export { firesAt, latestFire } from "./schedule.ts";

export interface SchedulerIdentity {
  agent: string;
  entitlements: readonly string[];
  authenticated: boolean;
}

export interface SchedulerDeps {
  jobs: CronJob[];
  /** Catch-up window per job id in ms (from the registry); 0 or absent = never catch up. */
  catchUpMs?: Record<string, number>;
  /** Jobs the registry suspends, with their reasons (registry.ts suspendedJobs): no fire of them is claimed. */
  suspended?: ReadonlyMap<string, string | null>;
  /**
   * The task registry as it is now (registry-watch.ts): when given, suspensions and catch-up windows are
   * read from it at every fire, catch-up and claim, instead of `suspended` / `catchUpMs` fixed at start.
   */
  taskRegistry?: () => { suspended: ReadonlyMap<string, string | null>; catchUpMs: Record<string, number>; jobs?: readonly RegistryJob[]; source?: string };
  registry: Registry;
  ledger: RunLedger;
  toolContext(identity: SchedulerIdentity): ToolContext;
  identity: SchedulerIdentity;
  clock?: () => Date;
  log: Logger;
  onRun?(job: string, outcome: "success" | "error" | "skipped", endedAt: Date, skipReason?: SkipReason): void;
  /** A claim whose outcome is unknown (lost answer) is asked again this often, within the job's window; default 60 s. */
  claimRetryMs?: number;
}

/** What the jobs list and run-now read of a registry job (registry.ts JobSpec). */
export type RegistryJob = ManualJob & { description: string };

export type RunOutcome =
  | { job: string; scheduled_at: string; status: "success"; result: unknown; ms: number }
  | { job: string; scheduled_at: string; status: "error"; error: string; ms: number }
  | { job: string; scheduled_at: string; skipped: "already ran" | "still running" | "suspended" | "store degraded" };


export function createScheduler(deps: SchedulerDeps) {
  const clock = deps.clock ?? (() => new Date());
  const running = new Set<string>();
  const fixed: ReturnType<NonNullable<SchedulerDeps["taskRegistry"]>> = { suspended: deps.suspended ?? new Map<string, string | null>(), catchUpMs: deps.catchUpMs ?? {} };
  const tasks = () => deps.taskRegistry?.() ?? fixed;
  const crons: Cron[] = [];
  const retries = new Set<ReturnType<typeof setTimeout>>();
  const deferred = new DeferredFires();
  let stopped = false;

  /**
   * The claim's answer was lost and Postgres did not come back in time: the ledger keeps the run, so
   * asking again later runs the job if Postgres recorded it (and says "already ran" if another claimer
   * won). Only while a late claim of that fire is still allowed: max(catch-up window, late tolerance).
   */
  /** True when asked again later; false when past the job's window (or stopped). */
  function askAgainLater(job: CronJob, at: Date, source: string, why = "claim outcome unknown"): boolean {
    const retryMs = deps.claimRetryMs ?? 60_000;
    const window = Math.max(tasks().catchUpMs[job.id] ?? 0, LATE_TOLERANCE_MS);
    const fields = { job: job.id, scheduled_at: scheduledMinute(at) };
    if (stopped || clock().getTime() + retryMs - at.getTime() > window) {
      deps.log.error(`scheduler: ${why}, past the job's window: not asked again`, { ...fields, window_ms: window });
      return false;
    }
    deps.log.warn(`scheduler: ${why}, asking again`, { ...fields, retry_ms: retryMs });
    const t = setTimeout(() => {
      retries.delete(t);
      void runJob(job, at, source);
    }, retryMs);
    t.unref();
    retries.add(t);
    return true;
  }

  const needsFullView = (tool: string, action: string) => Boolean(deps.registry.get(tool)?.actions[action]?.needs_full_view);
  /** A deciding action (needs_full_view) while the auto store serves from its fallback: not claimed now. */
  function deciding(tool: string, action: string): boolean {
    return needsFullView(tool, action) && servingBackend(deps.toolContext(deps.identity).store).degraded;
  }

  async function runJob(job: CronJob, at: Date, source = "in-process"): Promise<RunOutcome> {
    let owed = false; // deferred again: later fires keep waiting for this one (deferred-fires.ts)
    try {
      return await runFire(job, at, source, () => (owed = true));
    } finally {
      if (!owed) deferred.settled(job.id, at);
    }
  }

  async function runFire(job: CronJob, at: Date, source: string, owe: () => void): Promise<RunOutcome> {
    const scheduled_at = scheduledMinute(at);
    if (tasks().suspended.has(job.id)) {
      // debug: a suspended every-minute job would otherwise log 1440 lines a day; start() says it once at info
      deps.log.debug("scheduler: job suspended, fire skipped", { job: job.id, scheduled_at, source });
      deps.onRun?.(job.id, "skipped", clock(), "suspended");
      return { job: job.id, scheduled_at, skipped: "suspended" };
    }
    // Overrun protection inside this process (croner's `protect` covers its own timer; this also covers
    // catch-up and manual runDue calls).
    if (running.has(job.id)) {
      deps.log.warn("scheduler: job still running, not started again", { job: job.id, scheduled_at });
      deps.onRun?.(job.id, "skipped", clock(), "still_running");
      return { job: job.id, scheduled_at, skipped: "still running" };
    }
    // A deciding action refuses on the auto store's fallback (503, nothing written). Claiming the fire
    // would record it as failed and nothing would run it again (catch-up: already ran): a weekly
    // generation skipped for a week. So the fire is not claimed and asked again within its window.
    if (deciding(job.tool, job.action)) {
      deferred.defer(job.id, at);
      if (askAgainLater(job, at, source, "store degraded, fire deferred")) owe();
      return { job: job.id, scheduled_at, skipped: "store degraded" };
    }
    // An earlier deferred fire of a deciding job runs first (a digest before the generation that reads it).
    const first = needsFullView(job.tool, job.action) ? deferred.waitingFor(job.id, at) : undefined;
    if (first) {
      deferred.defer(job.id, at);
      if (askAgainLater(job, at, source, `the deferred fire of ${first} runs first`)) owe();
      return { job: job.id, scheduled_at, skipped: "store degraded" };
    }
    running.add(job.id);
    const started = performance.now();
    const ms = () => Math.round(performance.now() - started);
    try {
      const claimed = await runClaimed({ ledger: deps.ledger, log: deps.log, clock, onRun: deps.onRun }, job.id, scheduled_at, source, () => {
        deps.log.info("scheduler: job started", { job: job.id, scheduled_at, tool: job.tool, action: job.action, source });
        return dispatch(deps.registry, { tool: job.tool, action: job.action, params: job.params }, deps.toolContext(deps.identity));
      });
      if ("skipped" in claimed) return { job: job.id, scheduled_at, skipped: "already ran" };
      const outcome: RunOutcome =
        claimed.status === "success"
          ? { job: job.id, scheduled_at, status: "success", result: claimed.result, ms: ms() }
          : { job: job.id, scheduled_at, status: "error", error: describeError(claimed.error), ms: ms() };
      const fields = { job: job.id, scheduled_at, outcome: outcome.status, ms: outcome.ms };
      if (outcome.status === "success") deps.log.info("scheduler: job finished", fields);
      else deps.log.error("scheduler: job finished", { ...fields, error: outcome.error });
      return outcome;
    } catch (err) {
      // the ledger itself failed (database down): nothing ran
      const error = describeError(err);
      deps.log.error("scheduler: cannot claim the run", { job: job.id, scheduled_at, error });
      if (err instanceof ClaimOutcomeUnknown) askAgainLater(job, at, source);
      return { job: job.id, scheduled_at, status: "error", error, ms: 0 };
    } finally {
      running.delete(job.id);
    }
  }

  /** After downtime: the most recent fire of each job (up to now), once, if within its catch-up window. */
  async function catchUp(now: Date = clock()): Promise<RunOutcome[]> {
    const out: RunOutcome[] = [];
    const { catchUpMs, suspended } = tasks();
    for (const j of deps.jobs) {
      const window = catchUpMs[j.id] ?? 0;
      if (window <= 0 || suspended.has(j.id)) continue;
      const last = latestFire(j.schedule, now);
      if (!last || now.getTime() - last.getTime() > window) continue;
      out.push(await runJob(j, last, "catch-up"));
    }
    return out;
  }

  const runNow = deps.taskRegistry?.().jobs
    ? createRunNow({
        jobs: () => tasks().jobs ?? [],
        registrySource: () => tasks().source,
        ledger: deps.ledger,
        dispatch: (identity, call) => dispatch(deps.registry, call, deps.toolContext(identity)),
        clock,
        log: deps.log,
        degradedFor: (tool, action) => deciding(tool, action),
        onRun: deps.onRun,
      })
    : undefined;

  return {
    runJob,

    /** Runs every job whose schedule fires at `at` (tests drive time through this). */
    runDue(at: Date): Promise<RunOutcome[]> {
      return Promise.all(deps.jobs.filter((j) => firesAt(j.schedule, at)).map((j) => runJob(j, at)));
    },

    catchUp,

    /**
     * The minute a run of `job` requested for `at` belongs to: the fire it is late for (see fireFor),
     * else `at`'s own minute (off-schedule, or a job not in the cron file). For the HTTP layer, so a
     * runner that sends the wall-clock minute still claims the scheduled one.
     */
    claimMinute(job: string, at: Date): string {
      const j = deps.jobs.find((x) => x.id === job);
      return scheduledMinute((j && fireFor(j.schedule, at)) || at);
    },

    /**
     * For the HTTP layer: the job's own tool/action and the fire a call for `at` may claim, checked
     * against its schedule and catch-up window (lib/scheduler/run-claimed.ts claimableFire).
     */
    claimable(job: string, at: Date, now: Date = clock(), evenIfSuspended = false): { minute: string; tool: string; action: string } {
      const { catchUpMs, suspended, source } = tasks();
      const jobs = deps.jobs.map((j) => ({
        id: j.id,
        schedule: j.schedule,
        tool: j.tool,
        action: j.action,
        catchUpMs: catchUpMs[j.id] ?? 0,
        ...(suspended.has(j.id) ? { suspended: suspended.get(j.id) ?? null } : {}),
      }));
      const { job: j, minute } = claimableFire(jobs, job, at, now, evenIfSuspended, source);
      return { minute, tool: j.tool, action: j.action };
    },

    start(): void {
      stopped = false;
      for (const j of deps.jobs) {
        crons.push(
          new Cron(j.schedule, { timezone: "UTC", protect: true, name: j.id }, async () => {
            await runJob(j, latestFire(j.schedule, clock()) ?? clock());
          }),
        );
      }
      // Each minute: notices a changed task registry (registry-watch.ts logs it) even when no job fires.
      if (deps.taskRegistry) crons.push(new Cron("* * * * *", { timezone: "UTC", name: "task-registry" }, () => void tasks()));
      deps.log.info("scheduler: started", { jobs: deps.jobs.map((j) => j.id), ledger: deps.ledger.name });
      const { suspended } = tasks();
      if (suspended.size) {
        deps.log.info("scheduler: suspended jobs are not run (ops/task_registry.yml suspend)", {
          suspended: [...suspended].map(([id, reason]) => (reason ? `${id} (${reason})` : id)),
        });
      }
      void catchUp(clock());
    },

    /**
     * Stops firing and waits for running jobs, at most `graceMs`: a hung tool must not hold shutdown
     * forever. A job left behind keeps its claim (`running` in the ledger) and is not repeated.
     */
    async stop(graceMs = 30_000): Promise<void> {
      for (const c of crons.splice(0)) c.stop();
      stopped = true;
      for (const t of retries) clearTimeout(t);
      retries.clear();
      const deadline = Date.now() + graceMs;
      while (running.size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      if (running.size) deps.log.warn("scheduler: stopped with jobs still running", { jobs: [...running], grace_ms: graceMs });
    },

    /** Run a registry job now, by hand (run-now.ts); absent without a task registry. */
    runNow,

    async jobs(): Promise<JobView[]> {
      return jobViews(deps.jobs, await deps.ledger.lastRuns(), clock(), tasks());
    },
  };
}

export type Scheduler = ReturnType<typeof createScheduler>;
