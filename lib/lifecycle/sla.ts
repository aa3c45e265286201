/**
 * SLA rules, pure: the escalation ladder (docs/generation.md). Due soon is lib/alerting/due.ts isDueSoon
 * (notify.warn_days), shared with metrics and notifications.
 *   escalate   every `after` days overdue one priority step up (P3→P2→P1→P0), never above P0, each step
 *              once: meta.escalations counts the steps taken, so a re-run takes none
 */
import { daysBetween } from "../store/dates.ts";
import { isOverdue } from "../store/item-state.ts";
import { PRIORITIES, type BacklogItem, type Priority, type Transition } from "../store/types.ts";

export const stepUp = (p: Priority): Priority => PRIORITIES[Math.max(0, PRIORITIES.indexOf(p) - 1)]!;

/** The escalation steps due for one item now, one transition per step (empty when none is due). */
export function planEscalation(item: BacklogItem, today: string, afterDays: number): Transition[] {
  if (afterDays <= 0 || !isOverdue(item, today)) return [];
  const overdue = daysBetween(item.due_date!, today);
  const done = typeof item.meta.escalations === "number" ? item.meta.escalations : 0;
  const due = Math.floor(overdue / afterDays);
  const out: Transition[] = [];
  let priority = item.priority;
  for (let step = done + 1; step <= due && priority !== "P0"; step++) {
    const next = stepUp(priority);
    out.push({
      type: "escalated",
      message: `escalated from ${priority} to ${next}: ${overdue} days overdue (step ${step}, every ${afterDays} days)`,
      set: { priority: next, meta: { escalations: step } },
      meta: { from: priority, to: next, days_overdue: overdue, step },
    });
    priority = next;
  }
  return out;
}
