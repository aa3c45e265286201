/**
 * PURE lifecycle planning of one generation run (docs/generation.md): the digest's candidates + the
 * lineage's existing items → the steps to apply, in order. Re-running the same digest against the
 * result plans only `unchanged` upserts: every step is guarded by the state it leaves behind.
 *
 *   present lineage   weekly: the period's item (new, linked to the previous one, which gets `recurred`)
 *                     rolling: the open item refreshed (streak, history), a new one only when none is open
 *                     either mode: an item auto-resolved within reopen_within_days is reopened instead
 *   absent lineage    after auto_resolve_after consecutive digests without it: untouched open items →
 *                     done (`auto_resolved`), items a person changed → one `signal_gone` event
 */
import type { PolicyData } from "../generation/policy-schema.ts";
import { addDays, daysBetween, todayUtc } from "../store/dates.ts";
import { OPEN_STATUSES, type BacklogEvent, type BacklogItem, type Transition, type UpsertInput } from "../store/types.ts";
import { compareInLineage, lastPeriodOf, lineageKey, lineageOf, periodsOf, streakOf } from "./lineage.ts";

/** What the generator asks for, per (service, category): see lib/generation/generate.ts. */
export interface LifecycleCandidate {
  dedupe_key: string;
  service: string;
  category: string;
  /** The upsert the runbook rule alone would make (owner/tags set for new items). */
  input: UpsertInput;
  due_days: number;
}

export interface LifecycleInput {
  env: string;
  /** The digest's period (ISO week or date). */
  period: string;
  /** Periods of this env's digests of this kind up to and including `period`, ascending. */
  periods: readonly string[];
  /** Within the cap, in order. */
  candidates: readonly LifecycleCandidate[];
  /** Lineages the digest recommends, including capped ones (a capped lineage is not absent). */
  present: ReadonlySet<string>;
  /** This env's items of this generation source, any status. */
  items: readonly BacklogItem[];
  /** Events of open items whose lineage is absent (to tell a person's change); others may be missing. */
  events: ReadonlyMap<string, readonly BacklogEvent[]>;
  policy: Pick<PolicyData, "lifecycle" | "dedupe">;
  now: Date;
}

export type Step =
  /** Create or refresh by dedupe key (the store's upsert rule); `action` is what it will do. */
  | { step: "upsert"; dedupe_key: string; existing_id: string | null; input: UpsertInput }
  /** Lifecycle transition of an existing item. `next_ref`: meta.next_id = the id the upsert of that dedupe key got. */
  | { step: "transition"; item_id: string; transition: Transition; next_ref?: string };

const OPEN: readonly string[] = OPEN_STATUSES;
/** Event types only people (or tools on their behalf) write: an item with one is not closed automatically. */
export const PERSON_EVENTS: readonly string[] = ["status_changed", "owner_changed", "commented", "snoozed"];

export function touchedByPerson(item: BacklogItem, events: readonly BacklogEvent[] | undefined): boolean {
  return item.status !== "open" || (events ?? []).some((e) => PERSON_EVENTS.includes(e.type));
}

export function planLifecycle(input: LifecycleInput): Step[] {
  const { policy, period, now } = input;
  const prefix = policy.dedupe.key_prefix;
  const today = todayUtc(now);
  const prevDigest = [...input.periods].filter((p) => p < period).at(-1) ?? null;
  const byLineage = new Map<string, BacklogItem[]>();
  const byKey = new Map<string, BacklogItem>();
  for (const it of input.items) {
    byKey.set(it.dedupe_key, it);
    const k = lineageOf(it, prefix);
    byLineage.get(k)?.push(it) ?? byLineage.set(k, [it]);
  }
  for (const list of byLineage.values()) list.sort(compareInLineage);

  const steps: Step[] = [];
  for (const c of input.candidates) {
    const lk = lineageKey(prefix, input.env, c.service, c.category);
    const items = byLineage.get(lk) ?? [];
    const base = { ...c.input, meta: { ...(c.input.meta ?? {}), lineage_key: lk } };
    const latest = items.at(-1) ?? null;
    const latestPeriod = latest ? lastPeriodOf(latest) : null;
    // This period's item: its own key, or one already refreshed/reopened for this period.
    const current = byKey.get(c.dedupe_key) ?? [...items].reverse().find((i) => lastPeriodOf(i) === period) ?? null;
    if (current) {
      steps.push(refresh(current, base, period));
      const prev = unlinkedPredecessor(current, items);
      if (prev) steps.push(recur(prev, period, current.dedupe_key, current.id));
      continue;
    }
    if (latestPeriod !== null && latestPeriod > period) {
      // An older digest run after newer ones: the runbook rule alone, no lifecycle steps.
      steps.push({ step: "upsert", dedupe_key: c.dedupe_key, existing_id: null, input: base });
      continue;
    }
    const streak = latest && latestPeriod === prevDigest && prevDigest !== null ? streakOf(latest) + 1 : 1;
    const open = items.filter((i) => OPEN.includes(i.status));
    if (policy.lifecycle.mode === "rolling" && open.length) {
      const o = open.at(-1)!;
      steps.push(refresh(o, { ...base, meta: { ...base.meta, last_period: period, streak, periods: [...periodsOf(o), period] } }, period, o.dedupe_key));
      continue;
    }
    const reopenable = latest && !open.length ? reopenCandidate(latest, today, policy.lifecycle.reopen_within_days) : null;
    if (reopenable) {
      steps.push({
        step: "transition",
        item_id: reopenable.id,
        transition: {
          type: "reopened",
          message: `reopened: ${period} recommends it again ${daysBetween(String(reopenable.meta.auto_resolved_on), today)} days after its auto-resolve`,
          // The period goes in with the reopen, so a re-run after a crash sees this period's item.
          set: {
            status: "open",
            due_date: addDays(today, c.due_days),
            meta: { auto_resolved_on: null, signal_gone_after: null, escalations: 0, last_period: period, streak, periods: [...periodsOf(reopenable), period] },
          },
          meta: { period, auto_resolved_on: reopenable.meta.auto_resolved_on },
          expect_updated_at: reopenable.updated_at,
        },
      });
      steps.push(refresh(reopenable, base, period));
      continue;
    }
    steps.push({
      step: "upsert",
      dedupe_key: c.dedupe_key,
      existing_id: null,
      input: { ...base, meta: { ...base.meta, last_period: period, streak, prev_id: latest?.id ?? null, next_id: null } },
    });
    if (latest) steps.push(recur(latest, period, c.dedupe_key, null));
  }

  const after = policy.lifecycle.auto_resolve_after;
  if (after > 0) {
    for (const [lk, items] of byLineage) {
      if (input.present.has(lk)) continue;
      const open = items.filter((i) => OPEN.includes(i.status));
      if (!open.length) continue;
      const lastSeen = items.map(lastPeriodOf).filter((p): p is string => p !== null).sort().at(-1);
      if (lastSeen === undefined || lastSeen >= period) continue;
      const missed = input.periods.filter((p) => p > lastSeen && p <= period);
      if (missed.length < after) continue;
      const why = `absent from ${missed.length} consecutive digest${missed.length === 1 ? "" : "s"} (${missed.join(", ")}) since ${lastSeen}`;
      for (const it of open) {
        if (touchedByPerson(it, input.events.get(it.id))) {
          if (it.meta.signal_gone_after === lastSeen) continue;
          steps.push({
            step: "transition",
            item_id: it.id,
            transition: { type: "signal_gone", message: `signal gone: ${why}; left open because a person changed it`, set: { meta: { signal_gone_after: lastSeen } }, meta: { missed, last_seen: lastSeen }, expect_updated_at: it.updated_at },
          });
        } else {
          steps.push({
            step: "transition",
            item_id: it.id,
            transition: { type: "auto_resolved", message: `auto-resolved: ${why}`, set: { status: "done", meta: { auto_resolved_on: today } }, meta: { missed, last_seen: lastSeen }, expect_updated_at: it.updated_at },
          });
        }
      }
    }
  }
  return steps;
}

function refresh(item: BacklogItem, input: UpsertInput, period: string, key = item.dedupe_key): Step {
  // An item already refreshed for this period keeps its lifecycle fields as they are.
  const meta = lastPeriodOf(item) === period ? stripLifecycle(input.meta ?? {}) : (input.meta ?? {});
  const { owner: _o, tags: _t, ...rest } = input; // never for an existing item (runbook 7)
  return { step: "upsert", dedupe_key: key, existing_id: item.id, input: { ...rest, dedupe_key: key, meta } };
}

const stripLifecycle = (m: Record<string, unknown>) => {
  const { last_period: _l, streak: _s, periods: _p, prev_id: _pi, next_id: _ni, ...rest } = m;
  return rest;
};

const recur = (prev: BacklogItem, period: string, nextRef: string, nextId: string | null): Step =>
  recurStep(prev, { key: nextRef, id: nextId }, `${period} recommends this lineage again`, { period });

// ---- links between a lineage's items: shared with the alert intake (lib/intake/plan.ts) ---------------

/**
 * The predecessor's `recurred` event and meta.next_id. `next_ref` is the successor's dedupe key: its id,
 * unknown until the upsert creates it, replaces the key in the message and next_id (resolveLink).
 * `guarded`: only if the predecessor is as planned (expect_updated_at).
 */
export function recurStep(prev: BacklogItem, next: { key: string; id: string | null }, why: string, meta: Record<string, unknown>, guarded = false): Step {
  const transition: Transition = { type: "recurred", message: `recurred: ${why} (${next.id ?? next.key})`, set: { meta: { next_id: next.id } }, meta: { ...meta, next_dedupe_key: next.key } };
  return { step: "transition", item_id: prev.id, next_ref: next.key, transition: guarded ? { ...transition, expect_updated_at: prev.updated_at } : transition };
}

/** The predecessor `current` names (prev_id) that does not link back yet: a crash between creating an item and linking its predecessor, finished by the next run. */
export function unlinkedPredecessor(current: BacklogItem, items: readonly BacklogItem[]): BacklogItem | undefined {
  const prev = typeof current.meta.prev_id === "string" ? items.find((i) => i.id === current.meta.prev_id) : undefined;
  return prev && prev.meta.next_id !== current.id ? prev : undefined;
}

/** A transition step's transition with its next_ref resolved to the id the upserts gave; null when that item was not created (nothing to link). */
export function resolveLink(step: Extract<Step, { step: "transition" }>, ids: ReadonlyMap<string, string>): Transition | null {
  const t = step.transition;
  if (step.next_ref === undefined) return t;
  const next = ids.get(step.next_ref) ?? (t.set?.meta?.next_id as string | null | undefined) ?? null;
  if (next === null) return null;
  return { ...t, message: t.message.replace(`(${step.next_ref})`, `(${next})`), set: { ...t.set, meta: { ...t.set?.meta, next_id: next } } };
}

function reopenCandidate(item: BacklogItem, today: string, withinDays: number): BacklogItem | null {
  const on = item.meta.auto_resolved_on;
  if (withinDays <= 0 || item.status !== "done" || typeof on !== "string") return null;
  return daysBetween(on, today) <= withinDays ? item : null;
}
