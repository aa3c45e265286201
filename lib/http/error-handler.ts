/** The API's 404 and error answers: every error is JSON {"error": "...", ...details}; bad input is 4xx, never 500. */
import type { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { AppError } from "../core/errors.ts";
import type { Logger } from "../core/log.ts";
import { unmigratedError } from "../pg/table-hint.ts";
import type { AppEnv } from "./app.ts";
import { allowHeaderOf } from "./methods.ts";

function errorBody(err: AppError): Record<string, unknown> {
  const details = err.details;
  if (Array.isArray(details)) return { error: err.message, fields: details };
  if (details && typeof details === "object") return { error: err.message, ...(details as object) };
  return { error: err.message };
}

export function mountErrorHandlers(app: Hono<AppEnv>, log: Logger): void {
  // c.req.path, never new URL(c.req.url): the URL is built from the Host header, which may be absent or junk.
  app.notFound((c) => c.json({ error: `No route ${c.req.method} ${c.req.path}.` }, 404));

  app.onError((err, c) => {
    const unmigrated = err instanceof AppError ? null : unmigratedError(err);
    if (unmigrated) {
      log.error("request failed", { path: c.req.path, error: unmigrated.message });
      err = unmigrated;
    }
    if (err instanceof AppError) {
      if (err.status >= 500 && err.code !== "degraded" && err.code !== "unavailable") {
        log.error("request failed", { path: c.req.path, error: err.message });
      }
      const allow = allowHeaderOf(err);
      if (allow) c.header("Allow", allow);
      return c.json(errorBody(err), err.status as 400);
    }
    if (err instanceof HTTPException) {
      return c.json({ error: err.message || "Request rejected." }, err.status);
    }
    log.error("unhandled error", { path: c.req.path, error: (err as Error).message, stack: (err as Error).stack });
    return c.json({ error: "Internal error; the server log has the details." }, 500);
  });
}
