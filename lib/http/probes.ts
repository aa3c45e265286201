/** GET /healthz and /readyz: the probes, which answer any caller (no API key). */
import type { Hono } from "hono";
import { redactText } from "../core/redact.ts";
import type { AppDeps, AppEnv } from "./app.ts";
import { refuseOtherMethods } from "./methods.ts";

export function mountProbes(app: Hono<AppEnv>, deps: Pick<AppDeps, "health">): void {
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
}
