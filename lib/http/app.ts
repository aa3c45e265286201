/**
 * The HTTP API as a Hono app over injected dependencies (store, tool registry, access control, clock),
 * so tests drive it with app.request() and server.ts only wires real parts.
 *
 * Every route that touches the backlog goes through the same tool dispatcher as the CLI and the
 * scheduler. Every error is JSON {"error": "...", ...details}; bad input is 4xx, never 500.
 */
import { Hono, type Context } from "hono";
import * as v from "valibot";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { matchedRoutes } from "hono/route";
import { hasEntitlement } from "../access/entitlements.ts";
import type { AccessControl, Identity } from "../access/config.ts";
import { parseJsonBounded, parseUtcTimestamp, ScheduledAt } from "../domain/schemas.ts";
import { AppError, parseOrThrow } from "../core/errors.ts";
import type { Logger } from "../core/log.ts";
import { CLAIM_TOKEN, runIdFor } from "../scheduler/ledger.ts";
import { runClaimed, type RunClaims, type SkipReason } from "../scheduler/run-claimed.ts";
import { redactText } from "../core/redact.ts";
import { unmigratedError } from "../pg/table-hint.ts";
import type { Dashboard, StoreHealth } from "../store/types.ts";
import { dispatch, resolveAction, type Registry } from "../tools/dispatch.ts";
import type { ToolContext } from "../tools/types.ts";
import { conditionalGet } from "./conditional.ts";
import { renderDashboardPage } from "./dashboard-page.tsx";
import { mountAlertmanagerReceiver } from "./alertmanager.ts";
import { READ, refuseOtherApiMethods } from "./api-methods.ts";
import { allowHeaderOf, refuseOtherMethods } from "./methods.ts";
import { requestRecorder, type Metrics } from "./metrics.ts";
import { queryBool, queryInt, refuseUnknownQuery } from "./query.ts";
import { mountUi, type UiDeps } from "./ui/routes.ts";
import { mountRunNow, type RunNowView } from "./run-now-route.ts";

export interface Alert {
  level: string;
  target: string;
  reason: string;
}

export interface SchedulerView {
  enabled: boolean;
  jobs(): Promise<unknown[]>;
  /** The job's scheduled fire for a call made at `at` (a late-started runner claims the same minute). */
  claimMinute?(job: string, at: Date): string;
  /**
   * The job's own tool/action and the fire a call for `at` may claim; throws invalid_input for an
   * unknown job, a future minute, a minute that is no fire of the job or one past its catch-up window;
   * conflict (409) for a suspended job unless `evenIfSuspended` (the runner's --even-if-suspended).
   */
  claimable?(job: string, at: Date, now: Date, evenIfSuspended?: boolean): { minute: string; tool: string; action: string };
  /** Run a registry job now, by hand (POST /v1/scheduler/jobs/:job/run, /ui/jobs). */
  runNow?: RunNowView;
}

export type { RunClaims };

export interface AppDeps {
  registry: Registry;
  access: AccessControl;
  /** Builds the tool context for an identity (store, paths, clock, logger). */
  toolContext(identity: Identity): ToolContext;
  health(): Promise<StoreHealth>;
  /** Which backend serves right now, without I/O (the dashboard is polled; readyz does the real check). */
  backend(): { backend: string; degraded: boolean };
  alerts(dashboard: Dashboard): Alert[];
  metrics: Metrics;
  log: Logger;
  clock: () => Date;
  bodyLimitBytes?: number;
  scheduler?: SchedulerView;
  /** When set, tool calls carrying `job` + `scheduled_at` (the cron runner) run at most once per minute. */
  ledger?: RunClaims;
  /**
   * The store's change version (BacklogStore.version): when given, GET dashboard/items/item answers are
   * kept until it moves and carry a strong ETag (If-None-Match → 304). See conditional.ts.
   */
  version?(scope?: "items"): string | null;
  /** Called after each ledger-guarded run (metrics). */
  onScheduledRun?(job: string, outcome: "success" | "error" | "skipped", endedAt: Date, skipReason?: SkipReason): void;
  /** The browser UI under /ui (lib/http/ui); absent: no UI routes. */
  ui?: UiDeps;
}

type Env = { Variables: { identity: Identity } };
export type AppEnv = Env;

export const API_KEY_HINT = "Send an API key as `Authorization: Bearer <key>` or `X-API-Key: <key>`.";

function keyFrom(c: Context): string | null {
  const auth = c.req.header("authorization");
  if (auth !== undefined) {
    const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
    return m ? m[1]!.trim() : "";
  }
  const x = c.req.header("x-api-key");
  return x === undefined ? null : x.trim();
}

function errorBody(err: AppError): Record<string, unknown> {
  const details = err.details;
  if (Array.isArray(details)) return { error: err.message, fields: details };
  if (details && typeof details === "object") return { error: err.message, ...(details as object) };
  return { error: err.message };
}

/** An unknown tool/action error lists the known ones: keyless callers get a 401 instead. */
function isListing(err: AppError): boolean {
  const d = err.details as { known_tools?: unknown; known_actions?: unknown } | undefined;
  return err.code === "not_found" && Boolean(d && (d.known_tools || d.known_actions));
}

/** Turns a dispatcher "forbidden" into 401 for callers that sent no key at all. */
function authError(identity: Identity, entitlement: string): AppError {
  return identity.authenticated
    ? new AppError("forbidden", `Agent ${identity.agent} lacks the entitlement ${entitlement}.`, { details: { required: entitlement } })
    : new AppError("unauthorized", `Authentication required. ${API_KEY_HINT}`, { details: { required: entitlement } });
}

/**
 * Bun hands a request without a Host header (HTTP/1.0, HAProxy's default check) or with an invalid one
 * a relative URL ("/healthz"), which Hono's router misreads. The server passes every request through
 * here first: the path is kept, the untrusted host is replaced, and nothing ever builds a link from it.
 */
export function withSafeUrl(req: Request): Request {
  try {
    const url = new URL(req.url);
    if (url.protocol === "http:" || url.protocol === "https:") return req;
  } catch {
    // fall through: rebuild below
  }
  const raw = req.url;
  const path = raw.startsWith("/") ? raw : raw.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, "") || "/";
  return new Request(`http://invalid-host.local${path.startsWith("/") ? path : `/${path}`}`, req);
}

export function createApp(deps: AppDeps) {
  const app = new Hono<Env>();
  const limit = deps.bodyLimitBytes ?? 256 * 1024;

  const record = requestRecorder(deps.metrics);
  app.use("*", async (c, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      // The most specific route the path matched: the last one that is not a wildcard (the auth
      // middleware and the /ui/* fallback match everything and come after the probes and pages).
      const route = matchedRoutes(c).findLast((r) => !r.path.endsWith("*"))?.path ?? "unmatched";
      record(c.req.method, route, c.res.status, (performance.now() - started) / 1000);
    }
  });

  // Probes come without keys: registered before the auth middleware, so it never runs for them.
  app.get("/healthz", (c) => c.json({ status: "ok" }));

  app.get("/readyz", async (c) => {
    try {
      const h = await deps.health();
      const ready = h.serving !== false;
      // Probe bodies are unauthenticated: driver text in them goes through the DSN redactor too.
      return c.json({ ready, backend: h.backend, degraded: h.degraded, detail: h.detail === undefined ? undefined : redactText(h.detail) }, ready ? 200 : 503);
    } catch (err) {
      return c.json({ ready: false, error: `store unreachable: ${redactText((err as Error).message)}` }, 503);
    }
  });
  // The probes answer any caller, so their 405 does too (before the API-key check).
  for (const probe of ["/healthz", "/readyz"]) refuseOtherMethods(app, probe, ["GET"], () => {});

  // The browser UI signs people in itself (session cookie), so it comes before the API-key check.
  if (deps.ui) mountUi(app, deps, deps.ui);

  app.use("*", async (c, next) => {
    const key = keyFrom(c);
    if (key === null) {
      // Auth before everything: with no anonymous rights, a keyless caller learns nothing else
      // (no 400 for its body, no tool or route listing), only how to authenticate.
      if (deps.access.anonymous.entitlements.length === 0) throw new AppError("unauthorized", `Authentication required. ${API_KEY_HINT}`);
      c.set("identity", deps.access.anonymous);
      return next();
    }
    const identity = key ? deps.access.authenticate(key) : null;
    if (!identity) throw new AppError("unauthorized", `Invalid API key. ${API_KEY_HINT}`);
    c.set("identity", identity);
    return next();
  });

  if (deps.version) {
    const version = deps.version;
    const cached = (scope?: "items") =>
      conditionalGet({
        version: () => version(scope),
        clock: deps.clock,
        agentOf: (c) => (c as Context<Env>).get("identity").agent,
        backend: () => {
          const b = deps.backend();
          return `${b.backend}:${b.degraded}`;
        },
      });
    // The dashboard and lists read items only (one stat per request on JSONL); an item's answer has its events.
    const itemsOnly = cached("items");
    for (const path of ["/v1/backlog/dashboard", "/v1/backlog/items"]) app.use(path, itemsOnly);
    app.use("/v1/backlog/items/:id", cached());
  }

  const requireEntitlement = (c: Context<Env>, entitlement: string) => {
    const identity = c.get("identity");
    if (!hasEntitlement(identity.entitlements, entitlement)) throw authError(identity, entitlement);
  };

  const run = async (c: Context<Env>, tool: string, action: string, params: Record<string, unknown>) => {
    const identity = c.get("identity");
    try {
      return await dispatch(deps.registry, { tool, action, params }, deps.toolContext(identity));
    } catch (err) {
      if (err instanceof AppError && err.code === "forbidden" && !identity.authenticated) {
        throw authError(identity, String((err.details as { required?: string })?.required ?? ""));
      }
      if (err instanceof AppError && !identity.authenticated && isListing(err)) throw authError(identity, "an API key");
      throw err;
    }
  };

  /**
   * Exactly once per (job, scheduled minute), through the one claim path (lib/scheduler/run-claimed.ts).
   * Rights and params are checked first, against the JOB's own tool/action, so a caller who could not
   * run the job never burns its claim; the minute must be the job's fire within its catch-up window.
   */
  const tokensInFlight = new Set<string>();
  const runOnce = async (c: Context<Env>, job: string, at: Date, tool: string, action: string, params: Record<string, unknown>, evenIfSuspended: boolean, claimToken?: string) => {
    const identity = c.get("identity");
    const { action: def } = resolveAction(deps.registry, { tool, action });
    if (!hasEntitlement(identity.entitlements, def.entitlement)) throw authError(identity, def.entitlement);
    parseOrThrow(def.params, params, `Invalid params for ${tool}.${action}`);
    // A dry run claims nothing: it may name any minute (the runner's --dry-run of an old fire).
    if (params.dry_run === true) return { dry_run: true, job, scheduled_at: deps.scheduler?.claimMinute?.(job, at) ?? at.toISOString(), result: await run(c, tool, action, params) };
    const own = deps.scheduler?.claimable?.(job, at, deps.clock(), evenIfSuspended);
    if (own && (own.tool !== tool || own.action !== action)) {
      throw new AppError("invalid_input", `job: ${job} runs ${own.tool}.${own.action}, not ${tool}.${action}; send the job's own tool and action.`, { details: [`tool/action: expected ${own.tool}.${own.action} for job ${job}`] });
    }
    const scheduledAt = own?.minute ?? deps.scheduler?.claimMinute?.(job, at) ?? at.toISOString();
    // A deciding action refuses on the auto store's fallback: claimed, the minute would be recorded failed
    // and never run again. Not claimed, claim_failed lets the runner ask again (docs/generation.md).
    if (def.needs_full_view && deps.backend().degraded) {
      throw new AppError("degraded", `store degraded: Postgres is unavailable, and ${tool}.${action} decides from the whole backlog; ${job} at ${scheduledAt} was not claimed and nothing ran. Ask again when readyz reports ready.`, { details: { claim_failed: true } });
    }
    // The caller's claim_token names its run, so asking again after a failed claim is recognised (runner).
    // One call per claim_token at a time here: the ledger grants a run id it finds still `running` to
    // its holder, so a second concurrent call with the same token must not reach it.
    const runId = claimToken === undefined ? undefined : runIdFor(claimToken, job, scheduledAt);
    if (runId && tokensInFlight.has(runId)) {
      throw new AppError("conflict", `claim_token: a call with this claim_token for ${job} at ${scheduledAt} is still in progress; nothing was claimed or run.`, { details: ["claim_token: in use by a call in progress"] });
    }
    if (runId) tokensInFlight.add(runId);
    let claimed: Awaited<ReturnType<typeof runClaimed<unknown>>>;
    try {
      claimed = await runClaimed({ ledger: deps.ledger!, log: deps.log, clock: deps.clock, onRun: deps.onScheduledRun }, job, scheduledAt, `http:${identity.agent}`, () => run(c, tool, action, params), runId);
    } finally {
      if (runId) tokensInFlight.delete(runId);
    }
    if ("skipped" in claimed) return { skipped: "already ran", job, scheduled_at: scheduledAt, run: claimed.existing };
    if (claimed.status === "error") throw claimed.error;
    return claimed.result;
  };

  const dashboardWithAlerts = async (c: Context<Env>, env: string | undefined) => {
    const dashboard = (await run(c, "backlog_tool", "dashboard", env === undefined ? {} : { env })) as Dashboard & { alerts?: Alert[] };
    const { backend, degraded } = deps.backend();
    return { ...dashboard, backend, degraded, alerts: dashboard.alerts ?? deps.alerts(dashboard) };
  };

  /** The dashboard's one parameter; the access check first, so a key without it learns nothing from a 400. */
  const dashboardEnv = (c: Context<Env>, route: string) => {
    requireEntitlement(c, READ);
    refuseUnknownQuery(c, route, ["env"]);
    return c.req.query("env");
  };

  app.get("/v1/backlog/dashboard", async (c) => c.json(await dashboardWithAlerts(c, dashboardEnv(c, "GET /v1/backlog/dashboard"))));

  app.get("/v1/backlog/items", async (c) => {
    const q = c.req.queries();
    // Own keys only: `?__proto__=x` must reach the schema as an unknown parameter, not set a prototype.
    const params: Record<string, unknown> = Object.create(null);
    for (const [k, values] of Object.entries(q)) {
      const vals = values.filter((x) => x !== "");
      if (vals.length === 0) continue;
      if (k === "limit" || k === "offset" || k === "due_within_days") params[k] = queryInt(vals[0]!);
      else if (k === "overdue") params[k] = queryBool(vals[0]!);
      else if (k === "status" || k === "priority") params[k] = vals.length > 1 ? vals : vals[0]!.includes(",") ? vals[0]!.split(",") : vals[0];
      else params[k] = vals[0];
    }
    return c.json(await run(c, "backlog_tool", "list", params) as object);
  });

  app.get("/v1/backlog/items/:id", async (c) => c.json(await run(c, "backlog_tool", "get", { id: c.req.param("id") }) as object));

  app.post("/v1/backlog/generate/weekly", async (c) => {
    // the entitlement first, as on every route: a key without it learns nothing from a 400 about the query
    requireEntitlement(c, resolveAction(deps.registry, { tool: "backlog_tool", action: "auto_generate_weekly" }).action.entitlement);
    refuseUnknownQuery(c, "POST /v1/backlog/generate/weekly", ["env", "week", "dry_run"]);
    const params: Record<string, unknown> = {};
    for (const k of ["env", "week"] as const) if (c.req.query(k) !== undefined) params[k] = c.req.query(k);
    const dryRun = c.req.query("dry_run");
    if (dryRun !== undefined) params.dry_run = queryBool(dryRun);
    return c.json(await run(c, "backlog_tool", "auto_generate_weekly", params) as object);
  });

  app.post(
    "/v1/tools/execute",
    bodyLimit({
      maxSize: limit,
      onError: () => {
        throw new HTTPException(413, { message: `Request body is larger than ${limit} bytes.` });
      },
    }),
    async (c) => {
      const parsed = parseJsonBounded(await c.req.text(), "Request body");
      if (!parsed.ok) {
        const example = 'Body must be JSON like {"tool": "backlog_tool", "action": "dashboard", "env": "prod"}';
        throw new AppError("invalid_input", parsed.reason === "depth" ? parsed.error : `${example} (${parsed.error}).`);
      }
      const body = parsed.value;
      if (!body || typeof body !== "object" || Array.isArray(body)) {
        throw new AppError("invalid_input", 'Body must be a JSON object with "tool" and "action".');
      }
      const { tool, action, params, job, scheduled_at, even_if_suspended, claim_token, ...rest } = body as Record<string, unknown>;
      const problems: string[] = [];
      if (typeof tool !== "string" || !tool) problems.push('tool: expected a tool name string, e.g. "backlog_tool"');
      if (typeof action !== "string" || !action) problems.push('action: expected an action name string, e.g. "dashboard"');
      if (params !== undefined && (params === null || typeof params !== "object" || Array.isArray(params))) {
        problems.push("params: expected an object of action parameters");
      }
      if (job !== undefined && (typeof job !== "string" || !/^[a-z][a-z0-9_]{0,63}$/.test(job))) {
        problems.push("job: expected a job id from ops/task_registry.yml, e.g. weekly_backlog_generate");
      }
      if ((job === undefined) !== (scheduled_at === undefined)) problems.push("job and scheduled_at: send both or neither");
      if (scheduled_at !== undefined && !v.is(ScheduledAt, scheduled_at)) {
        problems.push('scheduled_at: expected the scheduled minute in UTC, e.g. "2026-11-23T06:20:00.000Z"');
      }
      if (even_if_suspended !== undefined && (typeof even_if_suspended !== "boolean" || job === undefined)) {
        problems.push("even_if_suspended: expected true or false, and only with job (it lets a claim of a suspended job through)");
      }
      if (claim_token !== undefined && (typeof claim_token !== "string" || !CLAIM_TOKEN.test(claim_token) || job === undefined)) {
        problems.push("claim_token: expected 16-128 random letters, digits, _ or -, and only with job (the same token on a repeated call names the same claim)");
      }
      if (problems.length) throw new AppError("invalid_input", `Invalid tool call:\n  ${problems.join("\n  ")}`, { details: problems });
      const merged = { ...rest, ...((params as Record<string, unknown> | undefined) ?? {}) };
      if (job === undefined || !deps.ledger) return c.json((await run(c, tool as string, action as string, merged)) as object);
      return c.json(await runOnce(c, job as string, parseUtcTimestamp(scheduled_at as string)!, tool as string, action as string, merged, even_if_suspended === true, claim_token as string | undefined));
    },
  );

  mountAlertmanagerReceiver(app, { limit, metrics: deps.metrics, requireEntitlement, run });

  app.get("/metrics", async (c) => {
    requireEntitlement(c, READ);
    const text = await deps.metrics.registry.metrics();
    return c.body(text, 200, { "content-type": deps.metrics.registry.contentType });
  });

  app.get("/dashboard", async (c) => {
    const env = dashboardEnv(c, "GET /dashboard");
    const data = await dashboardWithAlerts(c, env);
    return c.html(renderDashboardPage({ env: env ?? null, data, renderedAt: deps.clock() }));
  });

  app.get("/v1/scheduler/jobs", async (c) => {
    requireEntitlement(c, READ);
    if (!deps.scheduler) return c.json({ enabled: false, jobs: [] });
    return c.json({ enabled: deps.scheduler.enabled, jobs: await deps.scheduler.jobs() });
  });

  mountRunNow(app, () => deps.scheduler?.runNow, authError);

  // Any other method on a path above: its own 401/403 first, then 405 with Allow (api-methods.ts).
  refuseOtherApiMethods(app, deps.registry, requireEntitlement);

  // c.req.path, never new URL(c.req.url): the URL is built from the Host header, which may be absent or junk.
  app.notFound((c) => c.json({ error: `No route ${c.req.method} ${c.req.path}.` }, 404));

  app.onError((err, c) => {
    const unmigrated = err instanceof AppError ? null : unmigratedError(err);
    if (unmigrated) {
      deps.log.error("request failed", { path: c.req.path, error: unmigrated.message });
      err = unmigrated;
    }
    if (err instanceof AppError) {
      if (err.status >= 500 && err.code !== "degraded" && err.code !== "unavailable") {
        deps.log.error("request failed", { path: c.req.path, error: err.message });
      }
      const allow = allowHeaderOf(err);
      if (allow) c.header("Allow", allow);
      return c.json(errorBody(err), err.status as 400);
    }
    if (err instanceof HTTPException) {
      return c.json({ error: err.message || "Request rejected." }, err.status);
    }
    deps.log.error("unhandled error", { path: c.req.path, error: (err as Error).message, stack: (err as Error).stack });
    return c.json({ error: "Internal error; the server log has the details." }, 500);
  });

  return app;
}
