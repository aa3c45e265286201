/**
 * Snooze rules, pure: `until` bounds and expiry (docs/generation.md). A snoozed item stays out of
 * overdue counts and alerts while today < until (isSnoozed in lib/store/item-state.ts); on `until` it is
 * back, and the daily cleanup job writes its `snooze_expired` event.
 */
import { AppError } from "../core/errors.ts";
import { addDays } from "../store/dates.ts";
import { isClosed } from "../store/item-state.ts";
import type { BacklogItem, Transition } from "../store/types.ts";

export function planSnooze(item: BacklogItem, until: string, reason: string, today: string, maxDays: number): Transition {
  if (isClosed(item.status)) throw new AppError("invalid_input", `id: item ${item.id} is ${item.status}; only open work can be snoozed.`);
  const latest = addDays(today, maxDays);
  if (until <= today) throw new AppError("invalid_input", `until: must be after today (${today}), got ${until}.`);
  if (until > latest) throw new AppError("invalid_input", `until: at most lifecycle.max_snooze_days (${maxDays}) ahead, i.e. ${latest} or earlier; got ${until}.`);
  const text = reason.trim();
  if (!text) throw new AppError("invalid_input", "reason: say why the item is snoozed (must not be empty).");
  return { type: "snoozed", message: `snoozed until ${until}: ${text}`, set: { meta: { snoozed_until: until } }, meta: { until, reason: text } };
}

/** The expiry step for an item whose snooze ended (null when it has none pending). */
export function planSnoozeExpiry(item: BacklogItem, today: string): Transition | null {
  const until = item.meta.snoozed_until;
  if (typeof until !== "string" || until > today) return null;
  return { type: "snooze_expired", message: `snooze ended on ${until}`, set: { meta: { snoozed_until: null } }, meta: { until } };
}
