/**
 * The governance runner (runbook 9): POSTs one tool call to the router's /v1/tools/execute as the
 * scheduler agent and prints the JSON result. Used by ops/cron/jobs.cron.
 *
 *   npx bun run ops/scripts/run_governance_job.ts --tool T --action A --params-json '{...}' [--job ID [--even-if-suspended]] [--dry-run]
 */
import { readFileSync } from "node:fs";
import process from "node:process";
import * as v from "valibot";
import { type CliValues, type ParsedCli, printJson, runCli } from "../../lib/core/cli.ts";
import { readVar } from "../../lib/config/index.ts";
import { AppError, describeError, parseOrThrow } from "../../lib/core/errors.ts";
import { log, logToStderr } from "../../lib/core/log.ts";
import { envelopeKeysIn, scheduledMinute } from "../../lib/scheduler/ledger.ts";
import { DEFAULT_REGISTRY_FILE, loadRegistry } from "../../lib/scheduler/registry.ts";
import { fireFor, latestFire } from "../../lib/scheduler/schedule.ts";

const spec = {
  name: "run_governance_job",
  usage: `Usage: npx bun run ops/scripts/run_governance_job.ts --tool TOOL --action ACTION [--params-json '{...}']
                                                  [--job ID [--scheduled-at ISO] [--even-if-suspended]] [--dry-run]

POSTs {"tool", "action", ...params} to $ROUTER_URL/v1/tools/execute with the scheduler's API key and
prints the JSON result. With --job, the call carries the job id and its scheduled minute (default: the
job's latest fire in the task registry, else the current minute), so the server runs it at most once
per scheduled minute even when the in-process scheduler or another runner fires too (the loser prints
{"skipped": "already ran"} and exits 0). For a manual extra run, leave out --job.

A job the task registry suspends (suspend: true) is not run: the runner sends nothing, logs
"job suspended" with the reason, prints {"skipped": "suspended"} and exits 0, so cron mails no error
while it is suspended. --even-if-suspended runs it anyway, once, by hand: the server then claims the
fire like any other (so it still runs at most once per scheduled minute).

Env:
  ROUTER_URL              default http://localhost:8000
  SCHEDULER_API_KEY       the scheduler agent's key, or
  SCHEDULER_API_KEY_FILE  a file holding it (what the cron file uses)
  RUNNER_TIMEOUT_SECONDS  default 300
  BACKLOG_TASK_REGISTRY_FILE  default ops/task_registry.yml (schedules for --job)
Exit: 0 on success (also "already ran" and "suspended"), 1 on any failure with the operator message.`,
  flags: {
    tool: { type: "string" },
    action: { type: "string" },
    "params-json": { type: "string" },
    job: { type: "string" },
    "scheduled-at": { type: "string" },
    "dry-run": { type: "boolean" },
    "even-if-suspended": { type: "boolean" },
  },
} as const;

const Name = v.pipe(v.string(), v.regex(/^[a-z][a-z0-9_]*$/, "must be a lowercase name like backlog_tool"));
const Flags = v.object({
  tool: Name,
  action: Name,
  job: v.optional(v.pipe(v.string(), v.regex(/^[a-z][a-z0-9_]{0,63}$/, "must be a job id from ops/task_registry.yml"))),
  "scheduled-at": v.optional(v.pipe(v.string(), v.check((s) => !Number.isNaN(Date.parse(s)), "must be an ISO timestamp"))),
});

type Env = Record<string, string | undefined>;

/**
 * The minute a --job run claims: the scheduled fire it is late for (task registry schedule), so a runner
 * that cron starts late (a loaded host) still claims the same minute as the in-process scheduler.
 * Otherwise the current minute, with a warning: no registry, an unknown job, or a start far from any
 * fire (cron not running in UTC).
 */
function jobMinute(job: string, env: Env, now: Date): { minute: string; warning?: string; suspended?: { reason: string | null } } {
  const file = readVar("BACKLOG_TASK_REGISTRY_FILE", env) ?? DEFAULT_REGISTRY_FILE; // relative: from the repository root
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
export function loadRunnerConfig(values: CliValues<typeof spec.flags>, env: Env, now = new Date()) {
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
  }
  const skipSuspended = suspended !== undefined && !values["even-if-suspended"];
  return { routerUrl, key, timeoutMs: timeout * 1000, body, warnings, suspended: skipSuspended ? suspended : undefined };
}

async function main({ values }: ParsedCli<typeof spec.flags>): Promise<number> {
  logToStderr();
  const cfg = loadRunnerConfig(values, process.env);
  if (cfg.suspended) {
    // exit 0: cron would otherwise mail an error on every fire while the job is suspended
    log.info("job suspended", { job: cfg.body.job, reason: cfg.suspended.reason, resume: "remove suspend from the task registry; run once by hand with --even-if-suspended" });
    printJson({ skipped: "suspended", job: cfg.body.job, ...(cfg.suspended.reason ? { suspend_reason: cfg.suspended.reason } : {}) });
    return 0;
  }
  for (const w of cfg.warnings) log.warn("run_governance_job: scheduled minute", { warning: w });
  const url = `${cfg.routerUrl}/v1/tools/execute`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...(cfg.key ? { authorization: `Bearer ${cfg.key}` } : {}) },
      body: JSON.stringify(cfg.body),
      signal: AbortSignal.timeout(cfg.timeoutMs),
    });
  } catch (err) {
    const why = (err as Error).name === "TimeoutError" ? `no answer within ${cfg.timeoutMs / 1000}s (RUNNER_TIMEOUT_SECONDS)` : (err as Error).message;
    throw new AppError("unavailable", `Cannot reach ${cfg.routerUrl} (${why}). Is the router running? Check ROUTER_URL.`);
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  if (res.status === 401) {
    throw new AppError("unauthorized", `HTTP 401 from /v1/tools/execute: ${cfg.key ? "the router rejected SCHEDULER_API_KEY" : "SCHEDULER_API_KEY is not set"}. Set SCHEDULER_API_KEY (or SCHEDULER_API_KEY_FILE) to the scheduler agent's key.`);
  }
  if (res.status === 409 && json && typeof json === "object" && (json as { suspended?: unknown }).suspended === true) {
    // The server's registry suspends the job (this host's may be newer: restart the server to resume there).
    const j = json as { error?: string; suspend_reason?: string };
    log.info("job suspended", { job: cfg.body.job, reason: j.suspend_reason ?? null, by: "server", error: j.error });
    printJson({ skipped: "suspended", job: cfg.body.job, ...(j.suspend_reason ? { suspend_reason: j.suspend_reason } : {}) });
    return 0;
  }
  if (!res.ok) {
    const msg = json && typeof json === "object" && "error" in json ? String((json as { error: unknown }).error) : text.slice(0, 500);
    // The tool's own words first: operators grep cron logs for the runbook's `error: No platform digest found`.
    throw new AppError("internal", `${msg} (HTTP ${res.status} from /v1/tools/execute)`);
  }
  printJson(json);
  return 0;
}

runCli(spec, main);
