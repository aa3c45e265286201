/**
 * The governance runner's settings (ops/scripts/run_governance_job.ts): flags, env and the task
 * registry's schedule of the job, validated before any request is sent.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import * as v from "valibot";
import { type Env, readVar } from "../config/index.ts";
import { AppError, describeError, parseOrThrow } from "../core/errors.ts";
import { envelopeKeysIn, scheduledMinute } from "./ledger.ts";
import { loadRegistry, registryFile } from "./registry.ts";
import { fireFor, latestFire } from "./schedule.ts";

/** The runner's flags as parsed (the script's spec declares them). */
export interface RunnerFlags {
  tool?: string;
  action?: string;
  "params-json"?: string;
  job?: string;
  "scheduled-at"?: string;
  "dry-run"?: boolean;
  "even-if-suspended"?: boolean;
}

const Name = v.pipe(v.string(), v.regex(/^[a-z][a-z0-9_]*$/, "must be a lowercase name like backlog_tool"));
const Flags = v.object({
  tool: Name,
  action: Name,
  job: v.optional(v.pipe(v.string(), v.regex(/^[a-z][a-z0-9_]{0,63}$/, "must be a job id from ops/task_registry.yml"))),
  "scheduled-at": v.optional(v.pipe(v.string(), v.check((s) => !Number.isNaN(Date.parse(s)), "must be an ISO timestamp"))),
});

/**
 * The minute a --job run claims: the scheduled fire it is late for (task registry schedule), so a runner
 * that cron starts late (a loaded host) still claims the same minute as the in-process scheduler.
 * Otherwise the current minute, with a warning: no registry, an unknown job, or a start far from any
 * fire (cron not running in UTC).
 */
function jobMinute(job: string, env: Env, now: Date): { minute: string; warning?: string; suspended?: { reason: string | null } } {
  const file = registryFile(env); // relative: from the repository root
  try {
    const spec = loadRegistry(file).find((j) => j.id === job);
    if (!spec) return { minute: scheduledMinute(now), warning: `job ${job} is not in ${file}: claiming the current minute` };
    // Read on every run: suspending takes effect at the next fire, even with an old /etc/cron.d installed.
    const suspended = spec.suspend ? { suspended: { reason: spec.suspend_reason ?? null } } : {};
    const fire = fireFor(spec.schedule, now);
    if (fire) return { minute: scheduledMinute(fire), ...suspended };
    return {
      ...suspended,
      minute: scheduledMinute(now),
      warning: `started off its UTC schedule "${spec.schedule}" (latest fire ${latestFire(spec.schedule, now)?.toISOString()}): claiming the current minute. Is cron running in UTC? Debian/Ubuntu cron ignores CRON_TZ; set the host timezone to UTC`,
    };
  } catch (err) {
    return { minute: scheduledMinute(now), warning: `${describeError(err)}; claiming the current minute (set BACKLOG_TASK_REGISTRY_FILE or pass --scheduled-at)` };
  }
}

/** Every setting in one place: flags → env → default. Invalid input fails here, before any request. */
export function loadRunnerConfig(values: RunnerFlags, env: Env, now = new Date()) {
  const flags = parseOrThrow(Flags, values, "Invalid arguments");
  let params: Record<string, unknown> = {};
  const raw = values["params-json"];
  if (raw !== undefined) {
    try {
      params = JSON.parse(raw);
    } catch (err) {
      throw new AppError("invalid_input", `--params-json is not valid JSON (${(err as Error).message}); nothing was sent. Example: --params-json '{"env":"prod"}'`);
    }
    if (!params || typeof params !== "object" || Array.isArray(params)) {
      throw new AppError("invalid_input", `--params-json must be a JSON object like '{"env":"prod"}'; nothing was sent.`);
    }
    const clash = envelopeKeysIn(params);
    if (clash.length) {
      throw new AppError("invalid_input", `--params-json must not set ${clash.join(", ")}: use --tool, --action, --job and --scheduled-at for those; nothing was sent.`);
    }
  }
  if (flags["scheduled-at"] !== undefined && !flags.job) {
    throw new AppError("invalid_input", "--scheduled-at needs --job (the minute is claimed per job); nothing was sent.");
  }
  if (values["even-if-suspended"] && !flags.job) {
    throw new AppError("invalid_input", "--even-if-suspended needs --job (without --job nothing is claimed, and a suspended job is not checked); nothing was sent.");
  }
  const routerUrl = readVar("ROUTER_URL", env)!.replace(/\/+$/, "");
  let key = readVar("SCHEDULER_API_KEY", env) ?? "";
  const keyFile = readVar("SCHEDULER_API_KEY_FILE", env);
  if (!key && keyFile) {
    try {
      key = readFileSync(keyFile, "utf8").trim();
    } catch (err) {
      throw new AppError("config", `Cannot read SCHEDULER_API_KEY_FILE ${keyFile}: ${(err as Error).message}`);
    }
  }
  const timeout = readVar("RUNNER_TIMEOUT_SECONDS", env)!;
  const claimRetry = readVar("RUNNER_CLAIM_RETRY_SECONDS", env)!;
  const body: Record<string, unknown> = { tool: flags.tool, action: flags.action, ...params };
  if (values["dry-run"]) body.dry_run = true;
  const warnings: string[] = [];
  let suspended: { reason: string | null } | undefined;
  if (flags.job) {
    body.job = flags.job;
    const found = jobMinute(flags.job, env, now);
    suspended = found.suspended;
    if (flags["scheduled-at"]) body.scheduled_at = scheduledMinute(new Date(flags["scheduled-at"]));
    else {
      body.scheduled_at = found.minute;
      if (found.warning) warnings.push(found.warning);
    }
    if (values["even-if-suspended"]) body.even_if_suspended = true;
    // Names this run's claim: asking again with it after a failed claim (a lost answer) is recognised
    // as the same claim, so the minute still runs exactly once. A dry run claims nothing.
    if (!values["dry-run"]) body.claim_token = randomUUID();
  }
  const skipSuspended = suspended !== undefined && !values["even-if-suspended"];
  return { routerUrl, key, timeoutMs: timeout * 1000, claimRetryMs: claimRetry * 1000, body, warnings, suspended: skipSuspended ? suspended : undefined };
}
