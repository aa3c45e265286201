/**
 * architecture_pressure_tool.digest (tools.pressure.write; weekly, Monday 06:00 UTC, runbook 9): the
 * week's risk history plus the backlog's open/overdue items per service → pressure_score, band,
 * recommended_categories and reasons, written as ops/reports/platform/YYYY-WW.json (the schema
 * backlog_tool.auto_generate_weekly reads, validated before writing) and a readable .md.
 * Window: the 7 days up to the end of the week, or up to now while the week is still running.
 */
import * as v from "valibot";
import { platformDigestSchema, IsoWeekString } from "../generation/digest-schema.ts";
import { AppError } from "../core/errors.ts";
import { isoWeekLabel, isoWeekMonday, parseDate, parseIsoWeek } from "../core/isoweek.ts";
import type { Policy } from "../generation/policy.ts";
import { checkCategories } from "../pressure/categories.ts";
import { buildPlatformDigest, renderPlatformMarkdown, type BacklogCounts } from "../pressure/digest.ts";
import { checkDigest, reportPaths, writeReport } from "../generation/reports.ts";
import type { RiskPolicy } from "../risk/policy.ts";
import { DAY_MS } from "../risk/score.ts";
import { riskHistoryFor } from "../risk/storage.ts";
import { refuseWhileDegraded } from "../store/index.ts";
import { OPEN_STATUSES } from "../store/types.ts";
import { strictObject } from "../core/strict.ts";
import { RISK_TOOL } from "./risk.ts";
import { defineAction, type Tool, type ToolContext } from "./types.ts";

export const PRESSURE_TOOL = "architecture_pressure_tool";

/** Open and overdue items of one service, counted by the store (whatever its backend). */
async function backlogCounts(ctx: ToolContext, env: string, services: string[], now: Date): Promise<Map<string, BacklogCounts>> {
  const out = new Map<string, BacklogCounts>();
  for (const service of services) {
    const open = await ctx.store.list({ env, service, status: [...OPEN_STATUSES], limit: 1 }, now);
    const overdue = await ctx.store.list({ env, service, overdue: true, limit: 1 }, now);
    out.set(service, { open: open.total, overdue: overdue.total });
  }
  return out;
}

export function weekWindow(week: string, now: Date): { from: string; to: string } {
  const end = Math.min(parseDate(isoWeekMonday(parseIsoWeek(week))).getTime() + 7 * DAY_MS, now.getTime());
  return { from: new Date(end - 7 * DAY_MS).toISOString(), to: new Date(end).toISOString() };
}

export function createPressureTool(policy: Policy, risk: RiskPolicy) {
  const envs = policy.envs as [string, ...string[]];
  const Env = v.optional(v.picklist(envs, `must be one of ${envs.join("|")} (config/backlog_policy.yml envs)`), envs[0]);

  return {
    name: PRESSURE_TOOL,
    description: "Weekly architecture pressure per service from risk history and the backlog: the platform digest generation reads.",
    actions: {
      digest: defineAction({
        description:
          "Writes ops/reports/platform/YYYY-WW.json and .md for the env (`week` defaults to the current ISO week). " +
          "Re-running a week overwrites its files. No risk history in the window → error, nothing written.",
        params: strictObject({ env: Env, week: v.optional(IsoWeekString), dry_run: v.optional(v.boolean(), false) }, "parameter"),
        entitlement: "tools.pressure.write",
        writes: true,
        needs_full_view: true,
        run: async (p, ctx) => {
          // Before the reads, and again after them: a switch to the fallback mid-read is refused too.
          const refuse = () =>
            refuseWhileDegraded(
              ctx.store,
              "the digest reads a week of risk history and the open and overdue items held there: from the fallback it would list only the outage's services, and the weekly generation would auto-resolve the items of every service missing from it",
              "The scheduler asks again within the job's catch-up window; or run architecture_pressure_tool.digest again once readyz reports ready.",
            );
          refuse();
          const now = ctx.now();
          const current = isoWeekLabel(now);
          const week = p.week ?? current;
          if (week > current) throw new AppError("invalid_input", `week: must not be after the current week ${current}, got ${JSON.stringify(week)}`);
          checkCategories(risk.pressure.categories, Object.keys(policy.categories), "config/risk_policy.yml", policy.source);

          const window = weekWindow(week, now);
          const history = await riskHistoryFor(ctx.store, ctx.log).history(p.env, window.from, window.to);
          refuse(); // read from the fallback after a switch mid-read, it is no "no history"
          if (!history.length) {
            throw new AppError(
              "not_found",
              `No risk history for ${p.env} between ${window.from} and ${window.to}: run ${RISK_TOOL}.snapshot (hourly) after recording ` +
                `signals with ${RISK_TOOL}.record. No platform digest was written.`,
            );
          }
          const services = [...new Set(history.map((r) => r.service))];
          const counts = await backlogCounts(ctx, p.env, services, now);
          refuse(); // and again after the item counts
          const digest = checkDigest(
            platformDigestSchema(Object.keys(policy.categories)),
            buildPlatformDigest({ env: p.env, week, generatedAt: now.toISOString(), history, counts, policy: risk }),
            `The platform digest for ${p.env} ${week}`,
          );
          const paths = reportPaths(ctx.paths.reportsDir, "platform", p.env, week, envs[0]);
          if (!p.dry_run) await writeReport(paths, digest, renderPlatformMarkdown(digest, window));
          return { dry_run: p.dry_run, env: p.env, week, window, files: paths, written: !p.dry_run, services: digest.services.length, digest };
        },
      }),
    },
  } satisfies Tool;
}
