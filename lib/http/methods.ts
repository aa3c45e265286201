/**
 * 405 Method Not Allowed for the known paths (RFC 9110 15.5.6): an OPTIONS, PUT, PATCH or DELETE (or a
 * GET on a POST-only path) names the methods the path takes in an `Allow` header instead of claiming
 * the path does not exist.
 *
 * The refusal comes after the same access check as the path's own method (app.ts and ui/routes.ts run
 * `check` first), so a 405 tells a caller nothing that calling the path properly would not: no key is
 * still 401, a key without the path's entitlement still 403, the probes answer everyone.
 */
import type { Context, Hono, Env } from "hono";
import { AppError } from "../core/errors.ts";

/** The Allow header of a path's methods: Hono answers HEAD from every GET handler. */
export function allowOf(methods: readonly string[]): string {
  return methods.flatMap((m) => (m === "GET" ? ["GET", "HEAD"] : [m])).join(", ");
}

/** The refusal: 405 with the allowed methods in `details.allow` (the JSON body and the Allow header). */
export function methodNotAllowed(c: Context, methods: readonly string[]): AppError {
  const allow = allowOf(methods);
  return new AppError("method_not_allowed", `Method ${c.req.method.slice(0, 20)} is not allowed on ${c.req.path.slice(0, 200)}; it takes ${allow}.`, { details: { allow } });
}

/** The Allow value of an error, when it is a 405 (app.ts and the UI's error page set the header from it). */
export function allowHeaderOf(err: unknown): string | null {
  if (!(err instanceof AppError) || err.code !== "method_not_allowed") return null;
  return (err.details as { allow?: string } | undefined)?.allow ?? null;
}

/**
 * Registers, after a path's own handlers, one for every other method: `check` (the path's access rule)
 * runs first and may throw 401/403, then the 405. A handler registered for the path's own method was
 * matched before this one, so only the other methods reach it.
 */
export function refuseOtherMethods<E extends Env>(app: Hono<E>, path: string, methods: readonly string[], check: (c: Context<E>) => void | Promise<void>): void {
  app.all(path, async (c) => {
    await check(c);
    throw methodNotAllowed(c, methods);
  });
}
