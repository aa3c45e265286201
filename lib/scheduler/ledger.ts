/**
 * The run ledger: one record per (job, scheduled minute). `claim` is the exactly-once gate: only one
 * caller gets `claimed: true` for a given job and minute, across processes and replicas.
 * Implementations: ledger-postgres.ts (unique insert), ledger-jsonl.ts (file lock), ledger-open.ts
 * (memory, and the choice by store backend).
 */
import { createHash, randomUUID } from "node:crypto";
import { AppError } from "../core/errors.ts";

export interface RunRecord {
  run_id: string;
  job: string;
  scheduled_at: string;
  source: string;
  started_at: string;
  ended_at: string | null;
  status: "running" | "success" | "error";
  result?: unknown;
  error?: string;
}

export type ClaimResult = { claimed: true; run: RunRecord } | { claimed: false; existing: RunRecord };
export type Outcome = { status: "success" | "error"; result?: unknown; error?: string };

export interface RunLedger {
  readonly name: string;
  /**
   * `runId`: a run id the caller holds (runIdFor: the cron runner's claim_token), so a caller that asks
   * again after a failed claim asks with the same run and is recognised if its first claim was recorded.
   * Without it the ledger makes one.
   */
  claim(job: string, scheduledAt: string, source: string, now: Date, runId?: string): Promise<ClaimResult>;
  finish(runId: string, outcome: Outcome, now: Date): Promise<RunRecord>;
  /** The latest run (by scheduled minute) of each job. */
  lastRuns(): Promise<Map<string, RunRecord>>;
  /**
   * The job's runs still `running`, stuck or not. Not only the latest: a manual run's slot is its
   * instant, so a fire of the same minute claimed after it can be running behind it (run-now.ts).
   */
  runningRuns(job: string): Promise<RunRecord[]>;
  /** Per job, over the runs the ledger keeps: counts by status, stuck runs at `now`, the latest run and success (for /metrics). */
  stats(now: Date): Promise<Map<string, JobStats>>;
  close(): Promise<void>;
}

export interface JobStats {
  job: string;
  runs: Record<RunRecord["status"], number>;
  /** 1 when the latest run is still `running` more than STUCK_AFTER_MS after it started (nobody will finish it), else 0. */
  stuck: 0 | 1;
  /** Scheduled minute of the latest run, whatever its outcome. */
  last_run_at: string | null;
  /** When the latest successful run ended. */
  last_success_at: string | null;
  /** 1 when the latest run that ran (not one refused before it started: NOT_RUN) ended in error, else 0. */
  last_failed: 0 | 1;
}

/**
 * The error text of a claim recorded on one side and refused by the other before anything ran (the auto
 * ledger: a JSONL claim Postgres refused). Such a record is no run: it never counts as the job failing,
 * and the replay does not push it to Postgres.
 */
export const NOT_RUN = "not run: ";
export const neverRan = (r: Pick<RunRecord, "status" | "error">) => r.status === "error" && (r.error ?? "").startsWith(NOT_RUN);

/** The same numbers the Postgres ledger computes in SQL. */
export function jobStats(runs: Iterable<RunRecord>, now: Date): Map<string, JobStats> {
  const out = new Map<string, JobStats>();
  const lastRan = new Map<string, string>();
  for (const r of runs) {
    let s = out.get(r.job);
    if (!s) out.set(r.job, (s = { job: r.job, runs: { running: 0, success: 0, error: 0 }, stuck: 0, last_run_at: null, last_success_at: null, last_failed: 0 }));
    s.runs[r.status]++;
    if (s.last_run_at === null || r.scheduled_at > s.last_run_at) {
      s.last_run_at = r.scheduled_at;
      s.stuck = isStuck(r, now) ? 1 : 0;
    }
    if (!neverRan(r) && r.scheduled_at > (lastRan.get(r.job) ?? "")) {
      lastRan.set(r.job, r.scheduled_at);
      s.last_failed = r.status === "error" ? 1 : 0;
    }
    if (r.status === "success" && r.ended_at && (s.last_success_at === null || r.ended_at > s.last_success_at)) s.last_success_at = r.ended_at;
  }
  return out;
}

/**
 * Top-level keys of a POST /v1/tools/execute body that are not action params. A job's params are spread
 * next to them (runbook format `{"tool", "action", "env": "prod"}`), so params may not use these names:
 * `{"tool": …}` in --params-json would silently call another tool, `{"job": …}` would forge a claim.
 */
export const ENVELOPE_KEYS = ["tool", "action", "params", "job", "scheduled_at", "even_if_suspended", "claim_token"] as const;

export function envelopeKeysIn(params: Record<string, unknown>): string[] {
  return ENVELOPE_KEYS.filter((k) => Object.hasOwn(params, k));
}

/**
 * A claim whose answer was lost with the connection, and Postgres did not answer again in time: the run
 * may or may not be recorded. Nothing ran. A 503 whose message says what the operator can do.
 */
export class ClaimOutcomeUnknown extends AppError {
  /** `callerHeld`: the run id is the caller's (claim_token): the caller, not this process, asks again with it. */
  constructor(readonly run: RunRecord, waitedMs: number, cause: unknown, callerHeld = false) {
    super(
      "unavailable",
      `Cannot claim ${run.job} for ${run.scheduled_at}: the connection to Postgres died before the answer to the claim (run ${run.run_id}) arrived, ` +
        `and Postgres has not answered again (asked for ${Math.round(waitedMs / 1000)} s), so whether the claim was recorded is unknown. Nothing ran. ` +
        (callerHeld
          ? `Asking again with the same claim_token runs the job if Postgres recorded it (the runner does, for RUNNER_CLAIM_RETRY_SECONDS); `
          : `The next claim of this minute by this process asks again with the same run id and runs the job if Postgres recorded it; `) +
        `if nobody asks again and scheduler_runs shows ${run.run_id} as running, nobody will run it: run the job by hand (the runner without --job).`,
      { cause, details: { claim_failed: true, claim_outcome_unknown: true, run_id: run.run_id } },
    );
  }
}

/**
 * A run still `running` this long after it started has no owner left, as far as anyone can tell: the
 * runner gives up after RUNNER_TIMEOUT_SECONDS (300 s), shutdown waits 30 s, the jobs take seconds. Its
 * process died mid-run, or gave up on a lost claim answer (ClaimOutcomeUnknown); nobody runs that minute.
 */
export const STUCK_AFTER_MS = 30 * 60_000;

/** The one stuck rule (the Postgres ledger states the same in SQL: started_at < now - STUCK_AFTER_MS). */
export const isStuck = (run: Pick<RunRecord, "status" | "started_at">, now: Date) =>
  run.status === "running" && now.getTime() - new Date(run.started_at).getTime() > STUCK_AFTER_MS;

/** Why `run` counts as stuck at `now`, or null. For GET /v1/scheduler/jobs. */
export function stuckNote(run: RunRecord, now: Date): string | null {
  if (!isStuck(run, now)) return null;
  const ms = now.getTime() - new Date(run.started_at).getTime();
  return (
    `run ${run.run_id} has been running for ${Math.round(ms / 60_000)} min (more than ${STUCK_AFTER_MS / 60_000}): its process probably died mid-run or gave up on a lost claim answer, ` +
    `and nobody will run this minute. Check the logs of ${run.source} for ${run.job}; run the job by hand if it did not finish (the runner without --job).`
  );
}

/**
 * A run started by hand ("run now", lib/scheduler/run-now.ts): its ledger source is `manual:<actor>`, like
 * `http:<agent>` for the runner's calls, so the actor is kept without a column of its own.
 */
export const MANUAL = "manual";
export const manualSource = (actor: string) => `${MANUAL}:${actor}`;
export const isManual = (source: string) => source === MANUAL || source.startsWith(`${MANUAL}:`);
/** `{source: "manual", actor}` for a manual run's source, else the source as it is. */
export function sourceView(source: string): { source: string; actor?: string } {
  return isManual(source) ? { source: MANUAL, actor: source.slice(MANUAL.length + 1) || undefined } : { source };
}

/**
 * The slot a run takes in the ledger's unique (job, scheduled_at) key. A scheduled run: its minute (the
 * unit of exactly-once). A manual run: the instant it was asked for, to the millisecond, and never a
 * whole minute (nudged 1 ms off it), so it never takes a fire's slot nor finds one taken: a manual run at
 * 03:40 does not make the 03:40 fire skip as "already ran", nor the other way round.
 */
export function runSlot(scheduledAt: string, source: string): string {
  const d = new Date(scheduledAt);
  if (!isManual(source)) return scheduledMinute(d);
  if (d.getUTCSeconds() === 0 && d.getUTCMilliseconds() === 0) d.setUTCMilliseconds(1);
  return d.toISOString();
}

/**
 * What refuses a manual claim: a run of the job still running and not stuck at `now` (another run-now on
 * any replica, a fire, the runner). Checked inside the claim (under the JSONL lock, in a Postgres
 * transaction holding the job's advisory lock), so two run-nows at once start one run. A fire's claim is
 * never refused by it: the cron minute keeps its exactly-once slot.
 */
export function busyRun(runs: Iterable<RunRecord>, job: string, now: Date): RunRecord | undefined {
  for (const r of runs) if (r.job === job && r.status === "running" && !isStuck(r, now)) return r;
  return undefined;
}

/** Floors to the minute, ISO: the unit of exactly-once. */
export function scheduledMinute(d: Date): string {
  const t = new Date(d.getTime());
  t.setUTCSeconds(0, 0);
  return t.toISOString();
}

export function newRun(job: string, scheduledAt: string, source: string, now: Date, runId?: string): RunRecord {
  return { run_id: runId ?? `run_${randomUUID()}`, job, scheduled_at: runSlot(scheduledAt, source), source, started_at: now.toISOString(), ended_at: null, status: "running" };
}

/** What a caller's claim_token may look like: random, long enough not to be guessed. */
export const CLAIM_TOKEN = /^[A-Za-z0-9_-]{16,128}$/;

/**
 * The run id a caller's claim_token stands for in (job, minute). A hash, so the run ids the server shows
 * (GET /v1/scheduler/jobs, error messages) never let anyone claim as that caller: only the holder of the
 * token is recognised as the claimer of its run.
 */
export function runIdFor(token: string, job: string, minute: string): string {
  const h = createHash("sha256").update(`${token}\n${job}\n${minute}`).digest("hex");
  return `run_${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** Results can be large (generation lists items); the ledger keeps a bounded summary. */
export function summarize(result: unknown): unknown {
  const text = JSON.stringify(result ?? null);
  return text.length <= 4000 ? result : { truncated: true, preview: text.slice(0, 4000) };
}

/** The record after its run ended. */
export function finished(prev: RunRecord, outcome: Outcome, now: Date): RunRecord {
  return { ...prev, status: outcome.status, ended_at: now.toISOString(), result: summarize(outcome.result), error: outcome.error };
}

/** The latest run (by scheduled minute) of each job. */
export function latestPerJob(runs: Iterable<RunRecord>): Map<string, RunRecord> {
  const last = new Map<string, RunRecord>();
  for (const r of runs) {
    const cur = last.get(r.job);
    if (!cur || r.scheduled_at > cur.scheduled_at) last.set(r.job, r);
  }
  return last;
}
