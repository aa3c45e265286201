/**
 * The governance runner (runbook 9): POSTs one tool call to the router's /v1/tools/execute as the
 * scheduler agent and prints the JSON result. Used by ops/cron/jobs.cron.
 *
 *   npx bun run ops/scripts/run_governance_job.ts --tool T --action A --params-json '{...}' [--job ID [--even-if-suspended]] [--dry-run]
 */
import process from "node:process";
import { AppError } from "../../lib/core/app-error.ts";
import { type ParsedCli, printJson, runCli } from "../../lib/core/cli.ts";

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
  RUNNER_CLAIM_RETRY_SECONDS  default 120: with --job, how long to ask again (same claim) after the
                          server could not claim the minute (HTTP 503 with claim_failed; 0 = never)
  BACKLOG_TASK_REGISTRY_FILE  default ops/task_registry.yml (schedules for --job)
  LOG_LEVEL, LOG_FORMAT   info, json (logs go to stderr)
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

async function main({ values }: ParsedCli<typeof spec.flags>): Promise<number> {
  // Imported here, not at the top: --help is answered before the config, valibot, YAML and logger load.
  const [{ log, logToStderr }, { loadRunnerConfig }] = await Promise.all([import("../../lib/core/log.ts"), import("../../lib/scheduler/runner-config.ts")]);
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
  const started = Date.now();
  let { res, text, json } = await post(url, cfg);
  // The server could not claim the minute (Postgres away, or the claim's answer lost with the
  // connection): nothing ran. Asking again with the same claim_token is recognised as the same claim,
  // so the minute still runs once; only the runner's claim errors are retried, never a tool's own.
  let attempts = 1;
  for (let delay = 2000; res.status === 503 && claimFailed(json) && cfg.body.claim_token !== undefined; attempts++, delay = Math.min(delay * 2, 15_000)) {
    if (Date.now() - started + delay > cfg.claimRetryMs) break;
    log.warn("run_governance_job: claim failed, asking again with the same claim", { job: cfg.body.job, scheduled_at: cfg.body.scheduled_at, attempt: attempts, retry_in_ms: delay, error: errorOf(json, text) });
    await new Promise((r) => setTimeout(r, delay));
    // A router that refuses the connection (restarting) got nothing: ask again, as after the 503.
    const next = await post(url, cfg).catch((err: unknown) => {
      if (!(err instanceof AppError && (err.details as { refused?: boolean } | undefined)?.refused)) throw err;
      log.warn("run_governance_job: router refused the connection, asking again", { job: cfg.body.job, error: err.message });
      return null;
    });
    if (next) ({ res, text, json } = next);
  }
  if (res.status === 503 && claimFailed(json)) {
    const waited = Math.round((Date.now() - started) / 1000);
    throw new AppError("unavailable", `${errorOf(json, text)} (HTTP 503 from /v1/tools/execute; asked ${attempts} time${attempts === 1 ? "" : "s"} over ${waited} s, RUNNER_CLAIM_RETRY_SECONDS=${cfg.claimRetryMs / 1000})`);
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
    const msg = errorOf(json, text);
    // The tool's own words first: operators grep cron logs for the runbook's `error: No platform digest found`.
    throw new AppError("internal", `${msg} (HTTP ${res.status} from /v1/tools/execute)`);
  }
  printJson(json);
  return 0;
}

type RunnerConfig = ReturnType<typeof import("../../lib/scheduler/runner-config.ts").loadRunnerConfig>;

async function post(url: string, cfg: RunnerConfig): Promise<{ res: Response; text: string; json: unknown }> {
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
    // Refused: nothing was sent (Bun sets code; Deno only says so in the message).
    const refused = (err as { code?: unknown }).code === "ECONNREFUSED" || /ECONNREFUSED|connection refused/i.test(String((err as Error).message));
    throw new AppError("unavailable", `Cannot reach ${cfg.routerUrl} (${why}). Is the router running? Check ROUTER_URL.`, { details: { refused } });
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  return { res, text, json };
}

/** The server's mark on a 503 from the claim itself (lib/scheduler/run-claimed.ts): nothing ran. */
const claimFailed = (json: unknown) => Boolean(json && typeof json === "object" && (json as { claim_failed?: unknown }).claim_failed === true);

const errorOf = (json: unknown, text: string) => (json && typeof json === "object" && "error" in json ? String((json as { error: unknown }).error) : text.slice(0, 500));

runCli(spec, main);
