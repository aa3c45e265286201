/**
 * The daily SLA pass, run by backlog_tool.cleanup (the daily_backlog_cleanup job) after retention:
 * snoozes that ended get their `snooze_expired` event, overdue items climb the escalation ladder
 * (sla.escalate_after_days_overdue; rules in lib/lifecycle/sla.ts). Every step is a store.transition
 * with actor = the caller; a re-run the same day takes no step twice. Dry run: the steps, nothing written.
 * On the auto store's JSONL fallback it refuses (503) after its read, before any step: the fallback's
 * copy of an item may be stale (a person closed or snoozed it in Postgres since), and its replayed
 * escalation would raise the priority of the item the person closed.
 */
import { AppError } from "../core/errors.ts";
import { planEscalation } from "../lifecycle/sla.ts";
import { planSnoozeExpiry } from "../lifecycle/snooze.ts";
import type { Policy } from "../generation/policy.ts";
import { refuseWhileDegraded } from "../store/index.ts";
import { compareOverdue } from "../store/compute-dashboard.ts";
import { daysBetween, todayUtc } from "../store/dates.ts";
import { planTransition } from "../store/logic.ts";
import { DASHBOARD_OVERDUE_LIMIT, OPEN_STATUSES, type BacklogItem, type Transition } from "../store/types.ts";
import { listAll } from "./list-all.ts";
import type { ToolContext } from "./types.ts";

export interface SlaStep {
  item_id: string;
  type: string;
  message: string;
}

export interface SlaResult {
  snooze_expired: number;
  escalated: number;
  steps: SlaStep[];
}

export async function runSlaPass(ctx: ToolContext, policy: Policy, dryRun: boolean): Promise<SlaResult> {
  const now = ctx.now();
  const today = todayUtc(now);
  const steps: SlaStep[] = [];
  const open = await listAll(ctx.store, { status: [...OPEN_STATUSES] }, now);
  refuseWhileDegraded(ctx.store, SLA_WHY, CLEANUP_RETRY);
  for (const found of open) {
    let item = found;
    const todo: Transition[] = [];
    const expiry = planSnoozeExpiry(item, today);
    if (expiry) {
      todo.push(expiry);
      item = planTransition(item, expiry, ctx.agent, now).item;
    }
    todo.push(...planEscalation(item, today, policy.sla.escalate_after_days_overdue));
    let expect = found.updated_at;
    for (const t of todo) {
      if (!dryRun) {
        try {
          expect = (await ctx.store.transition(found.id, { ...t, expect_updated_at: expect }, { actor: ctx.agent })).updated_at;
        } catch (err) {
          // Changed by someone meanwhile: the next run looks again.
          if (err instanceof AppError && err.code === "conflict") break;
          throw err;
        }
      }
      steps.push({ item_id: found.id, type: t.type, message: t.message });
    }
  }
  return { snooze_expired: steps.filter((s) => s.type === "snooze_expired").length, escalated: steps.filter((s) => s.type === "escalated").length, steps };
}

export const SLA_WHY = "escalations and snooze expiries are decided from every open item, some of which may exist only there or be stale copies";
export const CLEANUP_RETRY = "Run backlog_tool.cleanup again once readyz reports ready, or let tomorrow's daily_backlog_cleanup do it.";

export interface DueSoonEntry {
  id: string;
  env: string;
  service: string;
  category: string;
  title: string;
  priority: string;
  status: string;
  owner: string | null;
  due_date: string;
  days_left: number;
}

/**
 * The dashboard's due_soon: open, unsnoozed items due today or within notify.warn_days, soonest first
 * (at most 50 listed, like overdue, in the overdue list's order: due date, priority, id). The count is the
 * list's total; the rows are read in due order only until the 50th item's due date is complete (its
 * priorities decide the order within that day), not the whole window: a million items are not paged.
 */
/** Rows per list call while reading the due-soon window. */
const PAGE = 200;

export async function dueSoonOf(ctx: ToolContext, policy: Policy, env: string | undefined, now: Date) {
  const today = todayUtc(now);
  const warn = policy.notify.warn_days;
  const filter = { ...(env === undefined ? {} : { env }), due_within_days: warn, sort: "due" as const };
  const read: BacklogItem[] = [];
  let total = 0;
  for (let offset = 0; ; offset += PAGE) {
    const page = await ctx.store.list({ ...filter, limit: PAGE, offset }, now);
    total = page.total;
    read.push(...page.items);
    const boundary = read[DASHBOARD_OVERDUE_LIMIT - 1]?.due_date;
    const last = read.at(-1)?.due_date;
    if (page.items.length < PAGE || offset + PAGE >= total || (boundary !== undefined && last !== boundary)) break;
  }
  // the list filter (due_within_days) is the due-soon rule; only the order within a day is left to apply
  read.sort((a, b) => compareOverdue(a as never, b as never));
  const due_soon: DueSoonEntry[] = read.slice(0, DASHBOARD_OVERDUE_LIMIT).map((i) => ({
    id: i.id, env: i.env, service: i.service, category: i.category, title: i.title, priority: i.priority, status: i.status, owner: i.owner, due_date: i.due_date!,
    days_left: daysBetween(today, i.due_date!),
  }));
  return { due_soon_count: total, due_soon, warn_days: warn };
}
