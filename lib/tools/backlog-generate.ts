/**
 * Runs a generation: find the digest, plan (lib/generate.ts, pure), then apply the plan to the store as
 * the calling agent. Dry run = the same plan, nothing written. On Postgres the whole plan is one
 * transaction (upsertMany); elsewhere items are upserted in order, and a re-run after a failure finishes
 * the job without duplicates (dedupe keys).
 */
import { findPlatformDigest, findRiskDigest } from "../digest.ts";
import { planItems, selectDaily, selectWeekly, skipReason, type GenerationKind, type Plan, type Selection, type Skipped } from "../generate.ts";
import { isoWeekLabel } from "../isoweek.ts";
import { displayPath, type Policy } from "../policy.ts";
import { todayUtc } from "../store/logic.ts";
import type { BacklogItem, BacklogStore, UpsertInput, UpsertResult } from "../store/types.ts";
import type { ToolContext } from "./types.ts";

export interface GenerateParams {
  env: string;
  /** weekly: ISO week; daily: date. Default: the latest digest of the env. */
  period?: string;
  dry_run: boolean;
}

export interface GeneratedItem {
  /** Null in a dry run for an item that would be created. */
  id: string | null;
  dedupe_key: string;
  created: boolean;
  action: "created" | "updated" | "unchanged";
  service: string;
  category: string;
  priority: string;
  owner: string | null;
  due_date: string | null;
}

export interface GenerateResult {
  skipped: false;
  env: string;
  week?: string;
  date?: string;
  /** The digest file read, relative to the repo root when inside it. */
  digest: string;
  created: number;
  updated: number;
  unchanged: number;
  capped: number;
  items: GeneratedItem[];
  dry_run: boolean;
}

export type SkippedResult = Skipped & { dry_run: boolean };

type WithUpsertMany = BacklogStore & { upsertMany(inputs: UpsertInput[], ctx: { actor: string }): Promise<UpsertResult[]> };
const hasUpsertMany = (s: BacklogStore): s is WithUpsertMany => typeof (s as Partial<WithUpsertMany>).upsertMany === "function";

export async function runGeneration(kind: GenerationKind, params: GenerateParams, ctx: ToolContext, policy: Policy): Promise<GenerateResult | SkippedResult> {
  const log = ctx.log.child({ kind, env: params.env });
  const skipped = skipReason(kind, policy, params.env);
  if (skipped) {
    log.warn("generate: skipped", { reason: skipped.reason });
    return { ...skipped, dry_run: params.dry_run };
  }
  const now = ctx.now();
  const common = { reportsDir: ctx.paths.reportsDir, env: params.env, policy, log };
  let found: { file: string; period: string };
  let selection: Selection;
  if (kind === "weekly") {
    const f = await findPlatformDigest({ ...common, week: params.period });
    [found, selection] = [f, selectWeekly(f.digest, policy)];
  } else {
    const f = await findRiskDigest({ ...common, date: params.period });
    [found, selection] = [f, selectDaily(f.digest, policy)];
  }
  const current = kind === "weekly" ? isoWeekLabel(now) : todayUtc(now);
  if (params.period === undefined && found.period !== current) {
    // Usually the digest job has not run yet (runbook 9: 06:00 digest, 06:20 generation).
    log.warn("generate: latest digest is not the current period", { digest_period: found.period, current_period: current, file: displayPath(found.file) });
  }

  const existing = new Map<string, BacklogItem>();
  for (const c of selection.candidates) {
    const item = await ctx.store.getByDedupeKey(c.dedupe_key);
    if (item) existing.set(c.dedupe_key, item);
  }
  const plan = planItems(selection, policy, existing, now);
  const items = params.dry_run ? dryRunItems(plan, existing) : await apply(plan, ctx.store, ctx.agent);

  const count = (a: GeneratedItem["action"]) => items.filter((i) => i.action === a).length;
  const result: GenerateResult = {
    skipped: false,
    env: plan.env,
    ...(kind === "weekly" ? { week: plan.period } : { date: plan.period }),
    digest: displayPath(found.file),
    created: count("created"),
    updated: count("updated"),
    unchanged: count("unchanged"),
    capped: plan.capped,
    items,
    dry_run: params.dry_run,
  };
  if (plan.capped > 0) log.warn("generate: capped", { capped: plan.capped, max_items_per_run: policy.defaults.max_items_per_run });
  const { items: _i, ...summary } = result;
  log.info(params.dry_run ? "generate: dry run" : "generate: done", summary);
  return result;
}

const ACTION = { create: "created", update: "updated", unchanged: "unchanged" } as const;

/** What each item would look like: an existing item keeps its owner, priority and due date. */
function dryRunItems(plan: Plan, existing: ReadonlyMap<string, BacklogItem>): GeneratedItem[] {
  return plan.items.map((p) => {
    const old = existing.get(p.dedupe_key);
    return {
      id: p.existing_id,
      dedupe_key: p.dedupe_key,
      created: p.action === "create",
      action: ACTION[p.action],
      service: p.input.service,
      category: p.input.category,
      priority: old?.priority ?? p.input.priority,
      owner: old ? old.owner : (p.input.owner ?? null),
      due_date: old ? old.due_date : (p.input.due_date ?? null),
    };
  });
}

async function apply(plan: Plan, store: BacklogStore, actor: string): Promise<GeneratedItem[]> {
  const inputs = plan.items.map((p) => p.input);
  let results: UpsertResult[];
  if (hasUpsertMany(store)) results = inputs.length ? await store.upsertMany(inputs, { actor }) : [];
  else {
    results = [];
    for (const input of inputs) results.push(await store.upsert(input, { actor }));
  }
  return results.map(({ item, created, changed }) => ({
    id: item.id,
    dedupe_key: item.dedupe_key,
    created,
    action: created ? "created" : changed ? "updated" : "unchanged",
    service: item.service,
    category: item.category,
    priority: item.priority,
    owner: item.owner,
    due_date: item.due_date,
  }));
}
