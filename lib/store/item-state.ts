/** What state an item is in: open or closed by status, snoozed, overdue. */
import { CLOSED_STATUSES, OPEN_STATUSES, type BacklogItem, type Status } from "./types.ts";

export const isOpen = (status: Status) => (OPEN_STATUSES as readonly string[]).includes(status);
export const isClosed = (status: Status) => (CLOSED_STATUSES as readonly string[]).includes(status);

/** Snoozed (backlog_tool.snooze) while today is before meta.snoozed_until: out of overdue counts and alerts. */
export function isSnoozed(item: { meta?: BacklogItem["meta"] }, today: string): boolean {
  const until = item.meta?.snoozed_until;
  return typeof until === "string" && until > today;
}

/** Not done/canceled, due before today (UTC), not snoozed. */
export function isOverdue(item: Pick<BacklogItem, "status" | "due_date"> & { meta?: BacklogItem["meta"] }, today: string): boolean {
  return !isClosed(item.status) && item.due_date !== null && item.due_date < today && !isSnoozed(item, today);
}
