/**
 * Keeps the notifier's sent state bounded without ever sending a notice twice; run by the daily retention
 * cleanup (backlog_tool.cleanup). The records of one item fingerprint (webhook × item id × due date) go
 * together, and only once the notifier can never plan a warn or overdue notice for it again: warnings stop
 * on the due date, reminders remind_days after it (plan.ts reminderSlot), so from QUIET_MARGIN_DAYS later
 * the records no longer stop anything from being re-sent. Then the group goes when
 *   - it is not firing (resolved already sent, or nothing was ever sent: a crashed run's old claim), or
 *   - it is firing but its item is gone from the store (retention removed it), or
 *   - it is firing and nothing was sent or claimed for it within the retention window.
 * The last two only lose a "resolved" note that would come months late, if ever. Never touched: a claim
 * younger than its lease (a run sending right now). Raising remind_days afterwards can remind again about
 * items whose state was pruned, within the new window only.
 */
import { addDays, todayUtc } from "../store/dates.ts";
import type { BacklogStore } from "../store/types.ts";
import type { NoticeRecord, NotifyStateStore } from "./state.ts";

/** Days after the last possible reminder before a group may go: room for replicas' clocks to disagree. */
export const QUIET_MARGIN_DAYS = 1;

export interface PruneRule {
  now: Date;
  /** notify.remind_days */
  remindDays: number;
  /** The cleanup's retention_days. */
  retentionDays: number;
  /** A claim younger than this is a run in flight (dispatch.ts CLAIM_LEASE_MS). */
  leaseMs: number;
}

export interface PrunePlan {
  /** Records to remove now. */
  drop: NoticeRecord[];
  /** Firing groups to remove if their item is gone, by item id. */
  ifGone: Map<string, NoticeRecord[]>;
}

/** The first day on which no warn or overdue notice can be planned for this due date. */
export const quietFrom = (dueDate: string, remindDays: number) => addDays(dueDate, 1 + Math.max(remindDays, 1) + QUIET_MARGIN_DAYS);

/** Pure: which groups may go now, and which only if their item is gone. */
export function planPrune(records: Iterable<NoticeRecord>, rule: PruneRule): PrunePlan {
  const groups = new Map<string, NoticeRecord[]>();
  for (const r of records) {
    const g = `${r.webhook}\n${r.fingerprint}`;
    const list = groups.get(g) ?? [];
    list.push(r);
    groups.set(g, list);
  }
  const today = todayUtc(rule.now);
  const leaseCutoff = new Date(rule.now.getTime() - rule.leaseMs).toISOString();
  const retentionCutoff = new Date(rule.now.getTime() - rule.retentionDays * 86_400_000).toISOString();
  const plan: PrunePlan = { drop: [], ifGone: new Map() };
  for (const group of groups.values()) {
    if (group.some((r) => r.status === "sending" && r.claimed_at >= leaseCutoff)) continue;
    if (today < quietFrom(group[0]!.item.due_date, rule.remindDays)) continue;
    const firing = !group.some((r) => r.kind === "resolved") && group.some((r) => r.status === "sent");
    const last = group.reduce((m, r) => ((r.sent_at ?? r.claimed_at) > m ? (r.sent_at ?? r.claimed_at) : m), "");
    if (!firing || last < retentionCutoff) plan.drop.push(...group);
    else {
      const id = group[0]!.item.id;
      plan.ifGone.set(id, [...(plan.ifGone.get(id) ?? []), ...group]);
    }
  }
  return plan;
}

export interface PruneResult {
  /** Records removed (dry run: that would be). */
  removed: number;
  /** Records kept. */
  kept: number;
}

/** Prunes `state` by the rule, asking `store` whether the items of firing groups still exist. */
export async function pruneNotices(state: NotifyStateStore, store: Pick<BacklogStore, "get">, rule: PruneRule, dryRun = false): Promise<PruneResult> {
  // Counted per call: the auto store prunes its Postgres table and its JSONL fallback file.
  let total = 0;
  const removed = await state.prune(async (records) => {
    total += records.length;
    const plan = planPrune(records, rule);
    for (const [id, group] of plan.ifGone) if (!(await store.get(id))) plan.drop.push(...group);
    return plan.drop;
  }, dryRun);
  return { removed, kept: total - removed };
}
