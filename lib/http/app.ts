/**
 * The HTTP API as a Hono app over injected dependencies (store, tool registry, access control, clock),
 * so tests drive it with app.request() and server.ts only wires real parts. This file is the factory:
 * the order in which the route groups register (probes and the UI before the API-key check, the 405s
 * and error answers last); each group is its own module.
 *
 * Every route that touches the backlog goes through the same tool dispatcher as the CLI and the
 * scheduler. Every error is JSON {"error": "...", ...details}; bad input is 4xx, never 500.
 */
import { Hono } from "hono";
import { matchedRoutes } from "hono/route";
import type { AccessControl, Identity } from "../access/config.ts";
import type { Logger } from "../core/log.ts";
import type { RunClaims, SkipReason } from "../scheduler/run-claimed.ts";
import type { Dashboard, StoreHealth } from "../store/types.ts";
import type { Registry } from "../tools/dispatch.ts";
import type { ToolContext } from "../tools/types.ts";
import { mountAlertmanagerReceiver } from "./alertmanager.ts";
import { authError, mountApiKeyAuth, requireEntitlement, toolRunner } from "./api-auth.ts";
import { refuseOtherApiMethods } from "./api-methods.ts";
import { mountErrorHandlers } from "./error-handler.ts";
import { requestRecorder, type Metrics } from "./metrics.ts";
import { mountProbes } from "./probes.ts";
import { mountReadRoutes } from "./read-routes.ts";
import { mountRunNow, type RunNowView } from "./run-now-route.ts";
import { mountUi, type UiDeps } from "./ui/routes.ts";
import { mountWriteRoutes } from "./write-routes.ts";

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
  mountProbes(app, deps);

  // The browser UI signs people in itself (session cookie), so it comes before the API-key check.
  if (deps.ui) mountUi(app, deps, deps.ui);

  mountApiKeyAuth(app, deps.access);

  const run = toolRunner(deps);
  mountReadRoutes(app, deps, run);
  mountWriteRoutes(app, deps, run, limit);
  mountAlertmanagerReceiver(app, { limit, metrics: deps.metrics, requireEntitlement, run });
  mountRunNow(app, () => deps.scheduler?.runNow, authError);

  // Any other method on a path above: its own 401/403 first, then 405 with Allow (api-methods.ts).
  refuseOtherApiMethods(app, deps.registry, requireEntitlement);

  mountErrorHandlers(app, deps.log);

  return app;
}
