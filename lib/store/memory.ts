/** In-memory backend: for tests and `BACKLOG_BACKEND=memory`. Loses everything on exit. */
import { cleanupCutoff, copyItem, isExpired, notFound, parseStatus, parseTransition, parseUpsert, planComment, planStatus, planTransition, planUpsert } from "./logic.ts";
import { computeDashboard } from "./compute-dashboard.ts";
import { listItems } from "./list-items.ts";
import { parseUpsertMany, planUpsertMany } from "./plan-upsert-many.ts";
import type {
  Actor,
  BacklogEvent,
  BacklogItem,
  BacklogStore,
  CleanupOptions,
  Dashboard,
  ListFilter,
  ListResult,
  Status,
  StoreBinding,
  StoreHealth,
  Transition,
  UpsertInput,
  UpsertResult,
} from "./types.ts";

export class MemoryBacklogStore implements BacklogStore {
  readonly name = "MemoryBacklogStore";
  readonly binding: StoreBinding = { kind: "memory", store: this };
  private items = new Map<string, BacklogItem>();
  private byKey = new Map<string, string>();
  private evs = new Map<string, BacklogEvent[]>();
  private readonly clock: () => Date;

  constructor(options: { clock?: () => Date } = {}) {
    this.clock = options.clock ?? (() => new Date());
  }

  async upsert(input: UpsertInput, ctx: Actor): Promise<UpsertResult> {
    const parsed = parseUpsert(input);
    const existingId = this.byKey.get(parsed.dedupe_key);
    const plan = planUpsert(existingId ? this.items.get(existingId)! : null, parsed, ctx.actor, this.clock());
    if (plan.changed) {
      this.items.set(plan.item.id, plan.item);
      this.byKey.set(plan.item.dedupe_key, plan.item.id);
      for (const e of plan.events) this.pushEvent(e);
    }
    return { item: copyItem(plan.item), created: plan.created, changed: plan.changed };
  }

  async upsertMany(inputs: UpsertInput[], ctx: Actor): Promise<UpsertResult[]> {
    const parsed = parseUpsertMany(inputs);
    const plan = planUpsertMany(parsed, (key) => this.items.get(this.byKey.get(key) ?? ""), ctx.actor, this.clock());
    for (const it of plan.items) {
      this.items.set(it.id, it);
      this.byKey.set(it.dedupe_key, it.id);
    }
    for (const e of plan.events) this.pushEvent(e);
    return plan.results.map((r) => ({ ...r, item: copyItem(r.item) }));
  }

  /** Every write adds an event (or, for cleanup, removes items): counting those is the version. */
  private writes = 0;

  version(): string {
    return `mem:${this.writes}`;
  }

  private pushEvent(e: BacklogEvent) {
    this.writes++;
    const list = this.evs.get(e.item_id) ?? [];
    list.push(e);
    this.evs.set(e.item_id, list);
  }

  async get(id: string) {
    const it = this.items.get(id);
    return it ? structuredClone(it) : null;
  }

  async getByDedupeKey(key: string) {
    const id = this.byKey.get(key);
    return id ? this.get(id) : null;
  }

  async list(filter?: ListFilter, now: Date = this.clock()): Promise<ListResult> {
    return structuredClone(listItems(this.items.values(), filter, now));
  }

  async setStatus(id: string, status: Status, ctx: Actor & { message?: string }) {
    const next = parseStatus(status); // validate before lookup: bad input is 400, not 404
    const item = this.items.get(id);
    if (!item) throw notFound(id);
    const plan = planStatus(item, next, ctx.actor, ctx.message, this.clock());
    if (plan.event) {
      this.items.set(id, plan.item);
      this.pushEvent(plan.event);
    }
    return structuredClone(plan.item);
  }

  async addComment(id: string, message: string, ctx: Actor) {
    const item = this.items.get(id);
    if (!item) throw notFound(id);
    const ev = planComment(item, message, ctx.actor, this.clock());
    this.pushEvent(ev);
    return structuredClone(ev);
  }

  async transition(id: string, t: Transition, ctx: Actor): Promise<BacklogItem> {
    const parsed = parseTransition(t);
    const item = this.items.get(id);
    if (!item) throw notFound(id);
    const plan = planTransition(item, parsed, ctx.actor, this.clock());
    this.items.set(id, plan.item);
    this.pushEvent(plan.event);
    return structuredClone(plan.item);
  }

  async events(itemId: string) {
    return structuredClone(this.evs.get(itemId) ?? []);
  }

  async dashboard(filter: { env?: string } = {}, now: Date = this.clock()): Promise<Dashboard> {
    return computeDashboard(this.items.values(), filter, now);
  }

  /** Every item, not copied (read-only: for aggregates like lib/alerting/counts.ts without a clone per item). */
  async scanItems(): Promise<readonly Readonly<BacklogItem>[]> {
    return [...this.items.values()];
  }

  async cleanup(retentionDays: number, now: Date = this.clock(), options: CleanupOptions = {}) {
    const cutoff = cleanupCutoff(retentionDays, now);
    const doomed = [...this.items.values()].filter((it) => isExpired(it, cutoff));
    if (!options.dryRun) {
      if (doomed.length) this.writes++;
      for (const it of doomed) {
        this.items.delete(it.id);
        this.byKey.delete(it.dedupe_key);
        this.evs.delete(it.id);
      }
    }
    return doomed.length;
  }

  async health(): Promise<StoreHealth> {
    return { backend: this.name, degraded: false };
  }

  async close() {}
}
