/**
 * The API's reads: the dashboard (JSON and the HTML page), the item list and one item, /metrics and the
 * scheduled jobs. Dashboard and item answers are kept until the store's version moves (conditional.ts).
 */
import type { Context, Hono } from "hono";
import type { Dashboard } from "../store/types.ts";
import { requireEntitlement, type RunTool } from "./api-auth.ts";
import { READ } from "./api-methods.ts";
import type { Alert, AppDeps, AppEnv } from "./app.ts";
import { conditionalGet } from "./conditional.ts";
import { renderDashboardPage } from "./dashboard-page.tsx";
import { queryBool, queryInt, refuseUnknownQuery } from "./query.ts";

type ReadDeps = Pick<AppDeps, "version" | "clock" | "backend" | "alerts" | "metrics" | "scheduler">;

export function mountReadRoutes(app: Hono<AppEnv>, deps: ReadDeps, run: RunTool): void {
  if (deps.version) {
    const version = deps.version;
    const cached = (scope?: "items") =>
      conditionalGet({
        version: () => version(scope),
        clock: deps.clock,
        agentOf: (c) => (c as Context<AppEnv>).get("identity").agent,
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

  const dashboardWithAlerts = async (c: Context<AppEnv>, env: string | undefined) => {
    const dashboard = (await run(c, "backlog_tool", "dashboard", env === undefined ? {} : { env })) as Dashboard & { alerts?: Alert[] };
    const { backend, degraded } = deps.backend();
    return { ...dashboard, backend, degraded, alerts: dashboard.alerts ?? deps.alerts(dashboard) };
  };

  /** The dashboard's one parameter; the access check first, so a key without it learns nothing from a 400. */
  const dashboardEnv = (c: Context<AppEnv>, route: string) => {
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
}
