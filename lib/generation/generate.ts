/**
 * PURE planning of auto-generated backlog items (no I/O): a digest + the policy + the items that already
 * exist (by dedupe key) + now → the upserts to make. Applying a plan is lib/tools/backlog-generate.ts.
 *
 * Rules (docs/generation.md):
 * - one item per (service, recommended category), key `<key_prefix>:<period>:<env>:<service>:<category>`
 *   with period = the digest's ISO week (weekly) or date (daily);
 * - priority, due date (today UTC + due_days) and title template from the category;
 * - owner for NEW items only: ownership.overrides → the service catalog → default_owner (meta.owner_source
 *   says which); an existing item gets no owner and no tags in its upsert, so what people set survives a
 *   re-run (runbook 7);
 * - at most defaults.max_items_per_run, highest score first; ties: more urgent priority, then service,
 *   then category name; `capped` says how many were left out;
 * - generation switched off in the policy → `{ skipped: true, reason }`, never a silent empty result.
 * What happens across periods (lineage, rolling mode, auto-resolve, reopen) is lib/lifecycle/plan.ts,
 * applied on top of this plan by lib/tools/backlog-generate.ts.
 */
import type { PlatformDigest, RiskDigest } from "./digest-schema.ts";
import { lineageKey } from "../lifecycle/lineage.ts";
import { resolveOwner } from "../lifecycle/owner.ts";
import { bandRank, categoryOf, renderTitle } from "./policy.ts";
import type { Band, PolicyData } from "./policy-schema.ts";
import { addDays, todayUtc } from "../store/dates.ts";
import { parseUpsert, planUpsert } from "../store/logic.ts";
import type { BacklogItem, Priority, UpsertInput } from "../store/types.ts";

export type GenerationKind = "weekly" | "daily";

export const SOURCES: Record<GenerationKind, string> = { weekly: "weekly_digest", daily: "daily_digest" };

/** One (service, category) pair a digest asks for, before it becomes an upsert. */
export interface Candidate {
  dedupe_key: string;
  service: string;
  category: string;
  priority: Priority;
  score: number;
  band: Band;
  description: string;
  meta: Record<string, unknown>;
}

export interface Selection {
  kind: GenerationKind;
  env: string;
  /** 2026-W47 or 2026-11-23 */
  period: string;
  /** Within the cap, in order. */
  candidates: Candidate[];
  /** How many candidates were left out by max_items_per_run. */
  capped: number;
  /** The lineage of every candidate, capped ones included: a capped lineage is still present. */
  lineages: string[];
}

export interface PlannedItem {
  dedupe_key: string;
  action: "create" | "update" | "unchanged";
  /** Null for an item that does not exist yet. */
  existing_id: string | null;
  input: UpsertInput;
}

export interface Skipped {
  skipped: true;
  kind: GenerationKind;
  env: string;
  reason: string;
}

export interface Plan extends Omit<Selection, "candidates" | "lineages"> {
  skipped: false;
  items: PlannedItem[];
}

export function dedupeKey(prefix: string, period: string, env: string, service: string, category: string): string {
  return [prefix, period, env, service, category].join(":");
}

/** Null when the policy allows this kind of generation, else why not (naming the key to flip). */
export function skipReason(kind: GenerationKind, policy: PolicyData & { source?: string }, env: string): Skipped | null {
  const key = kind === "weekly" ? "weekly_from_pressure_digest" : "daily_from_risk_digest";
  if (policy.generation[key]) return null;
  return { skipped: true, kind, env, reason: `generation.${key} is false in ${policy.source ?? "the backlog policy"}; set it to true to generate ${kind} items.` };
}

const PRIORITY_RANK: Record<Priority, number> = { P0: 0, P1: 1, P2: 2, P3: 3 };

function compareCandidates(a: Candidate, b: Candidate): number {
  return b.score - a.score || PRIORITY_RANK[a.priority] - PRIORITY_RANK[b.priority] || cmp(a.service, b.service) || cmp(a.category, b.category);
}
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function select(kind: GenerationKind, env: string, period: string, all: Candidate[], policy: PolicyData): Selection {
  const max = policy.defaults.max_items_per_run;
  const sorted = [...all].sort(compareCandidates);
  const lineages = [...new Set(all.map((c) => lineageKey(policy.dedupe.key_prefix, env, c.service, c.category)))];
  return { kind, env, period, candidates: sorted.slice(0, max), capped: Math.max(0, sorted.length - max), lineages };
}

const bullets = (lines: string[]) => (lines.length ? lines.map((l) => `- ${l}`).join("\n") : "- (none given)");
const signalText = (signals: Record<string, number>) =>
  Object.entries(signals)
    .map(([k, v]) => `${k}=${v}`)
    .join(", ") || "(none)";

export function selectWeekly(digest: PlatformDigest, policy: PolicyData): Selection {
  const all: Candidate[] = [];
  for (const s of digest.services) {
    const description =
      `Weekly platform digest ${digest.week} (${digest.env}): ${s.service} has pressure ${s.pressure_score}/100 (${s.band}).\n\n` +
      `Reasons:\n${bullets(s.reasons)}\n\nSignals: ${signalText(s.signals)}`;
    for (const category of new Set(s.recommended_categories)) {
      all.push({
        dedupe_key: dedupeKey(policy.dedupe.key_prefix, digest.week, digest.env, s.service, category),
        service: s.service,
        category,
        priority: categoryOf(policy, category).priority,
        score: s.pressure_score,
        band: s.band,
        description,
        meta: { week: digest.week, pressure_score: s.pressure_score, band: s.band, reasons: s.reasons, signals: s.signals, digest_generated_at: digest.generated_at },
      });
    }
  }
  return select("weekly", digest.env, digest.week, all, policy);
}

export function selectDaily(digest: RiskDigest, policy: PolicyData): Selection {
  const all: Candidate[] = [];
  const minRank = bandRank(policy.generation.daily_min_band);
  for (const s of digest.services) {
    if (bandRank(s.band) < minRank) continue;
    const categories = s.recommended_categories?.length ? s.recommended_categories : policy.generation.daily_default_categories;
    const signals = s.top_signals.map((t) => `${t.signal}=${t.value} (contribution ${t.contribution})`);
    const description =
      `Daily risk digest ${digest.date} (${digest.env}): ${s.service} has risk ${s.risk_score}/100 (${s.band}), ` +
      `${signed(s.delta_24h)} in 24h, ${signed(s.delta_7d)} in 7 days.\n\nReasons:\n${bullets(s.reasons)}\n\nTop signals:\n${bullets(signals)}`;
    for (const category of new Set(categories)) {
      all.push({
        dedupe_key: dedupeKey(policy.dedupe.key_prefix, digest.date, digest.env, s.service, category),
        service: s.service,
        category,
        priority: categoryOf(policy, category).priority,
        score: s.risk_score,
        band: s.band,
        description,
        meta: {
          date: digest.date,
          risk_score: s.risk_score,
          band: s.band,
          delta_24h: s.delta_24h,
          delta_7d: s.delta_7d,
          top_signals: s.top_signals,
          reasons: s.reasons,
          digest_generated_at: digest.generated_at,
        },
      });
    }
  }
  return select("daily", digest.env, digest.date, all, policy);
}

const signed = (n: number) => (n > 0 ? `+${n}` : String(n));

/**
 * Turns a selection into upserts. `existing` maps dedupe keys to the stored items (only the selected
 * keys matter). `action` is what the store will do: computed with the store's own upsert rule.
 */
export function planItems(
  selection: Selection,
  policy: PolicyData,
  existing: ReadonlyMap<string, BacklogItem>,
  now: Date,
  catalog: ReadonlyMap<string, string> = new Map(),
): Plan {
  const today = todayUtc(now);
  const items = selection.candidates.map((c): PlannedItem => {
    const cat = categoryOf(policy, c.category);
    const title = renderTitle(cat.title, { service: c.service, env: selection.env, category: c.category, period: selection.period, band: c.band, score: String(c.score) });
    const found = existing.get(c.dedupe_key) ?? null;
    const owner = found ? null : resolveOwner(policy, catalog, c.service);
    const input: UpsertInput = {
      env: selection.env,
      service: c.service,
      category: c.category,
      title,
      description: c.description,
      priority: c.priority,
      due_date: addDays(today, cat.due_days),
      source: SOURCES[selection.kind],
      dedupe_key: c.dedupe_key,
      meta: owner ? { ...c.meta, owner_source: owner.source } : c.meta,
      // Owner and tags only for new items: on an existing one they are what people made them.
      ...(owner ? { owner: owner.owner, tags: ["auto", selection.kind] } : {}),
    };
    const action = !found ? "create" : planUpsert(found, parseUpsert(input), "generator", now).changed ? "update" : "unchanged";
    return { dedupe_key: c.dedupe_key, action, existing_id: found?.id ?? null, input };
  });
  const { candidates: _c, lineages: _l, ...rest } = selection;
  return { ...rest, skipped: false, items };
}

/** The whole weekly plan in one call: (digest, policy, existing by key, now) → upserts. */
export function planWeekly(digest: PlatformDigest, policy: PolicyData & { source?: string }, existing: ReadonlyMap<string, BacklogItem>, now: Date): Plan | Skipped {
  return skipReason("weekly", policy, digest.env) ?? planItems(selectWeekly(digest, policy), policy, existing, now);
}

export function planDaily(digest: RiskDigest, policy: PolicyData & { source?: string }, existing: ReadonlyMap<string, BacklogItem>, now: Date): Plan | Skipped {
  return skipReason("daily", policy, digest.env) ?? planItems(selectDaily(digest, policy), policy, existing, now);
}
