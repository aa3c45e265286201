/**
 * trends_tool: the daily snapshot of the dashboard's counts per env (lib/trends), its history for the
 * UI's charts, and retention. Storage follows the backlog store's backend (lib/trends/storage.ts).
 *   read  (tools.backlog.read):  history
 *   write (tools.backlog.write): snapshot
 *   admin (tools.backlog.admin): cleanup
 */
import * as v from "valibot";
import { addDays, todayUtc } from "../store/dates.ts";
import { refuseWhileDegraded } from "../store/index.ts";
import type { Policy } from "../generation/policy.ts";
import { strictObject } from "../core/strict.ts";
import { takeSnapshot } from "../trends/snapshot.ts";
import { trendsFor } from "../trends/storage.ts";
import { defineAction, type Tool } from "./types.ts";

export const TRENDS_TOOL = "trends_tool";
/** Default retention: a bit over a year, so year-on-year comparisons stay possible. */
export const TRENDS_RETENTION_DAYS = 400;

const params = <E extends v.ObjectEntries>(entries: E) => strictObject(entries, "parameter");
const DryRun = v.optional(v.boolean(), false);

export function createTrendsTool(policy: Policy) {
  const envs = policy.envs as [string, ...string[]];
  const Env = v.picklist(envs, `must be one of ${envs.join("|")} (config/backlog_policy.yml envs)`);
  return {
    name: TRENDS_TOOL,
    description: "Daily counts per env (open, overdue, P0/P1 open, created, closed) for the dashboard's trend charts.",
    actions: {
      snapshot: defineAction({
        description: "Record today's counts for one env, or every env when none is given; a re-run the same day replaces the row.",
        params: params({ env: v.optional(Env), dry_run: DryRun }),
        entitlement: "tools.backlog.write",
        writes: true,
        needs_full_view: true,
        run: async (p, ctx) => {
          // A gap in a chart is honest; a day counted from the fallback's few items would show a false dip.
          const refuse = () =>
            refuseWhileDegraded(
              ctx.store,
              "today's counts are taken from all items, some of which exist only there",
              "The scheduler asks again within the job's catch-up window; or run trends_tool.snapshot again once readyz reports ready (a re-run the same day replaces the row).",
            );
          refuse();
          const now = ctx.now();
          const rows = [];
          for (const env of p.env === undefined ? envs : [p.env]) rows.push(await takeSnapshot(ctx.store, env, now));
          refuse(); // after the reads: a switch to the fallback mid-read
          if (!p.dry_run) await trendsFor(ctx.store, ctx.log).put(rows);
          return { rows, dry_run: p.dry_run };
        },
      }),

      history: defineAction({
        description: "The env's daily rows for the last `weeks` weeks (default 12), oldest first.",
        params: params({ env: v.optional(Env, envs[0]), weeks: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(104)), 12) }),
        entitlement: "tools.backlog.read",
        writes: false,
        run: async (p, ctx) => {
          const to = todayUtc(ctx.now());
          const from = addDays(to, -(p.weeks * 7 - 1));
          return { env: p.env, from, to, rows: await trendsFor(ctx.store, ctx.log).range(p.env, from, to) };
        },
      }),

      cleanup: defineAction({
        description: `Drop daily rows older than retention_days (default ${TRENDS_RETENTION_DAYS}).`,
        params: params({
          retention_days: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(36_500)), TRENDS_RETENTION_DAYS),
          env: v.optional(Env),
          dry_run: DryRun,
        }),
        entitlement: "tools.backlog.admin",
        writes: true,
        run: async (p, ctx) => {
          const cutoff = addDays(todayUtc(ctx.now()), -p.retention_days);
          const removed = await trendsFor(ctx.store, ctx.log).cleanup(cutoff, p.dry_run, p.env);
          return { removed, cutoff, retention_days: p.retention_days, dry_run: p.dry_run };
        },
      }),
    },
  } satisfies Tool;
}
