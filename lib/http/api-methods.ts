/**
 * The API's known paths, the methods each takes and the access rule of each, for the 405 answers
 * (lib/http/methods.ts): another method on one of these gets the same 401/403 as the path's own method,
 * then 405 with Allow. docs/http.md shows one such call per path in the access matrix.
 */
import type { Context, Env, Hono } from "hono";
import { resolveAction, type Registry } from "../tools/dispatch.ts";
import { ALERTMANAGER_PATH } from "./alertmanager.ts";
import { refuseOtherMethods } from "./methods.ts";

/** What /metrics and /v1/scheduler/jobs need (the backlog's read entitlement). */
export const READ = "tools.backlog.read";

type Needs = { tool: string; action: string } | string | null;

/** null = any caller past the API-key check (what /v1/tools/execute runs depends on the body). */
const API_PATHS: [path: string, methods: readonly string[], needs: Needs][] = [
  ["/v1/backlog/dashboard", ["GET"], { tool: "backlog_tool", action: "dashboard" }],
  ["/v1/backlog/items", ["GET"], { tool: "backlog_tool", action: "list" }],
  ["/v1/backlog/items/:id", ["GET"], { tool: "backlog_tool", action: "get" }],
  ["/v1/backlog/generate/weekly", ["POST"], { tool: "backlog_tool", action: "auto_generate_weekly" }],
  ["/v1/tools/execute", ["POST"], null],
  ["/metrics", ["GET"], READ],
  ["/dashboard", ["GET"], { tool: "backlog_tool", action: "dashboard" }],
  ["/v1/scheduler/jobs", ["GET"], READ],
  // What it needs depends on the job (its run-by-hand right): any caller past the API-key check.
  ["/v1/scheduler/jobs/:job/run", ["POST"], null],
  [ALERTMANAGER_PATH, ["POST"], { tool: "alert_intake", action: "ingest" }],
];

/** Registers the 405 answers after the API's own routes (and after the API-key check). */
export function refuseOtherApiMethods<E extends Env>(app: Hono<E>, registry: Registry, requireEntitlement: (c: Context<E>, entitlement: string) => void): void {
  for (const [path, methods, needs] of API_PATHS) {
    refuseOtherMethods(app, path, methods, (c) => {
      if (needs === null) return;
      let entitlement: string;
      try {
        entitlement = typeof needs === "string" ? needs : resolveAction(registry, needs).action.entitlement;
      } catch {
        return; // a tool not registered in this app: the authenticated caller learns only the 405
      }
      requireEntitlement(c, entitlement);
    });
  }
}
