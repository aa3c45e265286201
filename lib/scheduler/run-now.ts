/**
 * "Run now": a person or agent runs a registry job by name, outside its schedule (POST
 * /v1/scheduler/jobs/:job/run, the button on /ui/jobs). The registry's tool/action/params go through the
 * same tool dispatch as the scheduler and HTTP, with the CALLER's rights (the caller needs the job's
 * run-by-hand right, which covers the job's entitlement), and the run goes through the one claim path
 * (run-claimed.ts) as source `manual:<actor>` — in its own ledger slot (ledger.ts runSlot), never the
 * cron minute's.
 *
 * Refused (409, nothing run) while any run of the job is `running` and not stuck, while another run-now
 * of the job is starting or running in this process, for a suspended job unless `evenIfSuspended`, and
 * for an idempotency key this process has seen for the job in the last 10 minutes (a double click).
 */
import { hasEntitlement, parseEntitlement } from "../access/entitlements.ts";
import { AppError, describeError } from "../core/errors.ts";
import type { Logger } from "../core/log.ts";
import { isStuck, manualSource, MANUAL, runSlot, type RunLedger, type RunRecord } from "./ledger.ts";
import { notClaimedWhileDegraded, runClaimed, type SkipReason } from "./run-claimed.ts";

/** What run-now needs of a registry job (registry.ts JobSpec has it). */
export interface ManualJob {
  id: string;
  tool: string;
  action: string;
  params?: Record<string, unknown>;
  entitlement: string;
  dry_run: boolean;
  suspend: boolean;
  suspend_reason?: string;
}

/**
 * The right to run a job by hand: the admin level of the job's entitlement's domain (tools.backlog.admin
 * for a job needing tools.backlog.write or .admin). The scheduler agent holds what the job needs to run
 * on schedule; starting it off schedule is an operator's decision.
 */
export function runByHandRight(entitlement: string): string {
  const e = parseEntitlement(entitlement);
  return e ? `tools.${e.domain}.admin` : entitlement;
}

export interface RunNowRequest {
  job: string;
  identity: { agent: string; entitlements: readonly string[]; authenticated: boolean };
  /** Who, for the ledger and the logs: the agent, or the person a trusted proxy named. */
  actor: string;
  dryRun?: boolean;
  evenIfSuspended?: boolean;
  /** The form's one-time token or the Idempotency-Key header: the same key twice starts one run. */
  key?: string;
}

export type RunNowResult =
  | { job: string; dry_run: true; actor: string; result: unknown }
  | { job: string; run_id: string; source: typeof MANUAL; actor: string; started_at: string; status: "success"; result: unknown };

export interface RunNowDeps {
  jobs(): readonly ManualJob[];
  ledger: Pick<RunLedger, "claim" | "finish" | "runningRuns">;
  /** Runs the tool call with the caller's identity (the tool dispatcher). */
  dispatch(identity: RunNowRequest["identity"], call: { tool: string; action: string; params: Record<string, unknown> }): Promise<unknown>;
  clock: () => Date;
  log: Logger;
  /**
   * True when `tool.action` decides from the whole store and the auto store serves from its JSONL
   * fallback: the action would refuse, so the run is not claimed (a failed run in the ledger would count
   * as the job's latest run and quiet BacklogJobMissedSchedule), as for a fire (scheduler.ts).
   */
  degradedFor?(tool: string, action: string): boolean;
  /** The registry file as messages name it (default ops/task_registry.yml). */
  registrySource?(): string | undefined;
  onRun?(job: string, outcome: "success" | "error" | "skipped", endedAt: Date, skipReason?: SkipReason): void;
  /** How long a key is remembered (default 10 min). */
  keyTtlMs?: number;
}

const KEY_TTL_MS = 10 * 60_000;
const MAX_KEYS = 1000;

/** The 409 for a job whose run is still going: names the run. */
export function runningError(job: string, run: Pick<RunRecord, "run_id" | "started_at" | "source">): AppError {
  return new AppError(
    "conflict",
    `job: ${job} is running (run ${run.run_id}, started ${run.started_at} by ${run.source}); nothing was started. Wait for it to finish (GET /v1/scheduler/jobs shows its last run).`,
    { details: { running: true, job, run_id: run.run_id, started_at: run.started_at, source: run.source } },
  );
}

export function createRunNow(deps: RunNowDeps) {
  const ttl = deps.keyTtlMs ?? KEY_TTL_MS;
  /** Jobs with a run-now starting or running in this process, and the run id once claimed. */
  const inFlight = new Map<string, { run_id: string | null; started_at: string; actor: string }>();
  /** job + key → when seen and the run it started (null while it starts). */
  const keys = new Map<string, { at: number; run_id: string | null }>();

  const registry = () => deps.registrySource?.() ?? "ops/task_registry.yml";
  const findJob = (id: string): ManualJob => {
    const all = deps.jobs();
    const job = all.find((j) => j.id === id);
    if (!job) {
      throw new AppError("not_found", `job: no job ${JSON.stringify(id.slice(0, 80))} in ${registry()}; known jobs: ${all.map((j) => j.id).join(", ")}.`, {
        details: { known_jobs: all.map((j) => j.id) },
      });
    }
    return job;
  };

  /** The job, if it exists (404 listing the known ones) and the caller may run it by hand (403 naming the right). */
  const authorize = (jobId: string, identity: Pick<RunNowRequest["identity"], "agent" | "entitlements">): ManualJob => {
    const job = findJob(jobId);
    const right = runByHandRight(job.entitlement);
    if (!hasEntitlement(identity.entitlements, right)) {
      throw new AppError("forbidden", `Agent ${identity.agent} lacks the entitlement ${right} needed to run ${job.id} by hand.`, { details: { required: right } });
    }
    return job;
  };

  const rememberKey = (k: string, now: number) => {
    for (const [key, v] of keys) if (now - v.at > ttl) keys.delete(key);
    const seen = keys.get(k);
    if (seen) {
      throw new AppError("conflict", `Idempotency-Key: this request was sent already${seen.run_id ? ` and started run ${seen.run_id}` : ""}; nothing more was started.`, {
        details: { duplicate: true, ...(seen.run_id ? { run_id: seen.run_id } : {}) },
      });
    }
    keys.set(k, { at: now, run_id: null });
    if (keys.size > MAX_KEYS) keys.delete(keys.keys().next().value!);
  };

  return {
    /** Checks without running: the job exists and the caller may run it by hand. */
    allowed(jobId: string, entitlements: readonly string[]): boolean {
      const job = deps.jobs().find((j) => j.id === jobId);
      return Boolean(job && hasEntitlement(entitlements, runByHandRight(job.entitlement)));
    },

    authorize,

    async run(req: RunNowRequest): Promise<RunNowResult> {
      const job = authorize(req.job, req.identity);
      const params = { ...(job.params ?? {}) };
      if (req.dryRun) {
        if (!job.dry_run) throw new AppError("invalid_input", `dry_run: ${job.id} (${job.tool}.${job.action}) has no dry run (dry_run is not true in ${registry()}).`, { details: ["dry_run: not supported by this job"] });
        // Like the claim path's dry run: nothing is claimed or recorded, and a suspended job is not refused.
        const result = await deps.dispatch(req.identity, { tool: job.tool, action: job.action, params: { ...params, dry_run: true } });
        return { job: job.id, dry_run: true, actor: req.actor, result };
      }
      if (job.suspend && !req.evenIfSuspended) {
        throw new AppError("conflict", `job: ${job.id} is suspended in ${registry()}${job.suspend_reason ? ` (${job.suspend_reason})` : ""}; nothing was run. Send even_if_suspended=true to run it once anyway.`, {
          details: { suspended: true, job: job.id, ...(job.suspend_reason ? { suspend_reason: job.suspend_reason } : {}) },
        });
      }
      if (deps.degradedFor?.(job.tool, job.action)) {
        throw notClaimedWhileDegraded(job.tool, job.action, job.id, "Run it again when readyz reports ready.");
      }
      const mine = inFlight.get(job.id);
      if (mine) throw runningError(job.id, { run_id: mine.run_id ?? "(being claimed)", started_at: mine.started_at, source: manualSource(mine.actor) });
      const now = deps.clock();
      const keyId = req.key ? `${job.id}\n${req.key}` : null;
      if (keyId) rememberKey(keyId, now.getTime());
      const slot = { run_id: null as string | null, started_at: now.toISOString(), actor: req.actor };
      inFlight.set(job.id, slot);
      let claimedRun = false;
      try {
        // Any run still running, not only the latest by slot: a fire of this minute claimed after an
        // earlier manual run of the same minute sorts before it and would otherwise run beside this one.
        let busy: RunRecord | undefined;
        try {
          busy = (await deps.ledger.runningRuns(job.id)).find((r) => !isStuck(r, now));
        } catch (err) {
          throw new AppError("unavailable", `Cannot read the run ledger to see whether ${job.id} is running: ${describeError(err)}. Nothing was started; try again when the database is back.`, { cause: err });
        }
        if (busy) throw runningError(job.id, busy);
        const source = manualSource(req.actor);
        const ledger = {
          claim: async (...a: Parameters<RunNowDeps["ledger"]["claim"]>) => {
            const c = await deps.ledger.claim(...a);
            if (c.claimed) {
              claimedRun = true;
              slot.run_id = c.run.run_id;
              if (keyId) keys.set(keyId, { at: now.getTime(), run_id: c.run.run_id });
            }
            return c;
          },
          finish: deps.ledger.finish.bind(deps.ledger),
        };
        deps.log.info("scheduler: manual run requested", { job: job.id, actor: req.actor, tool: job.tool, action: job.action });
        const out = await runClaimed({ ledger, log: deps.log, clock: deps.clock, onRun: deps.onRun }, job.id, now.toISOString(), source, () =>
          deps.dispatch(req.identity, { tool: job.tool, action: job.action, params }),
        );
        // Refused by the ledger: a run of the job that started running since the check above (another
        // replica's run-now, ledger.ts busyRun), or a run-now of this very instant (another replica, or a
        // clock that stands still) in its own slot, which is to the millisecond and never a fire's.
        if ("skipped" in out) {
          const other = out.existing as RunRecord;
          if (other.status === "running" && other.scheduled_at !== runSlot(now.toISOString(), source)) throw runningError(job.id, other);
          throw new AppError("conflict", `job: ${job.id} already has a run started at this very instant (run ${other.run_id} by ${other.source}, ${other.status}); nothing more was started.`, {
            details: { job: job.id, run_id: other.run_id, status: other.status },
          });
        }
        deps.log.info("scheduler: manual run finished", { job: job.id, actor: req.actor, run_id: out.run_id, outcome: out.status });
        if (out.status === "error") throw out.error;
        return { job: job.id, run_id: out.run_id, source: MANUAL, actor: req.actor, started_at: slot.started_at, status: "success", result: out.result };
      } finally {
        inFlight.delete(job.id);
        // Refused before its claim: the same request may be sent again later.
        if (keyId && !claimedRun) keys.delete(keyId);
      }
    },
  };
}

export type RunNow = ReturnType<typeof createRunNow>;
