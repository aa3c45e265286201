/**
 * POST /v1/scheduler/jobs/:job/run: run a registry job now, by hand (lib/scheduler/run-now.ts has the
 * rules). Query `dry_run=true|false`, `even_if_suspended=true|false`; header `Idempotency-Key` (a retry or
 * double submit with the same key starts nothing more). docs/scheduler.md "Run now".
 */
import type { Context, Hono } from "hono";
import type { Identity } from "../access/config.ts";
import { AppError } from "../core/errors.ts";
import { queryBool, refuseRepeatedQuery, refuseUnknownQuery } from "./query.ts";
import type { RunNowRequest, RunNowResult } from "../scheduler/run-now.ts";

export const RUN_NOW_PATH = "/v1/scheduler/jobs/:job/run";

/** What the HTTP layer and the UI need of run-now (lib/scheduler/run-now.ts createRunNow). */
export interface RunNowView {
  run(req: RunNowRequest): Promise<RunNowResult>;
  allowed(job: string, entitlements: readonly string[]): boolean;
  /** Throws the 404 (unknown job) or 403 (lacking the right) that run() would, without running. */
  authorize(job: string, identity: Pick<Identity, "agent" | "entitlements">): unknown;
}

/** An idempotency key: what a browser form or a client sends, printable and bounded. */
export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{8,200}$/;

/** A query flag: absent, "true" or "false"; anything else is a 400 naming it (dry_run=yes is not a real run). */
function flag(name: string, value: string | undefined): boolean {
  if (value === undefined) return false;
  const read = queryBool(value);
  if (typeof read === "boolean") return read;
  throw new AppError("invalid_input", `${name}: expected true or false, got ${JSON.stringify(read.slice(0, 40))}.`, { details: [`${name}: expected true or false`] });
}

type Env = { Variables: { identity: Identity } };

/** The route's query parameters; any other is a 400 (query.ts refuseUnknownQuery). */
const FLAGS = ["dry_run", "even_if_suspended"] as const;

export function mountRunNow(app: Hono<Env>, runNow: () => RunNowView | undefined, authError: (identity: Identity, entitlement: string) => AppError): void {
  app.post(RUN_NOW_PATH, async (c: Context<Env>) => {
    const identity = c.get("identity");
    const view = runNow();
    if (!view) throw new AppError("not_found", "This server has no task registry loaded, so it runs no job by hand.");
    const forbidden = (err: unknown) =>
      err instanceof AppError && err.code === "forbidden" && !identity.authenticated ? authError(identity, String((err.details as { required?: string })?.required ?? "")) : err;
    // The access answer comes before any 400, as on every other path: a caller without the right learns
    // nothing from how its query would have been read.
    try {
      view.authorize(c.req.param("job") ?? "", identity);
    } catch (err) {
      throw forbidden(err);
    }
    // A typo (?dryrun=true) or a flag sent twice (?dry_run=false&dry_run=true) must not become a real run.
    const route = `POST ${RUN_NOW_PATH}`;
    refuseUnknownQuery(c, route, FLAGS);
    refuseRepeatedQuery(c, route, FLAGS);
    const dryRun = flag("dry_run", c.req.query("dry_run"));
    const evenIfSuspended = flag("even_if_suspended", c.req.query("even_if_suspended"));
    const key = c.req.header("idempotency-key");
    if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) {
      throw new AppError("invalid_input", "Idempotency-Key: expected 8-200 printable characters without spaces (e.g. a UUID).", { details: ["Idempotency-Key: expected 8-200 printable characters"] });
    }
    try {
      return c.json(await view.run({ job: c.req.param("job") ?? "", identity, actor: identity.agent, dryRun, evenIfSuspended, key }));
    } catch (err) {
      throw forbidden(err);
    }
  });
}
