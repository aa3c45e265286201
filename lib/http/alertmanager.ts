/**
 * POST /v1/alerts/alertmanager: the webhook receiver Alertmanager posts to (docs/alerting.md). The body
 * is the webhook payload as Alertmanager sends it; it becomes the params of alert_intake.ingest, the
 * same action the CLI and /v1/tools/execute run. The entitlement is checked before the body is read, so
 * a key without it gets 403 whatever it sent; then 413 (too large), 400 (bad JSON or payload, naming the
 * field). Alertmanager retries only 5xx answers, and a 4xx is logged there: a payload it cannot fix is
 * never retried forever. Counts go to /metrics (backlog_alert_intake_*), never a label value.
 */
import type { Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { AppError } from "../core/errors.ts";
import { parseJsonBounded } from "../domain/schemas.ts";
import type { IngestResult } from "../intake/ingest.ts";
import { ALERT_INTAKE_ENTITLEMENT } from "../tools/alert-intake.ts";
import type { AppEnv } from "./app.ts";
import type { Metrics } from "./metrics.ts";
import { queryBool, refuseUnknownQuery } from "./query.ts";

export const ALERTMANAGER_PATH = "/v1/alerts/alertmanager";

export interface AlertRouteDeps {
  limit: number;
  metrics: Pick<Metrics, "alertNotifications" | "alertsReceived">;
  requireEntitlement(c: Context<AppEnv>, entitlement: string): void;
  run(c: Context<AppEnv>, tool: string, action: string, params: Record<string, unknown>): Promise<unknown>;
}

export function mountAlertmanagerReceiver(app: Hono<AppEnv>, deps: AlertRouteDeps): void {
  app.post(
    ALERTMANAGER_PATH,
    async (c, next) => {
      deps.requireEntitlement(c, ALERT_INTAKE_ENTITLEMENT);
      await next();
    },
    bodyLimit({
      maxSize: deps.limit,
      onError: () => {
        throw new HTTPException(413, { message: `Request body is larger than ${deps.limit} bytes; set max_alerts in the webhook_config or raise BACKLOG_MAX_BODY_KB.` });
      },
    }),
    async (c) => {
      refuseUnknownQuery(c, `POST ${ALERTMANAGER_PATH}`, ["dry_run"]);
      const parsed = parseJsonBounded(await c.req.text(), "Request body");
      if (!parsed.ok) throw new AppError("invalid_input", parsed.reason === "depth" ? parsed.error : `Body must be an Alertmanager webhook payload (JSON, version "4"): ${parsed.error}.`);
      const body = parsed.value;
      if (!body || typeof body !== "object" || Array.isArray(body)) throw new AppError("invalid_input", 'Body must be an Alertmanager webhook payload: a JSON object with "version", "groupKey", "status" and "alerts".');
      const params = { ...(body as Record<string, unknown>) };
      const dryRun = c.req.query("dry_run");
      if (dryRun !== undefined) params.dry_run = queryBool(dryRun);
      const result = (await deps.run(c, "alert_intake", "ingest", params)) as IngestResult;
      if (!result.dry_run) {
        deps.metrics.alertNotifications.inc({ outcome: result.outcome });
        if (result.alerts.firing) deps.metrics.alertsReceived.inc({ status: "firing" }, result.alerts.firing);
        if (result.alerts.resolved) deps.metrics.alertsReceived.inc({ status: "resolved" }, result.alerts.resolved);
      }
      return c.json(result);
    },
  );
}
