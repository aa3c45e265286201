/**
 * backlog_tool: the one implementation of backlog reads, writes, generation and cleanup behind the CLI,
 * HTTP and the scheduler. Params are strict valibot schemas built from the policy (env must be one of
 * its envs); every writing action takes `dry_run: true` and then writes nothing and says what it would
 * do. Writes are recorded with actor = the calling agent.
 *   read  (tools.backlog.read):  list, get, dashboard
 *   write (tools.backlog.write): upsert, set_status, add_comment, snooze
 *   admin (tools.backlog.admin): auto_generate_weekly, auto_generate_daily, cleanup
 */
import * as v from "valibot";
import { evaluateAlerts } from "../generation/alerts.ts";
import { AppError } from "../core/errors.ts";
import { IsoWeekString } from "../generation/digest-schema.ts";
import { DateString, IdParam as Id, Name, Text } from "../domain/schemas.ts";
import { resolveOwner } from "../lifecycle/owner.ts";
import type { Policy } from "../generation/policy.ts";
import { addDays, todayUtc } from "../store/dates.ts";
import { cleanupCutoff, notFound, parseUpsert, planComment, planStatus, planTransition, planUpsert } from "../store/logic.ts";
import { ListFilterSchema, PRIORITIES, STATUSES, UpsertInputSchema } from "../store/types.ts";
import { strictObject } from "../core/strict.ts";
import { CLAIM_LEASE_MS } from "../notify/state.ts";
import { pruneNotices } from "../notify/prune.ts";
import { openNotifyState } from "../notify/state-open.ts";
import { CLEANUP_RETRY, dueSoonOf, runSlaPass, SLA_WHY } from "./backlog-sla.ts";
import { refuseWhileDegraded } from "../store/index.ts";
import { groupByLineage } from "../lifecycle/lineage.ts";
import { planSnooze } from "../lifecycle/snooze.ts";
import { defineAction, type Tool, type ToolContext } from "./types.ts";

export const BACKLOG_TOOL = "backlog_tool";

const params = <E extends v.ObjectEntries>(entries: E) => strictObject(entries, "parameter");
const DryRun = v.optional(v.boolean(), false);

async function mustGet(ctx: ToolContext, id: string) {
  const item = await ctx.store.get(id);
  if (!item) throw notFound(id);
  return item;
}

export function createBacklogTool(policy: Policy) {
  const Env = v.picklist(policy.envs as [string, ...string[]]);
  const GenEnv = v.optional(Env, policy.envs[0]!);

  return {
    name: BACKLOG_TOOL,
    description: "Backlog items: list, read, upsert, status, comments, dashboard, auto-generation from digests, retention cleanup.",
    actions: {
      list: defineAction({
        description: "Items matching the filters, newest first: {items, total}.",
        params: params({ ...ListFilterSchema.entries, env: v.optional(Env), group_by: v.optional(v.picklist(["lineage"])) }),
        entitlement: "tools.backlog.read",
        writes: false,
        run: async ({ group_by, ...p }, ctx) => {
          const r = await ctx.store.list(p, ctx.now());
          // group_by=lineage: the page's items grouped by lineage ("gateway/security: open 4 weeks running, P1").
          return group_by ? { ...r, lineages: groupByLineage(r.items, policy.dedupe.key_prefix) } : r;
        },
      }),

      get: defineAction({
        description: "One item and its events: {item, events}.",
        params: params({ id: Id }),
        entitlement: "tools.backlog.read",
        writes: false,
        run: async (p, ctx) => {
          const item = await mustGet(ctx, p.id);
          return { item, events: await ctx.store.events(item.id) };
        },
      }),

      dashboard: defineAction({
        description: "Counts, overdue items and top services (runbook 6), with the policy's alerts.",
        params: params({ env: v.optional(Env) }),
        entitlement: "tools.backlog.read",
        writes: false,
        run: async (p, ctx) => {
          const now = ctx.now();
          const dashboard = await ctx.store.dashboard(p.env === undefined ? {} : { env: p.env }, now);
          // `overdue` is truncated; when no P0 shows in it, ask for the real count before deciding.
          let p0: number | undefined;
          if (dashboard.overdue_count > dashboard.overdue.length && !dashboard.overdue.some((o) => o.priority === "P0")) {
            p0 = (await ctx.store.list({ ...(p.env === undefined ? {} : { env: p.env }), priority: "P0", overdue: true, limit: 1 }, now)).total;
          }
          return { ...dashboard, ...(await dueSoonOf(ctx, policy, p.env, now)), alerts: evaluateAlerts(dashboard, policy, p0) };
        },
      }),

      upsert: defineAction({
        description:
          "Create or refresh an item by dedupe_key (runbook 7). New items: priority, due date and owner default from the policy. " +
          "Existing items keep status, priority, due date, owner (unless given) and description (unless given).",
        params: params({
          ...UpsertInputSchema.entries,
          env: Env,
          priority: v.optional(v.picklist(PRIORITIES)),
          // No default here: leaving it out keeps an existing item's description (e.g. when only moving the owner).
          description: v.optional(Text(20_000)),
          dry_run: DryRun,
        }),
        entitlement: "tools.backlog.write",
        writes: true,
        run: async ({ dry_run, ...p }, ctx) => {
          const existing = await ctx.store.getByDedupeKey(p.dedupe_key);
          const category = policy.categories[p.category];
          const priority = p.priority ?? category?.priority;
          if (!priority) {
            throw new AppError(
              "invalid_input",
              `priority: required for category ${JSON.stringify(p.category)}, which has no default in ${policy.source} (categories with defaults: ${Object.keys(policy.categories).join(", ")}).`,
            );
          }
          const input = {
            ...p,
            priority,
            description: p.description ?? existing?.description ?? "",
            ...(existing
              ? {}
              : {
                  owner: p.owner === undefined ? resolveOwner(policy, (await import("../catalog/backstage.ts")).loadCatalog(policy.ownership.catalog).owners, p.service).owner : p.owner,
                  due_date: p.due_date === undefined && category ? addDays(todayUtc(ctx.now()), category.due_days) : p.due_date,
                }),
          };
          if (dry_run) {
            const plan = planUpsert(existing, parseUpsert(input), ctx.agent, ctx.now());
            return { item: plan.created ? { ...plan.item, id: null } : plan.item, created: plan.created, changed: plan.changed, dry_run };
          }
          const r = await ctx.store.upsert(input, { actor: ctx.agent });
          return { ...r, dry_run };
        },
      }),

      set_status: defineAction({
        description: "Change an item's status (an event records from/to and the message).",
        params: params({ id: Id, status: v.picklist(STATUSES), message: v.optional(Text(20_000)), dry_run: DryRun }),
        entitlement: "tools.backlog.write",
        writes: true,
        run: async (p, ctx) => {
          const before = await mustGet(ctx, p.id);
          const changed = before.status !== p.status;
          const item = p.dry_run
            ? planStatus(before, p.status, ctx.agent, p.message, ctx.now()).item
            : await ctx.store.setStatus(p.id, p.status, { actor: ctx.agent, ...(p.message === undefined ? {} : { message: p.message }) });
          return { item, previous_status: before.status, changed, dry_run: p.dry_run };
        },
      }),

      add_comment: defineAction({
        description: "Add a comment event to an item.",
        params: params({ id: Id, message: Text(20_000), dry_run: DryRun }),
        entitlement: "tools.backlog.write",
        writes: true,
        run: async (p, ctx) => {
          if (p.dry_run) return { event: planComment(await mustGet(ctx, p.id), p.message, ctx.agent, ctx.now()), dry_run: true };
          return { event: await ctx.store.addComment(p.id, p.message, { actor: ctx.agent }), dry_run: false };
        },
      }),

      snooze: defineAction({
        description:
          `Accept an open item for now: out of overdue counts and alerts until \`until\` (after today, at most lifecycle.max_snooze_days = ` +
          `${policy.lifecycle.max_snooze_days} days ahead), with a reason. A snoozed event now, a snooze_expired event from the daily cleanup job on that date.`,
        params: params({ id: Id, until: DateString, reason: Name(2000), dry_run: DryRun }),
        entitlement: "tools.backlog.write",
        writes: true,
        run: async (p, ctx) => {
          const item = await mustGet(ctx, p.id);
          const t = planSnooze(item, p.until, p.reason, todayUtc(ctx.now()), policy.lifecycle.max_snooze_days);
          if (p.dry_run) return { item: planTransition(item, t, ctx.agent, ctx.now()).item, dry_run: true };
          return { item: await ctx.store.transition(item.id, t, { actor: ctx.agent }), dry_run: false };
        },
      }),

      auto_generate_weekly: defineAction({
        description: `Items from the latest (or the given week's) platform digest: one per service and recommended category. Env defaults to ${policy.envs[0]}.`,
        params: params({ env: GenEnv, week: v.optional(IsoWeekString), dry_run: DryRun }),
        entitlement: "tools.backlog.admin",
        writes: true,
        needs_full_view: true,
        run: async (p, ctx) => (await import("./backlog-generate.ts")).runGeneration("weekly", { env: p.env, period: p.week, dry_run: p.dry_run }, ctx, policy),
      }),

      auto_generate_daily: defineAction({
        description: `Items from the latest (or the given date's) risk digest, when generation.daily_from_risk_digest is on. Env defaults to ${policy.envs[0]}.`,
        params: params({ env: GenEnv, date: v.optional(DateString), dry_run: DryRun }),
        entitlement: "tools.backlog.admin",
        writes: true,
        needs_full_view: true,
        run: async (p, ctx) => (await import("./backlog-generate.ts")).runGeneration("daily", { env: p.env, period: p.date, dry_run: p.dry_run }, ctx, policy),
      }),

      cleanup: defineAction({
        description:
          `Remove done/canceled items not updated for retention_days (default ${policy.defaults.retention_days}); open work is never removed. ` +
          "Then the SLA pass: ended snoozes get snooze_expired, overdue items escalate per sla.escalate_after_days_overdue. " +
          "Then the notifier's sent state drops what can never be sent again (lib/notify/prune.ts).",
        params: params({
          retention_days: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(36_500))),
          dry_run: DryRun,
        }),
        entitlement: "tools.backlog.admin",
        writes: true,
        needs_full_view: true,
        run: async (p, ctx) => {
          // Before the retention step too, so a refusal writes nothing (the SLA pass checks again after its read).
          refuseWhileDegraded(ctx.store, SLA_WHY, CLEANUP_RETRY);
          const retention_days = p.retention_days ?? policy.defaults.retention_days;
          const now = ctx.now();
          const removed = await ctx.store.cleanup(retention_days, now, { dryRun: p.dry_run });
          const sla = await runSlaPass(ctx, policy, p.dry_run);
          const rule = { now, remindDays: policy.notify.remind_days, retentionDays: retention_days, leaseMs: CLAIM_LEASE_MS };
          const notify_sent = await pruneNotices(openNotifyState(ctx.store, ctx.log), ctx.store, rule, p.dry_run);
          const result = { removed, retention_days, cutoff: cleanupCutoff(retention_days, now), sla, notify_sent, dry_run: p.dry_run };
          ctx.log.info(p.dry_run ? "cleanup: dry run" : "cleanup: done", result);
          return result;
        },
      }),
    },
  } satisfies Tool;
}
