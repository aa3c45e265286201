/**
 * PURE planning of one Alertmanager notification against its group's items (docs/alerting.md): the
 * mapped group + the group's items, oldest first → the steps to apply (lifecycle Step, the generator's
 * vocabulary) and the outcome. Every step is guarded by the state it leaves, so the same notification
 * again (Alertmanager retries, repeat_interval) plans only an unchanged refresh, never a second item or
 * a second event of the same change.
 *
 *   firing    no item            → create item 1
 *             latest unfinished  → refresh it (title, description, alert meta; status, owner, priority and due date stay)
 *             latest done        → within reopen_within_days of its close: reopen it; later: item n+1 linked to it
 *             latest canceled    → won't fix: within the window nothing is filed (suppressed); later item n+1
 *   resolved  latest unfinished  → auto_resolve: done (`auto_resolved`), or one `signal_gone` when a person
 *                                  changed it; without auto_resolve: refresh (the description says resolved)
 *             no item / closed   → nothing (ignored)
 */
import { PERSON_EVENTS, recurStep, unlinkedPredecessor, type Step } from "../lifecycle/plan.ts";
import { addDays, todayUtc } from "../store/dates.ts";
import { OPEN_STATUSES, type BacklogEvent, type BacklogItem, type UpsertInput } from "../store/types.ts";
import { dedupeKeyOf, INTAKE_SOURCE, type MappedGroup } from "./map.ts";
import type { AlertIntakePolicy } from "./policy-schema.ts";

export const INTAKE_OUTCOMES = ["created", "reopened", "updated", "unchanged", "resolved", "signal_gone", "suppressed", "ignored"] as const;
export type IntakeOutcome = (typeof INTAKE_OUTCOMES)[number];

export interface IntakePlanInput {
  group: MappedGroup;
  /** The group's items (meta.lineage_key), oldest first (by meta.seq). */
  items: readonly BacklogItem[];
  /** Whether a person changed the latest item since it was (re)opened; asked only for a resolve with auto_resolve. */
  touched: boolean;
  /** Owner of a new item (owner label, else the policy's rule) and where it came from. */
  owner: { owner: string; source: string };
  policy: Pick<AlertIntakePolicy, "reopen_within_days" | "auto_resolve">;
  now: Date;
}

export interface IntakePlan {
  /** What this notification does; `updated` may turn out `unchanged` when the store finds nothing new. */
  outcome: IntakeOutcome;
  steps: Step[];
  /** The item acted on (null: a new one, or none). */
  item_id: string | null;
  dedupe_key: string | null;
  reason: string;
}

const OPEN: readonly string[] = OPEN_STATUSES;

export const seqOf = (item: BacklogItem): number => {
  const s = item.meta.seq;
  if (typeof s === "number" && Number.isInteger(s) && s > 0) return s;
  const m = /:(\d+)$/.exec(item.dedupe_key);
  return m ? Number(m[1]) : 0;
};

/** Status not `open`, or a person's event since the item was created or last reopened. */
export function touchedSinceOpened(item: BacklogItem, events: readonly BacklogEvent[]): boolean {
  if (item.status !== "open") return true;
  let since = "";
  for (const e of events) if ((e.type === "created" || e.type === "reopened") && e.ts >= since) since = e.ts;
  return events.some((e) => e.ts >= since && PERSON_EVENTS.includes(e.type));
}

/** When the item was closed: the intake's resolve time, else its last change (a person's status change). */
const closedAt = (item: BacklogItem): number => Date.parse(typeof item.meta.alert_resolved_at === "string" ? item.meta.alert_resolved_at : item.updated_at);

function refresh(item: BacklogItem, g: MappedGroup): Step {
  // Never owner, tags or priority of an existing item (runbook 7): only title, description and meta.
  const input: UpsertInput = { env: item.env, service: item.service, category: item.category, title: g.title, description: g.description, priority: item.priority, source: INTAKE_SOURCE, dedupe_key: item.dedupe_key, meta: g.meta };
  return { step: "upsert", dedupe_key: item.dedupe_key, existing_id: item.id, input };
}

export function planIntake(input: IntakePlanInput): IntakePlan {
  const { group: g, items, policy, now } = input;
  const today = todayUtc(now);
  const latest = items.at(-1) ?? null;
  const none = (outcome: IntakeOutcome, reason: string): IntakePlan => ({ outcome, steps: [], item_id: latest?.id ?? null, dedupe_key: latest?.dedupe_key ?? null, reason });

  if (g.status === "resolved") {
    if (!latest || !OPEN.includes(latest.status)) return none("ignored", latest ? `item ${latest.id} is already ${latest.status}` : "no item for this alert group");
    if (!policy.auto_resolve) return { outcome: "updated", steps: [refresh(latest, g)], item_id: latest.id, dedupe_key: latest.dedupe_key, reason: "resolved; auto_resolve is off, the item stays open" };
    const why = `Alertmanager resolved the alert group (${g.resolved} alert${g.resolved === 1 ? "" : "s"})`;
    if (input.touched) {
      if (latest.meta.alert_status === "resolved") return none("unchanged", "resolved already noted on the item a person changed");
      return {
        outcome: "signal_gone",
        steps: [{ step: "transition", item_id: latest.id, transition: { type: "signal_gone", message: `signal gone: ${why}; left open because a person changed it`, set: { meta: { ...g.meta, alert_status: "resolved" } }, meta: { source: INTAKE_SOURCE }, expect_updated_at: latest.updated_at } }],
        item_id: latest.id,
        dedupe_key: latest.dedupe_key,
        reason: "a person changed the item: left open",
      };
    }
    return {
      outcome: "resolved",
      steps: [{ step: "transition", item_id: latest.id, transition: { type: "auto_resolved", message: `auto-resolved: ${why}`, set: { status: "done", meta: { ...g.meta, alert_status: "resolved", alert_resolved_at: now.toISOString() } }, meta: { source: INTAKE_SOURCE }, expect_updated_at: latest.updated_at } }],
      item_id: latest.id,
      dedupe_key: latest.dedupe_key,
      reason: why,
    };
  }

  if (latest && OPEN.includes(latest.status)) {
    const steps = [refresh(latest, g)];
    const prev = unlinkedPredecessor(latest, items);
    if (prev) steps.push(recur(prev, latest.id, latest.dedupe_key));
    return { outcome: "updated", steps, item_id: latest.id, dedupe_key: latest.dedupe_key, reason: "the group's item is open" };
  }

  const windowMs = policy.reopen_within_days * 86_400_000;
  const within = latest !== null && windowMs > 0 && now.getTime() - closedAt(latest) <= windowMs;
  if (latest && within && latest.status === "canceled") return none("suppressed", `item ${latest.id} was canceled (won't fix) within the last ${policy.reopen_within_days} days: not reopened`);
  if (latest && within) {
    return {
      outcome: "reopened",
      steps: [
        {
          step: "transition",
          item_id: latest.id,
          transition: {
            type: "reopened",
            message: "reopened: Alertmanager reports the alert group firing again",
            set: { status: "open", priority: g.priority, due_date: addDays(today, g.due_days), meta: { alert_resolved_at: null, escalations: 0, snoozed_until: null } },
            meta: { source: INTAKE_SOURCE, closed_at: new Date(closedAt(latest)).toISOString() },
            expect_updated_at: latest.updated_at,
          },
        },
        refresh(latest, g),
      ],
      item_id: latest.id,
      dedupe_key: latest.dedupe_key,
      reason: `firing again within ${policy.reopen_within_days} days of its close`,
    };
  }

  const seq = Math.max(0, ...items.map(seqOf)) + 1;
  const key = dedupeKeyOf(g.key_hash, seq);
  const create: Step = {
    step: "upsert",
    dedupe_key: key,
    existing_id: null,
    input: {
      env: g.env, service: g.service, category: g.category, title: g.title, description: g.description, priority: g.priority, status: "open",
      owner: input.owner.owner, due_date: addDays(today, g.due_days), source: INTAKE_SOURCE, dedupe_key: key, tags: ["alert", INTAKE_SOURCE],
      meta: { ...g.meta, seq, prev_id: latest?.id ?? null, next_id: null, owner_source: input.owner.source },
    },
  };
  return {
    outcome: "created",
    steps: latest ? [create, recur(latest, null, key)] : [create],
    item_id: null,
    dedupe_key: key,
    reason: latest ? `item ${latest.id} closed longer than ${policy.reopen_within_days} days ago: a new item linked to it` : "first notification of this alert group",
  };
}

/** The predecessor's link to its successor (the lineage rule, lib/lifecycle/plan.ts), guarded by its updated_at. */
const recur = (prev: BacklogItem, nextId: string | null, nextKey: string): Step =>
  recurStep(prev, { key: nextKey, id: nextId }, "the alert group fired again", { source: INTAKE_SOURCE }, true);
