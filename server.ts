/**
 * The optional HTTP server: dashboard, tool-execute API, metrics, and (SCHEDULER_ENABLED=true) the
 * in-process scheduler. Wires real dependencies into lib/http/app.ts and serves it.
 *
 *   npx bun run server.ts            # PORT (8000), HOST (127.0.0.1); see docs/http.md
 *
 * Shutdown on SIGTERM/SIGINT: stop accepting at once, give in-flight requests SHUTDOWN_DRAIN_MS, then
 * close every connection left (idle, unread bodies, slow uploads), stop the scheduler, close the store;
 * the process is gone by SHUTDOWN_HARD_EXIT_MS whatever hangs. ops/k8s terminationGracePeriodSeconds
 * and ops/systemd TimeoutStopSec (15 s) leave room above that.
 */
import process from "node:process";
import { loadAccess, type AccessControl, type Identity } from "./lib/access/config.ts";
import { loadConfig, processEnv, readVar } from "./lib/config/index.ts";
import { AppError, describeError } from "./lib/core/errors.ts";
import { redactText } from "./lib/core/redact.ts";
import { createApp } from "./lib/http/app.ts";
import { withSafeUrl } from "./lib/http/safe-url.ts";
import { attentionSource } from "./lib/alerting/source.ts";
import { quarantineOf, takeSnapshot } from "./lib/alerting/snapshot.ts";
import { createMetrics } from "./lib/http/metrics.ts";
import { resolveUiConfig } from "./lib/http/ui/config.ts";
import { openRevokedSessions } from "./lib/http/ui/revoked-sessions.ts";
import { log as defaultLog, type Logger } from "./lib/core/log.ts";
import { evaluateAlerts } from "./lib/generation/policy.ts";
import { serve } from "./lib/core/runtime.ts";
import { openStore, servingBackend } from "./lib/store/index.ts";
import type { BacklogStore } from "./lib/store/types.ts";
import { resolveAction } from "./lib/tools/dispatch.ts";
import { createToolContext, loadToolRegistry, loadToolConfig } from "./lib/tools/index.ts";
import { readFileSync } from "node:fs";
import { DEFAULT_CRON_FILE } from "./lib/scheduler/checks.ts";
import { parseCron } from "./lib/scheduler/cron-file.ts";
import { openRunLedger } from "./lib/scheduler/ledger-open.ts";
import type { RunLedger } from "./lib/scheduler/ledger.ts";
import { registryFile } from "./lib/scheduler/registry.ts";
import { watchRegistry, type RegistryView } from "./lib/scheduler/registry-watch.ts";
import { createScheduler } from "./lib/scheduler/scheduler.ts";

type Env = Record<string, string | undefined>;

/** How long in-flight requests may finish after SIGTERM before their connections are closed. */
export const SHUTDOWN_DRAIN_MS = 5_000;
/** The process exits by then even if the scheduler or the store hang on close (below the 15 s of k8s/systemd). */
export const SHUTDOWN_HARD_EXIT_MS = 9_000;

export interface ServerConfig {
  port: number;
  host: string;
  bodyLimitBytes: number;
  schedulerEnabled: boolean;
  /** The cron.d file the in-process scheduler mirrors (SCHEDULER_CRON_FILE, default ops/cron/jobs.cron). */
  cronFile: string;
}

/** Every server setting in one place: option → env → default (tool paths and policy: lib/tools/context.ts). */
export function resolveServerConfig(options: Partial<Pick<ServerConfig, "port" | "host" | "schedulerEnabled">> = {}, env: Env = processEnv()): ServerConfig {
  const port = options.port ?? readVar("PORT", env)!;
  const host = options.host ?? readVar("HOST", env)!;
  const bodyKb = readVar("BACKLOG_MAX_BODY_KB", env)!;
  const sched = options.schedulerEnabled ?? readVar("SCHEDULER_ENABLED", env)!;
  return {
    port,
    host,
    bodyLimitBytes: Math.round(bodyKb * 1024),
    schedulerEnabled: sched,
    cronFile: readVar("SCHEDULER_CRON_FILE", env) ?? DEFAULT_CRON_FILE, // relative: from the repository root
  };
}

function readCronFile(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    throw new AppError("config", `Cannot read the cron file ${file} (SCHEDULER_CRON_FILE, default ops/cron/jobs.cron): ${(err as Error).message}. Render it with npx bun run ops/scripts/render_cron.ts or point SCHEDULER_CRON_FILE at it.`, { cause: err });
  }
}

export interface StartOptions {
  port?: number;
  host?: string;
  schedulerEnabled?: boolean;
  /** Use this store instead of opening one from the environment (tests, demo). */
  store?: BacklogStore;
  access?: AccessControl;
  /** Use this run ledger instead of the store's (tests: a Postgres ledger with a short resolve window). */
  ledger?: RunLedger;
  /** Demo mode: anyone on loopback may read the dashboard without a key. */
  demo?: boolean;
  log?: Logger;
  clock?: () => Date;
  env?: Env;
}

export interface RunningServer {
  url: string;
  port: number;
  store: BacklogStore;
  stop(): Promise<void>;
}

export async function startServer(options: StartOptions = {}): Promise<RunningServer> {
  const env = options.env ?? processEnv();
  const log = options.log ?? defaultLog;
  const clock = options.clock ?? (() => new Date());
  loadConfig(env, ["logging"]); // LOG_LEVEL=verbose, LOG_FORMAT=xml: fail at start, named
  const cfg = resolveServerConfig({ port: options.port, host: options.host, schedulerEnabled: options.schedulerEnabled }, env);
  if (options.demo && cfg.host !== "127.0.0.1" && cfg.host !== "localhost" && cfg.host !== "::1") {
    throw new AppError("config", `Demo mode opens the dashboard without a key, so it only listens on loopback; HOST is ${cfg.host}.`);
  }
  // Fail on a bad policy or access file before opening anything.
  const tools = loadToolConfig(env);
  const policy = tools.policy;
  let access = options.access ?? loadAccess(undefined, env);
  const uiConfig = resolveUiConfig(env, log);
  if (options.demo) access = { ...access, anonymous: { ...access.anonymous, entitlements: ["tools.backlog.read", "tools.risk.read", "tools.pressure.read"] } };

  const cronJobs = parseCron(readCronFile(cfg.cronFile), cfg.cronFile).jobs;
  const registry = await loadToolRegistry({ policy });
  if (cfg.schedulerEnabled) {
    // The scheduler would fail on every fire of a job naming no tool: refuse to start instead.
    for (const job of cronJobs) {
      try {
        resolveAction(registry, job);
      } catch (err) {
        throw new AppError("config", `${cfg.cronFile}:${job.line}: job ${job.id}: ${(err as Error).message} (SCHEDULER_ENABLED=true runs this file).`, { cause: err });
      }
    }
  }
  // Suspension and catch-up come from the registry (the one source), for the scheduler, the claim path and
  // /metrics; read again whenever the file changes, so a suspend takes effect without a restart.
  let onRegistryLoad: (ok: boolean) => void = () => {};
  const taskRegistry = watchRegistry(registryFile(env), { log, onLoad: (ok) => onRegistryLoad(ok) });

  const store = options.store ?? (await openStore({ log }, env));
  const toolContext = (identity: Identity) =>
    createToolContext({ store, paths: tools.paths, agent: identity.agent, entitlements: identity.entitlements, now: clock, log });
  // The scheduler's jobs are the cron file's (what cron would run), with catch-up windows from the registry.
  const ledger = options.ledger ?? openRunLedger(store, log);
  const metrics = createMetrics(
    (now) =>
      takeSnapshot(
        {
          source: attentionSource(store),
          health: () => store.health(),
          quarantined: () => quarantineOf(store),
          ledger,
          jobs: jobsForMetrics(cronJobs, taskRegistry.current()),
          envs: policy.envs,
          warnDays: policy.notify.warn_days,
        },
        now,
      ),
    { clock },
  );
  onRegistryLoad = (ok) => {
    metrics.taskRegistryValid.set(ok ? 1 : 0);
    if (!ok) metrics.taskRegistryLoadFailures.inc();
  };
  const schedAgent = access.agents.find((a) => a.name === "scheduler");
  const onRun = (job: string, outcome: "success" | "error" | "skipped", _endedAt: Date, skipReason?: string) => {
    metrics.schedulerRuns.inc({ task: job, outcome });
    if (skipReason) metrics.schedulerSkips.inc({ task: job, reason: skipReason });
  };
  const scheduler = createScheduler({
    jobs: cronJobs,
    taskRegistry: () => taskRegistry.current(),
    registry,
    ledger,
    toolContext,
    identity: { agent: "scheduler", entitlements: schedAgent?.entitlements ?? [], authenticated: true },
    clock,
    log,
    onRun,
  });

  const app = createApp({
    registry,
    access,
    toolContext,
    health: () => store.health(),
    backend: () => servingBackend(store),
    version: store.version ? (scope) => store.version!(scope) : undefined,
    alerts: (dashboard) => evaluateAlerts(dashboard, policy),
    metrics,
    log,
    clock,
    bodyLimitBytes: cfg.bodyLimitBytes,
    ledger,
    onScheduledRun: onRun,
    scheduler: { jobs: () => scheduler.jobs(), enabled: cfg.schedulerEnabled, claimMinute: (job, at) => scheduler.claimMinute(job, at), claimable: (job, at, now, evenIfSuspended) => scheduler.claimable(job, at, now, evenIfSuspended), runNow: scheduler.runNow },
    ui: { config: uiConfig, envs: policy.envs, warnDays: policy.notify.warn_days, revoked: openRevokedSessions(store, log) },
  });

  const served = serve((req, conn) => app.fetch(withSafeUrl(req), conn), { port: cfg.port, hostname: cfg.host });
  const url = `http://${cfg.host.includes(":") ? `[${cfg.host}]` : cfg.host}:${served.port}`;
  log.info("server listening", { url, backend: store.name, scheduler: cfg.schedulerEnabled, demo: Boolean(options.demo) });
  if (cfg.schedulerEnabled) scheduler.start();

  let stopping: Promise<void> | null = null;
  return {
    url,
    port: served.port,
    store,
    stop() {
      stopping ??= (async () => {
        log.info("server stopping: finishing in-flight requests");
        await served.stop(SHUTDOWN_DRAIN_MS);
        await scheduler.stop();
        if (!options.store) await store.close();
        log.info("server stopped");
      })();
      return stopping;
    },
  };
}

/** The scheduled jobs (cron file) with the registry's catch-up windows and suspensions, for /metrics. */
function jobsForMetrics(jobs: { id: string; schedule: string }[], reg: RegistryView) {
  return jobs.map((j) => ({ id: j.id, schedule: j.schedule, catchUpMs: reg.catchUpMs[j.id] ?? 0, suspended: reg.suspended.has(j.id) }));
}

async function main() {
  if (process.argv.includes("--help") || process.argv.includes("-h")) {
    process.stdout.write(`Usage: npx bun run server.ts

Serves the backlog HTTP API and dashboard. Configuration is by environment (docs/http.md):
  PORT (8000), HOST (127.0.0.1; 0.0.0.0 in containers), SCHEDULER_ENABLED (false), SCHEDULER_CRON_FILE,
  BACKLOG_BACKEND (auto) / BACKLOG_POSTGRES_DSN, POSTGRES_DSN or the POSTGRES_HOST/PORT/USER/PASSWORD/DB parts /
  BACKLOG_JSONL_DIR (store), BACKLOG_PG_CONNECT_TIMEOUT (5), BACKLOG_PG_RETRY_SECONDS (300), BACKLOG_POLICY_FILE,
  BACKLOG_RISK_POLICY_FILE, BACKLOG_TASK_REGISTRY_FILE, BACKLOG_ACCESS_FILE, BACKLOG_REPORTS_DIR,
  BACKLOG_MAX_BODY_KB (256), LOG_LEVEL (info), LOG_FORMAT (json), the API keys config/access.yml names
  (SCHEDULER_API_KEY, BACKLOG_ADMIN_API_KEY, BACKLOG_WRITER_API_KEY, BACKLOG_READER_API_KEY,
  BACKLOG_ALERTMANAGER_API_KEY), and for the browser UI /ui BACKLOG_SESSION_SECRET, BACKLOG_SESSION_HOURS (8),
  BACKLOG_TRUST_PROXY (false), BACKLOG_PROXY_IDENTITY_HEADER (docs/dashboard.md). Every variable: README.
Exit: 0 after SIGTERM/SIGINT (in-flight requests get 5 s; 1 if it is not done within 9 s), 1 when it cannot
start (bad config, port in use).
`);
    return;
  }
  // Signals are handled from the first moment: a SIGTERM that arrives while the server is starting (a
  // supervisor that stops it as soon as it logs "server listening") is acted on once it has started,
  // instead of killing the process with the default action.
  let server: RunningServer | undefined;
  let pending: string | undefined;
  const shutdown = (signal: string) => {
    if (!server) {
      pending ??= signal;
      setTimeout(() => process.exit(1), SHUTDOWN_HARD_EXIT_MS).unref(); // a start that hangs still ends
      return;
    }
    defaultLog.info("signal received", { signal });
    setTimeout(() => {
      defaultLog.error("shutdown took too long; exiting", { after_ms: SHUTDOWN_HARD_EXIT_MS });
      process.exit(1);
    }, SHUTDOWN_HARD_EXIT_MS).unref();
    server.stop().then(
      () => process.exit(0),
      (err) => {
        defaultLog.error("shutdown failed", { error: (err as Error).message });
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
  server = await startServer();
  if (pending) shutdown(pending);
}

if (import.meta.main) {
  main().catch((err) => {
    const message = redactText(describeError(err));
    defaultLog.error("server failed to start", { error: message });
    process.stderr.write(`error: ${message}\n`);
    process.exit(1);
  });
}
