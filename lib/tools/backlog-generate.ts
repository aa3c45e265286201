/**
 * Runs a generation: find the digest, plan (lib/generation/generate.ts and lib/lifecycle/plan.ts, pure), then apply
 * the steps to the store as the calling agent. Dry run = the same steps, nothing written.
 * Order of writes: reopens first (they carry the period, so a re-run after a crash sees this period's
 * item), then every upsert as one store.upsertMany batch (one transaction on Postgres, one lock and one
 * append per file on JSONL), then recurred / auto_resolved / signal_gone transitions (they need the ids
 * just created). Each step is guarded by the state it leaves, so a re-run after a failure finishes the
 * job and a re-run after success changes nothing.
 * On the auto store's JSONL fallback (Postgres down) a run, dry runs included, is refused with 503 before
 * and after its reads: the lineages, auto-resolves and reopens are decided from ALL this env's items, and
 * the fallback lacks those that exist only in Postgres (a run there created returning items without their
 * link to the previous one, and left gone ones open). Run it again once Postgres serves.
 */
import { loadCatalog } from "../catalog/backstage.ts";
import { findPlatformDigest, findRiskDigest, listDigestPeriods } from "../generation/digest.ts";
import { AppError } from "../core/errors.ts";
import { planItems, selectDaily, selectWeekly, skipReason, SOURCES, type GenerationKind, type Selection, type Skipped } from "../generation/generate.ts";
import { isoWeekLabel } from "../core/isoweek.ts";
import { lineageOf } from "../lifecycle/lineage.ts";
import { planLifecycle, resolveLink, type Step } from "../lifecycle/plan.ts";
import { displayPath } from "../config/index.ts";
import { categoryOf, type Policy } from "../generation/policy.ts";
import { refuseWhileDegraded } from "../store/index.ts";
import { parseUpsert, planUpsert } from "../store/logic.ts";
import { todayUtc } from "../store/dates.ts";
import { OPEN_STATUSES, type BacklogEvent, type BacklogItem, type BacklogStore } from "../store/types.ts";
import { listAll } from "./list-all.ts";
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

/** One lifecycle step taken (or, in a dry run, that would be taken). */
export interface LifecycleChange {
  /** Null in a dry run for an item that would be created. */
  item_id: string | null;
  type: string;
  message: string;
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
  /** recurred, reopened, auto_resolved, signal_gone steps, in order. */
  lifecycle: LifecycleChange[];
  /** Steps not applied because a person changed the item meanwhile (they stay as the person left them). */
  conflicts: number;
  dry_run: boolean;
}

export type SkippedResult = Skipped & { dry_run: boolean };

export async function runGeneration(kind: GenerationKind, params: GenerateParams, ctx: ToolContext, policy: Policy): Promise<GenerateResult | SkippedResult> {
  const log = ctx.log.child({ kind, env: params.env });
  const skipped = skipReason(kind, policy, params.env);
  if (skipped) {
    log.warn("generate: skipped", { reason: skipped.reason });
    return { ...skipped, dry_run: params.dry_run };
  }
  refuseOnFallback(ctx, kind);
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

  const catalog = loadCatalog(policy.ownership.catalog);
  // This env's items of this generation source, any status: the lineages the lifecycle works on.
  const items = (await listAll(ctx.store, { env: params.env }, now)).filter((i) => i.source === SOURCES[kind]);
  const byKey = new Map(items.map((i) => [i.dedupe_key, i]));
  const plan = planItems(selection, policy, byKey, now, catalog.owners);
  const periods = (await listDigestPeriods(kind === "weekly" ? "platform" : "risk", { reportsDir: ctx.paths.reportsDir, env: params.env })).filter((p) => p <= plan.period);
  if (!periods.includes(plan.period)) periods.push(plan.period);
  const present = new Set(selection.lineages);
  const events = new Map<string, BacklogEvent[]>();
  if (policy.lifecycle.auto_resolve_after > 0) {
    for (const it of items) {
      if ((OPEN_STATUSES as readonly string[]).includes(it.status) && !present.has(lineageOf(it, policy.dedupe.key_prefix))) events.set(it.id, await ctx.store.events(it.id));
    }
  }
  // The store may have switched to its fallback during the reads (see the header).
  refuseOnFallback(ctx, kind);
  const steps = planLifecycle({
    env: plan.env,
    period: plan.period,
    periods,
    candidates: plan.items.map((p) => ({ dedupe_key: p.dedupe_key, service: p.input.service, category: p.input.category, input: p.input, due_days: categoryOf(policy, p.input.category).due_days })),
    present,
    items,
    events,
    policy,
    now,
  });
  const applied = params.dry_run ? dryRun(steps, byKey, ctx.agent, now) : await apply(steps, ctx.store, ctx.agent, log);

  const count = (a: GeneratedItem["action"]) => applied.items.filter((i) => i.action === a).length;
  const result: GenerateResult = {
    skipped: false,
    env: plan.env,
    ...(kind === "weekly" ? { week: plan.period } : { date: plan.period }),
    digest: displayPath(found.file),
    created: count("created"),
    updated: count("updated"),
    unchanged: count("unchanged"),
    capped: plan.capped,
    items: applied.items,
    lifecycle: applied.lifecycle,
    conflicts: applied.conflicts,
    dry_run: params.dry_run,
  };
  if (plan.capped > 0) log.warn("generate: capped", { capped: plan.capped, max_items_per_run: policy.defaults.max_items_per_run });
  const { items: _i, lifecycle: _l, ...summary } = result;
  log.info(params.dry_run ? "generate: dry run" : "generate: done", { ...summary, lifecycle: applied.lifecycle.length });
  return result;
}

function refuseOnFallback(ctx: ToolContext, kind: GenerationKind): void {
  refuseWhileDegraded(
    ctx.store,
    `the ${kind} generation decides lineages, auto-resolves and reopens from all items, some of which may exist only there`,
    `Run backlog_tool.auto_generate_${kind} again once readyz reports ready.`,
  );
}

interface Applied {
  items: GeneratedItem[];
  lifecycle: LifecycleChange[];
  conflicts: number;
}

const toGenerated = (item: BacklogItem, created: boolean, changed: boolean, id: string | null = item.id): GeneratedItem => ({
  id,
  dedupe_key: item.dedupe_key,
  created,
  action: created ? "created" : changed ? "updated" : "unchanged",
  service: item.service,
  category: item.category,
  priority: item.priority,
  owner: item.owner,
  due_date: item.due_date,
});

type UpsertStep = Extract<Step, { step: "upsert" }>;
type TransitionStep = Extract<Step, { step: "transition" }>;

function phases(steps: Step[]) {
  const upserts = steps.filter((s): s is UpsertStep => s.step === "upsert");
  const transitions = steps.filter((s): s is TransitionStep => s.step === "transition");
  return { reopens: transitions.filter((t) => t.transition.type === "reopened"), upserts, after: transitions.filter((t) => t.transition.type !== "reopened") };
}

/** What the steps would do: an upsert planned with the store's own rule against the item as it is. */
function dryRun(steps: Step[], byKey: ReadonlyMap<string, BacklogItem>, actor: string, now: Date): Applied {
  const { reopens, upserts, after } = phases(steps);
  const items = upserts.map((u) => {
    const p = planUpsert(byKey.get(u.dedupe_key) ?? null, parseUpsert(u.input), actor, now);
    return toGenerated(p.item, p.created, p.changed, p.created ? null : p.item.id);
  });
  const lifecycle = [...reopens, ...after].map((t) => ({ item_id: t.item_id, type: t.transition.type, message: t.transition.message }));
  return { items, lifecycle, conflicts: 0 };
}

async function apply(steps: Step[], store: BacklogStore, actor: string, log: ToolContext["log"]): Promise<Applied> {
  const { reopens, upserts, after } = phases(steps);
  const lifecycle: LifecycleChange[] = [];
  let conflicts = 0;
  const transition = async (t: TransitionStep, ids: ReadonlyMap<string, string>) => {
    const tr = resolveLink(t, ids);
    if (tr === null) return; // the item it points at was not created (capped away or failed): nothing to link
    try {
      await store.transition(t.item_id, tr, { actor });
      lifecycle.push({ item_id: t.item_id, type: tr.type, message: tr.message });
    } catch (err) {
      if (!(err instanceof AppError && err.code === "conflict")) throw err;
      conflicts++;
      log.warn("generate: lifecycle step skipped, the item changed meanwhile", { item_id: t.item_id, type: tr.type });
    }
  };
  for (const r of reopens) await transition(r, new Map());
  const inputs = upserts.map((u) => u.input);
  const results = inputs.length ? await store.upsertMany(inputs, { actor }) : [];
  const ids = new Map(results.map((r) => [r.item.dedupe_key, r.item.id]));
  for (const t of after) await transition(t, ids);
  return { items: results.map((r) => toGenerated(r.item, r.created, r.changed)), lifecycle, conflicts };
}
