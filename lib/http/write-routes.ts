/**
 * The API's writes: POST /v1/backlog/generate/weekly and POST /v1/tools/execute, the one door for every
 * tool call (the CLI's and the cron runner's, whose `job` + `scheduled_at` calls run at most once per
 * minute through the run ledger).
 */
import type { Context, Hono } from "hono";
import * as v from "valibot";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { hasEntitlement } from "../access/entitlements.ts";
import { parseJsonBounded, parseUtcTimestamp, ScheduledAt } from "../domain/schemas.ts";
import { AppError, parseOrThrow } from "../core/errors.ts";
import { CLAIM_TOKEN, runIdFor } from "../scheduler/ledger.ts";
import { notClaimedWhileDegraded, runClaimed } from "../scheduler/run-claimed.ts";
import { resolveAction } from "../tools/dispatch.ts";
import { authError, requireEntitlement, type RunTool } from "./api-auth.ts";
import type { AppDeps, AppEnv } from "./app.ts";
import { queryBool, refuseUnknownQuery } from "./query.ts";

type WriteDeps = Pick<AppDeps, "registry" | "scheduler" | "clock" | "backend" | "ledger" | "log" | "onScheduledRun">;

export function mountWriteRoutes(app: Hono<AppEnv>, deps: WriteDeps, run: RunTool, limit: number): void {
  /**
   * Exactly once per (job, scheduled minute), through the one claim path (lib/scheduler/run-claimed.ts).
   * Rights and params are checked first, against the JOB's own tool/action, so a caller who could not
   * run the job never burns its claim; the minute must be the job's fire within its catch-up window.
   */
  const tokensInFlight = new Set<string>();
  const runOnce = async (c: Context<AppEnv>, job: string, at: Date, tool: string, action: string, params: Record<string, unknown>, evenIfSuspended: boolean, claimToken?: string) => {
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
      throw notClaimedWhileDegraded(tool, action, `${job} at ${scheduledAt}`, "Ask again when readyz reports ready.");
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
}
