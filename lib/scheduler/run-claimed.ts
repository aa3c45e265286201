/**
 * THE claim path: claim (job, minute) in the run ledger → run → record the outcome. Used by the
 * in-process scheduler and by the HTTP layer (the cron runner's calls), so both behave the same:
 * - a minute already claimed anywhere is `skipped: "already ran"` and nothing runs;
 * - a ledger that cannot claim is an `unavailable` error (503) and nothing runs;
 * - the tool's outcome stands even when recording it fails: that failure is logged, the claim is kept
 *   (the run is not repeated), and a success is never turned into an error.
 * `claimableFire` is the one check of what may be claimed at all (HTTP callers name the minute).
 */
import { AppError, describeError } from "../core/errors.ts";
import type { Logger } from "../core/log.ts";
import { isConnectionError } from "../pg/connection-errors.ts";
import { ClaimOutcomeUnknown, scheduledMinute } from "./ledger.ts";
import { fireFor, LATE_TOLERANCE_MS } from "./schedule.ts";

/** What runClaimed needs of a run ledger (lib/scheduler/ledger.ts RunLedger has it). */
export interface RunClaims {
  claim(job: string, scheduledAt: string, source: string, now: Date, runId?: string): Promise<{ claimed: true; run: { run_id: string } } | { claimed: false; existing: unknown }>;
  finish(runId: string, outcome: { status: "success" | "error"; result?: unknown; error?: string }, now: Date): Promise<unknown>;
}

/** Why a fire did not run: claimed elsewhere, still running here, or the job is suspended (registry). */
export type SkipReason = "already_ran" | "still_running" | "suspended";

export interface ClaimDeps {
  ledger: RunClaims;
  log: Logger;
  clock: () => Date;
  onRun?(job: string, outcome: "success" | "error" | "skipped", endedAt: Date, skipReason?: SkipReason): void;
}

export type Claimed<T> =
  | { status: "success"; result: T; run_id: string }
  | { status: "error"; error: unknown; run_id: string }
  | { skipped: "already ran"; existing: unknown };

/**
 * `callerRunId`: the caller's own run id (ledger.ts runIdFor of the runner's claim_token), so a caller that
 * asks again after a failed claim is recognised if that claim was recorded after all.
 * A claim that failed because the ledger's database was out of reach is a 503 whose details carry
 * `claim_failed: true` (ClaimOutcomeUnknown too): nothing ran, and asking again with the same run id is
 * safe (what the cron runner does).
 */
export async function runClaimed<T>(deps: ClaimDeps, job: string, minute: string, source: string, work: () => Promise<T>, callerRunId?: string): Promise<Claimed<T>> {
  let claim: Awaited<ReturnType<RunClaims["claim"]>>;
  try {
    claim = await deps.ledger.claim(job, minute, source, deps.clock(), callerRunId);
  } catch (err) {
    deps.onRun?.(job, "error", deps.clock());
    // ClaimOutcomeUnknown already says what happened and what to do (the run may be recorded).
    if ((err instanceof AppError && err.status < 500) || err instanceof ClaimOutcomeUnknown) throw err;
    // claim_failed (ask again) only when the database was out of reach: a missing table stays missing.
    const details = isConnectionError(err) ? { claim_failed: true } : undefined;
    throw new AppError("unavailable", `Cannot claim ${job} for ${minute} in the run ledger: ${describeError(err)}. Nothing ran; the next attempt may claim it.`, { cause: err, details });
  }
  if (!claim.claimed) {
    deps.log.info("scheduler: already ran", { job, scheduled_at: minute, source });
    deps.onRun?.(job, "skipped", deps.clock(), "already_ran");
    return { skipped: "already ran", existing: claim.existing };
  }
  const runId = claim.run.run_id;
  let outcome: Claimed<T>;
  try {
    outcome = { status: "success", result: await work(), run_id: runId };
  } catch (error) {
    outcome = { status: "error", error, run_id: runId };
  }
  const record = outcome.status === "success" ? { status: "success" as const, result: outcome.result } : { status: "error" as const, error: describeError(outcome.error) };
  try {
    await deps.ledger.finish(runId, record, deps.clock());
  } catch (err) {
    deps.log.error("scheduler: could not record the outcome", { job, scheduled_at: minute, run_id: runId, outcome: outcome.status, error: describeError(err) });
  }
  deps.onRun?.(job, outcome.status, deps.clock());
  return outcome;
}

export interface ClaimableJob {
  id: string;
  schedule: string;
  tool: string;
  action: string;
  /** How long after its fire a job may still be started (registry catch_up); at least LATE_TOLERANCE_MS. */
  catchUpMs: number;
  /** Set when the registry suspends the job: its reason, or null when none was given. */
  suspended?: string | null;
}

/** The 409 for a claim of a suspended job: the same words for the HTTP claim path and its tests. `registry`: the file as configured. */
export function suspendedError(job: string, reason: string | null | undefined, registry = "ops/task_registry.yml"): AppError {
  return new AppError(
    "conflict",
    `job: ${job} is suspended in ${registry}${reason ? ` (${reason})` : ""}; nothing was claimed or run. Resume it by removing suspend, or run it once by hand with the runner's --even-if-suspended.`,
    { details: { suspended: true, job, ...(reason ? { suspend_reason: reason } : {}) } },
  );
}

/**
 * The 503 for a run of a deciding job (needs_full_view) not claimed while the auto store serves from its
 * fallback: the same words for the HTTP claim path and run-now. `what` names the run, `next` the way on.
 */
export function notClaimedWhileDegraded(tool: string, action: string, what: string, next: string): AppError {
  return new AppError("degraded", `store degraded: Postgres is unavailable, and ${tool}.${action} decides from the whole store; ${what} was not claimed and nothing ran. ${next}`, {
    details: { claim_failed: true },
  });
}

/** A caller's clock may run this far ahead of ours. */
const FUTURE_SKEW_MS = 60_000;

/**
 * The scheduled minute a caller asking for `job` at `at` may claim, checked against the job's own
 * schedule and catch-up window: the fire `at` is late for, or `at` itself when it is no fire but recent
 * (an off-schedule runner); an unknown job, a minute in the future, an old minute that is no fire of
 * the job, or a fire older than its window is `invalid_input` (400) and nothing is recorded. A suspended
 * job is `conflict` (409) unless the operator asked for it (`evenIfSuspended`, the runner's override).
 */
export function claimableFire(jobs: readonly ClaimableJob[], jobId: string, at: Date, now: Date, evenIfSuspended = false, registry?: string): { job: ClaimableJob; minute: string } {
  const job = jobs.find((j) => j.id === jobId);
  if (!job) {
    throw new AppError("invalid_input", `job: unknown job ${JSON.stringify(jobId)}; known jobs: ${jobs.map((j) => j.id).join(", ")}.`, { details: [`job: expected one of ${jobs.map((j) => j.id).join("|")}`] });
  }
  if (job.suspended !== undefined && !evenIfSuspended) throw suspendedError(job.id, job.suspended, registry);
  if (Number.isNaN(at.getTime()) || at.getTime() > now.getTime() + FUTURE_SKEW_MS) {
    throw new AppError("invalid_input", `scheduled_at: ${JSON.stringify(Number.isNaN(at.getTime()) ? String(at) : at.toISOString())} is in the future (now ${now.toISOString()}); a run can only be claimed for a fire that has come.`, {
      details: ["scheduled_at: must not be in the future"],
    });
  }
  const fire = fireFor(job.schedule, at);
  if (!fire) {
    // Off-schedule (a cron in local time, a manual --job run): the runner claims its own current minute
    // (docs/scheduler.md, Runner), so a recent minute is claimable as itself. It grants nothing a plain
    // call without `job` could not do, and two runners for that minute still run once.
    if (now.getTime() - at.getTime() <= LATE_TOLERANCE_MS) return { job, minute: scheduledMinute(at) };
    throw new AppError("invalid_input", `scheduled_at: ${at.toISOString()} is not a scheduled fire of ${job.id} (schedule "${job.schedule}" UTC, up to ${LATE_TOLERANCE_MS / 60_000} min late); send the fire's minute.`, {
      details: [`scheduled_at: expected a fire of "${job.schedule}" (UTC)`],
    });
  }
  const window = Math.max(job.catchUpMs, LATE_TOLERANCE_MS);
  if (now.getTime() - fire.getTime() > window) {
    throw new AppError("invalid_input", `scheduled_at: the fire ${fire.toISOString()} of ${job.id} is older than its catch-up window (${Math.round(window / 60_000)} min); it can no longer be claimed.`, {
      details: ["scheduled_at: outside the job's catch-up window"],
    });
  }
  return { job, minute: scheduledMinute(fire) };
}
