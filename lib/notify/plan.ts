/**
 * What the notifier should say this run, as data (pure: no clock, no I/O). For each webhook:
 *   - an item that became due soon (alerting/due.ts) → one `warn` notice, once;
 *   - an overdue item → an `overdue` notice per reminder slot: slot 0 when it breaches, then one every
 *     remind_every_hours, only while within remind_days of the breach (a bounded window, then silence);
 *   - an item notified as firing that no longer needs attention (closed, re-planned) → one `resolved`.
 * Notices are grouped by owner: ONE message per owner per run. The fingerprint is the item id and its due
 * date, so a re-planned item is a new alert and its old one resolves.
 */
import { createHash } from "node:crypto";
import { attentionClassifier } from "../alerting/due.ts";
import { todayUtc } from "../store/dates.ts";
import type { BacklogItem } from "../store/types.ts";
import type { NotifyPolicy } from "./policy-schema.ts";
import { noticeKey, type ItemSummary, type NoticeKind, type NoticeRecord } from "./state.ts";

export interface Notice {
  key: string;
  fingerprint: string;
  kind: NoticeKind;
  slot: number;
  owner: string;
  item: ItemSummary;
  /** Whole days past due (overdue), days until due (warn); 0 for resolved. */
  days: number;
  /** For a resolved notice: the kind it resolves (warn or overdue). */
  was?: NoticeKind;
}

export interface OwnerPlan {
  owner: string;
  notices: Notice[];
}

const DAY_MS = 86_400_000;

export function fingerprint(item: Pick<ItemSummary, "id" | "due_date">): string {
  return createHash("sha256").update(`${item.id}\n${item.due_date}`).digest("hex").slice(0, 16);
}

export function summarize(it: BacklogItem): ItemSummary {
  return { id: it.id, env: it.env, service: it.service, title: it.title, priority: it.priority, due_date: it.due_date! };
}

/** The reminder slot of an overdue item at `now`, or null once outside the reminder window. */
export function reminderSlot(dueDate: string, now: Date, policy: Pick<NotifyPolicy, "remind_days" | "remind_every_hours">): number | null {
  const breach = Date.parse(dueDate + "T00:00:00Z") + DAY_MS; // overdue from the day after the due date
  const since = now.getTime() - breach;
  if (since < 0) return null;
  const slot = Math.floor(since / (policy.remind_every_hours * 3_600_000));
  if (slot === 0) return since < Math.max(policy.remind_days, 1) * DAY_MS ? 0 : null;
  return slot * policy.remind_every_hours * 3_600_000 < policy.remind_days * DAY_MS ? slot : null;
}

export function planNotices(
  webhook: string,
  items: BacklogItem[],
  firing: NoticeRecord[],
  now: Date,
  policy: Pick<NotifyPolicy, "warn_days" | "remind_days" | "remind_every_hours">,
  defaultOwner: string,
): OwnerPlan[] {
  const today = todayUtc(now);
  const notices: Notice[] = [];
  const current = new Set<string>();
  const attention = attentionClassifier(today, policy.warn_days);
  for (const it of items) {
    const a = attention(it);
    if (!a || it.due_date === null) continue;
    const fp = fingerprint({ id: it.id, due_date: it.due_date });
    current.add(fp);
    const owner = it.owner ?? defaultOwner;
    const days = Math.round((Date.parse(today) - Date.parse(it.due_date)) / DAY_MS);
    if (a === "due_soon") {
      notices.push({ key: noticeKey(webhook, fp, "warn", 0), fingerprint: fp, kind: "warn", slot: 0, owner, item: summarize(it), days: -days });
    } else {
      const slot = reminderSlot(it.due_date, now, policy);
      if (slot !== null) notices.push({ key: noticeKey(webhook, fp, "overdue", slot), fingerprint: fp, kind: "overdue", slot, owner, item: summarize(it), days });
    }
  }
  for (const f of firing) {
    if (current.has(f.fingerprint)) continue;
    notices.push({ key: noticeKey(webhook, f.fingerprint, "resolved", 0), fingerprint: f.fingerprint, kind: "resolved", slot: 0, owner: f.owner, item: f.item, days: 0, was: f.kind });
  }
  const byOwner = new Map<string, Notice[]>();
  for (const n of notices) {
    const list = byOwner.get(n.owner) ?? [];
    list.push(n);
    byOwner.set(n.owner, list);
  }
  return [...byOwner.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([owner, list]) => ({ owner, notices: list.sort(compareNotices) }));
}

const KIND_ORDER: Record<NoticeKind, number> = { overdue: 0, warn: 1, resolved: 2 };

function compareNotices(a: Notice, b: Notice): number {
  return KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || a.item.priority.localeCompare(b.item.priority) || a.item.due_date.localeCompare(b.item.due_date) || a.item.id.localeCompare(b.item.id);
}

export function toRecord(webhook: string, n: Notice, runId: string, now: Date): NoticeRecord {
  return { key: n.key, webhook, fingerprint: n.fingerprint, kind: n.kind, slot: n.slot, owner: n.owner, item: n.item, status: "sending", run_id: runId, claimed_at: now.toISOString(), sent_at: null };
}
