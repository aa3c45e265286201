/**
 * "Needs attention" for alerts and notifications, in ONE place: overdue is item-state.ts isOverdue (unfinished,
 * due before today, UTC, not snoozed); due soon is unfinished, not snoozed, and due today or within the
 * next `warnDays` days. An item is never both. Pure: no clock, no I/O.
 */
import { addDays } from "../store/dates.ts";
import { isClosed, isSnoozed } from "../store/item-state.ts";
import type { BacklogItem } from "../store/types.ts";

export const DEFAULT_WARN_DAYS = 3;

export type Attention = "overdue" | "due_soon" | null;

/** `meta` only matters for a snooze (backlog_tool.snooze): without it an item is not snoozed. */
type Dated = Pick<BacklogItem, "status" | "due_date"> & { meta?: BacklogItem["meta"] };

/** The last due date that counts as due soon: items due on or before it (and unfinished) need attention. */
export const attentionHorizon = (today: string, warnDays: number): string => addDays(today, warnDays);

/** The rule for one day, with the date maths done once (aggregates call it for every item). */
export function attentionClassifier(today: string, warnDays: number): (item: Dated) => Attention {
  const horizon = attentionHorizon(today, warnDays);
  return (it) =>
    it.due_date === null || isClosed(it.status) || isSnoozed(it, today) ? null : it.due_date < today ? "overdue" : it.due_date <= horizon ? "due_soon" : null;
}

export function attentionOf(item: Dated, today: string, warnDays: number): Attention {
  return attentionClassifier(today, warnDays)(item);
}

/** Unfinished, not snoozed and due in [today, today + warnDays] (UTC dates). */
export function isDueSoon(item: Dated, today: string, warnDays: number): boolean {
  return attentionOf(item, today, warnDays) === "due_soon";
}
