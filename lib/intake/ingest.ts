/**
 * Applies one Alertmanager notification to the store (alert_intake.ingest): map (map.ts) → find the
 * group's items → plan (plan.ts) → apply the steps in order as the calling agent. Works on every backend
 * through the BacklogStore interface alone.
 *
 * Finding a group's items: its dedupe keys are `alertmanager:<hash>:1`, `:2`, … (one getByDedupeKey each,
 * a chain is short). Retention cleanup may have removed old closed items of a chain while a later one
 * lives on; when the probe finds nothing, or stops at an item that has a successor, the items of the
 * intake category with the group's env and service are listed and matched on meta.lineage_key instead,
 * so a gap does not start a duplicate (unless the group's env or service label changed meanwhile).
 *
 * Concurrency (Alertmanager retries, two replicas, HA Alertmanager pairs sending the same group): creating
 * is an upsert of a dedupe key, so two requests creating item n make one; every transition carries
 * expect_updated_at, and a conflict re-reads and re-plans (at most 3 times), so a change is made once.
 *
 * The auto store on its JSONL fallback (Postgres down): the group's item may exist only in Postgres, so
 * what the fallback shows cannot decide a notification (a resolve would be `ignored` with a 200 that
 * Alertmanager never retries, and the item stay open for good). The intake answers 503 instead, before
 * and after reading, writing nothing; Alertmanager sends the notification again until Postgres is back.
 */
import { loadCatalog } from "../catalog/backstage.ts";
import { AppError } from "../core/errors.ts";
import type { Logger } from "../core/log.ts";
import type { Policy } from "../generation/policy.ts";
import { resolveOwner } from "../lifecycle/owner.ts";
import { resolveLink, type Step } from "../lifecycle/plan.ts";
import { refuseWhileDegraded } from "../store/index.ts";
import { OPEN_STATUSES, type BacklogItem, type BacklogStore } from "../store/types.ts";
import { listAll } from "../tools/list-all.ts";
import { dedupeKeyOf, INTAKE_SOURCE, mapGroup, type IntakePolicyView, type MappedGroup } from "./map.ts";
import type { AlertmanagerPayload } from "./payload.ts";
import { planIntake, seqOf, touchedSinceOpened, type IntakeOutcome } from "./plan.ts";

export interface IngestDeps {
  store: BacklogStore;
  policy: Policy;
  agent: string;
  now: Date;
  log: Logger;
}

export interface IngestResult {
  outcome: IntakeOutcome;
  /** The group's item acted on (null in a dry run of a create, or when nothing was filed). */
  item_id: string | null;
  dedupe_key: string | null;
  /** sha256 of the groupKey (24 hex): the group's id in dedupe keys and meta.lineage_key. */
  group: string;
  env: string;
  service: string;
  alerts: { firing: number; resolved: number };
  /** Event types written (planned, in a dry run), in order. */
  events: string[];
  reason: string;
  dry_run: boolean;
}

const OPEN: readonly string[] = OPEN_STATUSES;
const MAX_CHAIN = 10_000;
const ATTEMPTS = 3;

/** The intake's category from the policy; a category the policy lacks is a config error naming the key. */
export function intakeView(policy: Policy): IntakePolicyView {
  const name = policy.alert_intake.category;
  const c = policy.categories[name];
  if (!c) {
    throw new AppError("config", `${policy.source}: alert_intake.category: ${JSON.stringify(name)} is not a category of this policy (known: ${Object.keys(policy.categories).join(", ")}); set alert_intake.category.`);
  }
  return { envs: policy.envs, intake: policy.alert_intake, category: { name, priority: c.priority, due_days: c.due_days } };
}

/** The group's items, oldest first (see the header for the fallback). */
export async function findGroupItems(store: BacklogStore, g: MappedGroup, now: Date): Promise<BacklogItem[]> {
  const chain: BacklogItem[] = [];
  for (let seq = 1; seq <= MAX_CHAIN; seq++) {
    const it = await store.getByDedupeKey(dedupeKeyOf(g.key_hash, seq));
    if (!it) break;
    chain.push(it);
  }
  const last = chain.at(-1);
  if (last && typeof last.meta.next_id !== "string") return chain;
  // Narrowed to the group's env and service (indexed on Postgres): a group keeps them unless its labels change.
  const all = await listAll(store, { category: g.category, env: g.env, service: g.service }, now);
  return all.filter((i) => i.source === INTAKE_SOURCE && i.meta.lineage_key === g.lineage_key).sort((a, b) => seqOf(a) - seqOf(b));
}

export async function ingestAlertmanager(payload: AlertmanagerPayload, deps: IngestDeps, dryRun: boolean): Promise<IngestResult> {
  const { store, policy, now } = deps;
  const g = mapGroup(payload, intakeView(policy));
  const base = { group: g.key_hash, env: g.env, service: g.service, alerts: { firing: g.firing, resolved: g.resolved }, dry_run: dryRun };
  // Events written by every attempt: one interrupted by a conflict may already have created the item.
  const written: string[] = [];
  let firstId: string | null = null;
  for (let attempt = 1; ; attempt++) {
    refuseOnFallback(store);
    const items = await findGroupItems(store, g, now);
    const latest = items.at(-1) ?? null;
    const open = latest !== null && OPEN.includes(latest.status);
    const touched = g.status === "resolved" && policy.alert_intake.auto_resolve && open ? touchedSinceOpened(latest!, await store.events(latest!.id)) : false;
    // The catalog is read only when a new item may be created (its owner); an owner label wins.
    const owner = g.owner_label !== null ? { owner: g.owner_label, source: "label" } : g.status === "firing" && !open ? resolveOwner(policy, loadCatalog(policy.ownership.catalog).owners, g.service) : { owner: policy.ownership.default_owner, source: "default" };
    // The store may have switched to its fallback during the reads (see the header).
    refuseOnFallback(store);
    const plan = planIntake({ group: g, items, touched, owner, policy: policy.alert_intake, now });
    if (dryRun) {
      const events = plan.steps.map((s) => (s.step === "upsert" ? (s.existing_id ? "updated" : "created") : s.transition.type));
      return { ...base, outcome: plan.outcome, item_id: plan.item_id, dedupe_key: plan.dedupe_key, events, reason: plan.reason };
    }
    try {
      const itemId = await apply(plan.steps, store, deps.agent, written, (id) => (firstId ??= id));
      let outcome = plan.outcome;
      if (written.includes("created")) outcome = "created";
      else if (written.includes("reopened")) outcome = "reopened";
      // A refresh that found nothing new, or a create another request made first, wrote nothing.
      else if ((outcome === "updated" || outcome === "created") && written.length === 0) outcome = "unchanged";
      else if (outcome === "created") outcome = "updated";
      return { ...base, outcome, item_id: firstId ?? itemId ?? plan.item_id, dedupe_key: plan.dedupe_key, events: written, reason: plan.reason };
    } catch (err) {
      if (!(err instanceof AppError && err.code === "conflict") || attempt >= ATTEMPTS) throw err;
      deps.log.info("alert intake: the group's item changed meanwhile; planning again", { group: g.key_hash, attempt });
    }
  }
}

function refuseOnFallback(store: BacklogStore): void {
  refuseWhileDegraded(store, "the alert group's item may exist only there", "Alertmanager sends the notification again (5xx); it is applied once readyz reports ready.");
}

/** Applies the steps in order, appending each event type written to `events`; answers the item acted on. */
async function apply(steps: Step[], store: BacklogStore, actor: string, events: string[], onCreated: (id: string) => void): Promise<string | null> {
  const ids = new Map<string, string>();
  let itemId: string | null = null;
  for (const s of steps) {
    if (s.step === "upsert") {
      const r = await store.upsert(s.input, { actor });
      ids.set(s.dedupe_key, r.item.id);
      itemId ??= r.item.id;
      if (r.created) events.push("created"), onCreated(r.item.id);
      else if (r.changed) events.push("updated");
      continue;
    }
    const t = resolveLink(s, ids);
    if (t === null) continue;
    if (s.next_ref === undefined) itemId ??= s.item_id;
    await store.transition(s.item_id, t, { actor });
    events.push(t.type);
  }
  return itemId;
}
