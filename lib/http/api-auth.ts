/**
 * Who is calling the API (an API key, or the anonymous identity), what a caller without a right is told
 * (401 for keyless callers, 403 otherwise), and the one way the routes run a tool action for a caller.
 */
import type { Context, Hono } from "hono";
import { hasEntitlement } from "../access/entitlements.ts";
import type { AccessControl, Identity } from "../access/config.ts";
import { AppError } from "../core/errors.ts";
import { dispatch, type Registry } from "../tools/dispatch.ts";
import type { ToolContext } from "../tools/types.ts";
import type { AppEnv } from "./app.ts";

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

/** An unknown tool/action error lists the known ones: keyless callers get a 401 instead. */
function isListing(err: AppError): boolean {
  const d = err.details as { known_tools?: unknown; known_actions?: unknown } | undefined;
  return err.code === "not_found" && Boolean(d && (d.known_tools || d.known_actions));
}

/** Turns a dispatcher "forbidden" into 401 for callers that sent no key at all. */
export function authError(identity: Identity, entitlement: string): AppError {
  return identity.authenticated
    ? new AppError("forbidden", `Agent ${identity.agent} lacks the entitlement ${entitlement}.`, { details: { required: entitlement } })
    : new AppError("unauthorized", `Authentication required. ${API_KEY_HINT}`, { details: { required: entitlement } });
}

/** Sets the caller's identity on every route registered after it (the probes and the UI come before). */
export function mountApiKeyAuth(app: Hono<AppEnv>, access: AccessControl): void {
  app.use("*", async (c, next) => {
    const key = keyFrom(c);
    if (key === null) {
      // Auth before everything: with no anonymous rights, a keyless caller learns nothing else
      // (no 400 for its body, no tool or route listing), only how to authenticate.
      if (access.anonymous.entitlements.length === 0) throw new AppError("unauthorized", `Authentication required. ${API_KEY_HINT}`);
      c.set("identity", access.anonymous);
      return next();
    }
    const identity = key ? access.authenticate(key) : null;
    if (!identity) throw new AppError("unauthorized", `Invalid API key. ${API_KEY_HINT}`);
    c.set("identity", identity);
    return next();
  });
}

export function requireEntitlement(c: Context<AppEnv>, entitlement: string): void {
  const identity = c.get("identity");
  if (!hasEntitlement(identity.entitlements, entitlement)) throw authError(identity, entitlement);
}

export type RunTool = (c: Context<AppEnv>, tool: string, action: string, params: Record<string, unknown>) => Promise<unknown>;

/** Runs a tool action as the caller, through the same dispatcher as the CLI and the scheduler. */
export function toolRunner(deps: { registry: Registry; toolContext(identity: Identity): ToolContext }): RunTool {
  return async (c, tool, action, params) => {
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
}
