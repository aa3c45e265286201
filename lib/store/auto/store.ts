/**
 * AutoBacklogStore (runbook 1.1): Postgres when it answers, JSONL when it does not — chosen by the one
 * router (auto/router.ts), never here. While Postgres is configured but down, every write the JSONL
 * fallback acknowledges is also journaled as the operation the caller asked for (auto/ops.ts,
 * auto/journal.ts) and replayed in order on Postgres before the switch back (auto/replay-backlog.ts).
 *
 * - An id the fallback does not know may exist only in Postgres: reads and writes of it answer
 *   `store degraded: …` (503), never "not found" — the answer cannot be known now.
 * - The comment's event id is chosen before Postgres is tried, so a comment retried on the fallback
 *   after an ambiguous failure is stored once when replayed.
 */
import type { PgConfig } from "../../pg/db.ts";
import { AppError } from "../../core/errors.ts";
import { log as defaultLog, type Logger } from "../../core/log.ts";
import { OpJournal } from "./journal.ts";
import type { BacklogOp } from "./ops.ts";
import { BacklogReplay } from "./replay-backlog.ts";
import { FallbackRouter, USING_JSONL, USING_POSTGRES } from "./router.ts";
import { JsonlBacklogStore } from "../jsonl/store.ts";
import { newId } from "../new-id.ts";
import type { PostgresBacklogStore } from "../postgres/store.ts";
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
} from "../types.ts";

export { USING_JSONL, USING_POSTGRES };

export interface AutoStoreOptions {
  /** From resolvePgConfig; null = no Postgres configured (JSONL only, not degraded). */
  pg: PgConfig | null;
  /** JSONL directory: the fallback store and the outage journal. */
  dir: string;
  /** Seconds between reconnect attempts while on the fallback. Default 300. */
  retrySeconds?: number;
  clock?: () => Date;
  log?: Logger;
  lockStaleMs?: number;
}

export function degradedError(id: string): AppError {
  return new AppError("degraded", `store degraded: Postgres is unavailable and item ${id} is not in the JSONL fallback (it may exist only in Postgres); retry when readyz reports ready`);
}

export class AutoBacklogStore implements BacklogStore {
  readonly jsonl: JsonlBacklogStore;
  readonly router: FallbackRouter;
  readonly journal: OpJournal<BacklogOp>;
  readonly binding: StoreBinding;
  private readonly clock: () => Date;

  private constructor(options: AutoStoreOptions) {
    this.clock = options.clock ?? (() => new Date());
    const log = options.log ?? defaultLog;
    this.router = new FallbackRouter({ pg: options.pg, dir: options.dir, retrySeconds: options.retrySeconds ?? 300, clock: this.clock, log });
    const journal = (this.journal = new OpJournal<BacklogOp>(options.dir));
    // Journal only when Postgres is configured: a plain JSONL deployment has nothing to replay into.
    this.jsonl = new JsonlBacklogStore({
      dir: options.dir,
      clock: this.clock,
      log,
      lockStaleMs: options.lockStaleMs,
      ...(options.pg ? { journal: (ops: BacklogOp[]) => journal.append(ops) } : {}),
    });
    this.router.register(new BacklogReplay(journal, this.jsonl, log, this.clock));
    this.binding = { kind: "auto", router: this.router, fallback: this.jsonl };
  }

  static async open(options: AutoStoreOptions): Promise<AutoBacklogStore> {
    const store = new AutoBacklogStore(options);
    await store.router.start();
    return store;
  }

  /** The class actually serving right now. */
  get name(): string {
    return this.router.serving ? "PostgresBacklogStore" : this.jsonl.name;
  }

  /** The Postgres store while it serves; null while on the JSONL fallback. */
  get serving(): PostgresBacklogStore | null {
    return this.router.serving;
  }

  /** The serving backend's version, so a switch (either way) is a change too. */
  version(scope?: "items"): string | null {
    const pg = this.router.serving;
    return pg ? pg.version() : `fallback:${this.jsonl.version(scope)}`;
  }

  get degraded(): boolean {
    return this.router.degraded;
  }

  /** Journal records set aside as unreplayable (quarantine file beside the journal). */
  quarantined(): number {
    return this.router.quarantined();
  }

  recover(): Promise<boolean> {
    return this.router.recover();
  }

  upsert(input: UpsertInput, ctx: Actor): Promise<UpsertResult> {
    return this.router.route((pg) => pg.upsert(input, ctx), () => this.jsonl.upsert(input, ctx));
  }

  /** One transaction on Postgres; on the fallback one JSONL batch, journaled as one upsert op per input. */
  upsertMany(inputs: UpsertInput[], ctx: Actor): Promise<UpsertResult[]> {
    return this.router.route((pg) => pg.upsertMany(inputs, ctx), () => this.jsonl.upsertMany(inputs, ctx));
  }

  get(id: string): Promise<BacklogItem | null> {
    return this.router.route(
      (pg) => pg.get(id),
      async () => {
        const item = await this.jsonl.get(id);
        if (!item && this.router.degraded) throw degradedError(id);
        return item;
      },
    );
  }

  getByDedupeKey(key: string): Promise<BacklogItem | null> {
    return this.router.route((pg) => pg.getByDedupeKey(key), () => this.jsonl.getByDedupeKey(key));
  }

  list(filter?: ListFilter, now: Date = this.clock()): Promise<ListResult> {
    return this.router.route((pg) => pg.list(filter, now), () => this.jsonl.list(filter, now));
  }

  setStatus(id: string, status: Status, ctx: Actor & { message?: string }): Promise<BacklogItem> {
    return this.router.route((pg) => pg.setStatus(id, status, ctx), () => this.refuseUnknown(id, () => this.jsonl.setStatus(id, status, ctx)));
  }

  addComment(id: string, message: string, ctx: Actor): Promise<BacklogEvent> {
    const eventId = newId("ev");
    return this.router.route(
      (pg) => pg.addComment(id, message, { ...ctx, eventId }),
      () => this.refuseUnknown(id, () => this.jsonl.addComment(id, message, { ...ctx, eventId })),
    );
  }

  /** Like setStatus: Postgres when serving, else JSONL for an item JSONL knows (refused otherwise). */
  transition(id: string, t: Transition, ctx: Actor): Promise<BacklogItem> {
    return this.router.route((pg) => pg.transition(id, t, ctx), () => this.refuseUnknown(id, () => this.jsonl.transition(id, t, ctx)));
  }

  events(itemId: string): Promise<BacklogEvent[]> {
    return this.router.route(
      (pg) => pg.events(itemId),
      async () => {
        if (this.router.degraded && !(await this.jsonl.get(itemId))) throw degradedError(itemId);
        return this.jsonl.events(itemId);
      },
    );
  }

  dashboard(filter: { env?: string } = {}, now: Date = this.clock()): Promise<Dashboard> {
    return this.router.route((pg) => pg.dashboard(filter, now), () => this.jsonl.dashboard(filter, now));
  }

  cleanup(retentionDays: number, now: Date = this.clock(), options: CleanupOptions = {}): Promise<number> {
    return this.router.route((pg) => pg.cleanup(retentionDays, now, options), () => this.jsonl.cleanup(retentionDays, now, options));
  }

  async health(): Promise<StoreHealth> {
    return this.router.health(() => this.jsonl.health());
  }

  async close(): Promise<void> {
    await this.router.close();
    await this.jsonl.close();
  }

  /** While degraded, an id JSONL does not know may exist in Postgres: refuse instead of saying not_found. */
  private async refuseUnknown<T>(id: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (this.router.degraded && err instanceof AppError && err.code === "not_found") throw degradedError(id);
      throw err;
    }
  }
}
