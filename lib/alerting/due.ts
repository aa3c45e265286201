/**
 * "Needs attention" for alerts and notifications, in ONE place: overdue is logic.ts isOverdue (unfinished,
 * due before today, UTC); due soon is unfinished and due today or within the next `warnDays` days. An
 * item is never both. Pure: no clock, no I/O.
 */
import { addDays, isOpen, isOverdue } from "../store/logic.ts";
import type { BacklogItem } from "../store/types.ts";

export const DEFAULT_WARN_DAYS = 3;

export type Attention = "overdue" | "due_soon" | null;

/** Unfinished and due in [today, today + warnDays] (UTC dates). */
export function isDueSoon(item: Pick<BacklogItem, "status" | "due_date">, today: string, warnDays: number): boolean {
  return item.due_date !== null && isOpen(item.status) && item.due_date >= today && item.due_date <= addDays(today, warnDays);
}

export function attentionOf(item: Pick<BacklogItem, "status" | "due_date">, today: string, warnDays: number): Attention {
  if (isOverdue(item, today)) return "overdue";
  return isDueSoon(item, today, warnDays) ? "due_soon" : null;
}

/** The last due date that counts as due soon: items due on or before it (and unfinished) need attention. */
export const attentionHorizon = (today: string, warnDays: number): string => addDays(today, warnDays);
