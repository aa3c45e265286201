/**
 * AutoBacklogStore (runbook 1.1): Postgres when it answers, JSONL when it does not.
 *
 * - Start: try Postgres (connect timeout from lib/db.ts). No Postgres configured → plain JSONL, not
 *   degraded. Configured but unreachable (or not migrated) → JSONL, degraded, retried every
 *   BACKLOG_PG_RETRY_SECONDS (timer unref'd, so it never keeps a script alive).
 * - A query failing because the connection died switches to JSONL at once and is retried there.
 * - While degraded, a write to an id JSONL does not know is refused (`degraded`), never dropped:
 *   the item may exist only in Postgres.
 * - Recovery: replay the JSONL journal into Postgres (auto-replay.ts; merge rule in auto-merge.ts)
 *   once while JSONL still serves, then again with new operations held back for the moment it takes
 *   to switch, so no write acknowledged on JSONL is left behind.
 * Log events are the runbook's: `backlog_store: using PostgresBacklogStore` (info) and
 * `backlog_store: using JsonlBacklogStore` (warn, with the reason).
 */
import { clearInterval, setInterval } from "node:timers";
import { describePg, type PgConfig } from "../db.ts";
import { AppError, describeError } from "../errors.ts";
import { log as defaultLog, type Logger } from "../log.ts";
import { SwitchGate } from "./auto-gate.ts";
import { replayJournal, ReplayLedger } from "./auto-replay.ts";
import { JsonlBacklogStore } from "./jsonl.ts";
import { newId, planComment } from "./logic.ts";
import { PostgresBacklogStore } from "./postgres.ts";
import { isConnectionError } from "./postgres-errors.ts";
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
  StoreHealth,
  UpsertInput,
  UpsertResult,
} from "./types.ts";

export const USING_POSTGRES = "backlog_store: using PostgresBacklogStore";
export const USING_JSONL = "backlog_store: using JsonlBacklogStore";

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
  return new AppError("degraded", `store degraded: Postgres is unavailable and item ${id} is only in Postgres; retry when readyz reports ready`);
}

export class AutoBacklogStore implements BacklogStore {
  readonly jsonl: JsonlBacklogStore;
  readonly retrySeconds: number;
  private readonly config: PgConfig | null;
  private readonly clock: () => Date;
  private readonly log: Logger;
  private readonly ledger: ReplayLedger;
  private pg: PostgresBacklogStore | null = null;
  private reason = "";
  private timer: ReturnType<typeof setInterval> | null = null;
  private recovering: Promise<boolean> | null = null;
  /** Closed while switching to Postgres: new operations wait, running JSONL ones are drained. */
  private readonly gate = new SwitchGate();
  private closed = false;

  private constructor(options: AutoStoreOptions) {
    this.config = options.pg;
    this.clock = options.clock ?? (() => new Date());
    this.log = options.log ?? defaultLog;
    this.retrySeconds = options.retrySeconds ?? 300;
    if (!(this.retrySeconds > 0) || !Number.isFinite(this.retrySeconds)) {
      throw new AppError("config", `retrySeconds: expected a positive number of seconds, got ${JSON.stringify(options.retrySeconds)}.`);
    }
    this.jsonl = new JsonlBacklogStore({ dir: options.dir, clock: this.clock, log: this.log, lockStaleMs: options.lockStaleMs });
    this.ledger = new ReplayLedger(this.jsonl.dir);
  }

  static async open(options: AutoStoreOptions): Promise<AutoBacklogStore> {
    const store = new AutoBacklogStore(options);
    if (!store.config) {
      store.log.warn(USING_JSONL, { reason: "no Postgres configured (BACKLOG_POSTGRES_DSN, POSTGRES_DSN or POSTGRES_HOST)", dir: store.jsonl.dir, degraded: false });
    } else if (!(await store.recover())) {
      store.startTimer();
    }
    return store;
  }

  /** The class actually serving right now. */
  get name(): string {
    return this.pg ? this.pg.name : this.jsonl.name;
  }

  /** True while Postgres is configured but we serve from JSONL. */
  /** The Postgres store while it is the one serving; null while on the JSONL fallback. */
  get serving(): PostgresBacklogStore | null {
    return this.pg;
  }

  get degraded(): boolean {
    return this.config !== null && this.pg === null;
  }

  upsert(input: UpsertInput, ctx: Actor): Promise<UpsertResult> {
    return this.route((pg) => pg.upsert(input, ctx), (j) => j.upsert(input, ctx));
  }

  /** Postgres' batch path; on JSONL the same inputs one by one (same outcome, see upsertMany in postgres.ts). */
  upsertMany(inputs: UpsertInput[], ctx: Actor): Promise<UpsertResult[]> {
    return this.route(
      (pg) => pg.upsertMany(inputs, ctx),
      async (j) => {
        const out: UpsertResult[] = [];
        for (const input of inputs) out.push(await j.upsert(input, ctx));
        return out;
      },
    );
  }

  get(id: string): Promise<BacklogItem | null> {
    return this.route((pg) => pg.get(id), (j) => j.get(id));
  }

  getByDedupeKey(key: string): Promise<BacklogItem | null> {
    return this.route((pg) => pg.getByDedupeKey(key), (j) => j.getByDedupeKey(key));
  }

  list(filter?: ListFilter, now: Date = this.clock()): Promise<ListResult> {
    return this.route((pg) => pg.list(filter, now), (j) => j.list(filter, now));
  }

  setStatus(id: string, status: Status, ctx: Actor & { message?: string }): Promise<BacklogItem> {
    return this.route((pg) => pg.setStatus(id, status, ctx), (j) => this.refuseUnknown(id, () => j.setStatus(id, status, ctx)));
  }

  /**
   * The comment's event id is chosen before Postgres is tried. If the connection dies after Postgres
   * may have committed it, the copy written to JSONL carries the same id, so the replay stores it once.
   */
  addComment(id: string, message: string, ctx: Actor): Promise<BacklogEvent> {
    const eventId = newId("ev");
    return this.route(
      (pg) => pg.addComment(id, message, { ...ctx, eventId }),
      (j, afterFailure) =>
        this.refuseUnknown(id, async () => {
          if (!afterFailure) return j.addComment(id, message, ctx);
          const item = await j.get(id);
          if (!item) throw degradedError(id);
          const ev = { ...planComment(item, message, ctx.actor, this.clock()), id: eventId };
          await j.appendRaw([], [ev]);
          return ev;
        }),
    );
  }

  events(itemId: string): Promise<BacklogEvent[]> {
    return this.route((pg) => pg.events(itemId), (j) => j.events(itemId));
  }

  dashboard(filter: { env?: string } = {}, now: Date = this.clock()): Promise<Dashboard> {
    return this.route((pg) => pg.dashboard(filter, now), (j) => j.dashboard(filter, now));
  }

  cleanup(retentionDays: number, now: Date = this.clock(), options: CleanupOptions = {}): Promise<number> {
    return this.route((pg) => pg.cleanup(retentionDays, now, options), (j) => j.cleanup(retentionDays, now, options));
  }

  async health(): Promise<StoreHealth> {
    for (let p; (p = this.gate.pending); ) await p;
    const pg = this.pg;
    if (pg) {
      try {
        await pg.ping();
        return { backend: pg.name, degraded: false, detail: describePg(this.config!) };
      } catch (err) {
        if (!isConnectionError(err)) return { backend: pg.name, degraded: true, serving: false, detail: describeError(err) };
        this.fallBack(pg, err);
      }
    }
    const j = await this.jsonl.health();
    if (!this.config) return { backend: j.backend, degraded: j.degraded, serving: !j.degraded, detail: `no Postgres configured; ${j.detail ?? this.jsonl.dir}` };
    return {
      backend: j.backend,
      degraded: true,
      serving: !j.degraded,
      detail: `Postgres at ${describePg(this.config)} is unavailable (${this.reason}); serving from JSONL at ${this.jsonl.dir}, retrying every ${this.retrySeconds}s` + (j.degraded ? `; JSONL: ${j.detail}` : ""),
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopTimer();
    await this.recovering?.catch(() => {});
    const pg = this.pg;
    this.pg = null;
    await pg?.close();
    await this.jsonl.close();
  }

  /**
   * Tries to get back to Postgres: connect, replay the journal, switch. Resolves true when serving
   * from Postgres afterwards. Concurrent calls share one attempt.
   */
  recover(): Promise<boolean> {
    if (!this.config || this.closed) return Promise.resolve(false);
    if (this.pg) return Promise.resolve(true);
    this.recovering ??= this.attemptRecovery().finally(() => (this.recovering = null));
    return this.recovering;
  }

  private async attemptRecovery(): Promise<boolean> {
    const config = this.config!;
    let pg: PostgresBacklogStore | null = null;
    try {
      pg = await PostgresBacklogStore.open({ config, clock: this.clock, log: this.log });
      const open = pg;
      // Bulk of the journal while JSONL keeps serving; then the tail with operations held back.
      await replayJournal(open, this.jsonl, this.ledger, this.clock(), this.log);
      await this.gate.exclusive(async () => {
        if (this.closed) throw new AppError("unavailable", "store closed during recovery");
        await replayJournal(open, this.jsonl, this.ledger, this.clock(), this.log);
        this.pg = open;
      });
      this.stopTimer();
      this.reason = "";
      this.log.info(USING_POSTGRES, { target: describePg(config), jsonl_dir: this.jsonl.dir });
      return true;
    } catch (err) {
      if (pg && this.pg !== pg) await pg.close().catch(() => {});
      const reason = describeError(err);
      if (reason !== this.reason) {
        this.reason = reason;
        this.log.warn(USING_JSONL, { reason, target: describePg(config), dir: this.jsonl.dir, degraded: true, retry_seconds: this.retrySeconds });
      } else {
        this.log.debug("backlog_store_retry_failed", { reason, retry_seconds: this.retrySeconds });
      }
      return false;
    }
  }

  /** Leaves Postgres after `err` killed a query on `pg` (no-op if we already left it). */
  private fallBack(pg: PostgresBacklogStore, err: unknown): void {
    if (this.pg !== pg) return;
    this.pg = null;
    this.reason = describeError(err);
    this.log.warn(USING_JSONL, { reason: this.reason, target: describePg(this.config!), dir: this.jsonl.dir, degraded: true, retry_seconds: this.retrySeconds });
    void pg.close().catch(() => {});
    this.startTimer();
  }

  /**
   * Runs an operation on Postgres when it serves, else on JSONL. A connection failure on Postgres
   * switches over and runs it again (`afterFailure` tells the JSONL side it may be a repeat).
   */
  private async route<T>(onPg: (pg: PostgresBacklogStore) => Promise<T>, onJsonl: (j: JsonlBacklogStore, afterFailure: boolean) => Promise<T>): Promise<T> {
    let afterFailure = false;
    for (;;) {
      for (let p; (p = this.gate.pending); ) await p;
      const pg = this.pg;
      // No await between the gate check and run(): a switch waits for every JSONL operation.
      if (!pg) return this.gate.run(() => onJsonl(this.jsonl, afterFailure));
      try {
        return await onPg(pg);
      } catch (err) {
        if (!isConnectionError(err)) throw err;
        this.fallBack(pg, err);
        afterFailure = true;
      }
    }
  }

  /** While degraded, an id JSONL does not know may exist in Postgres: refuse instead of saying not_found. */
  private async refuseUnknown<T>(id: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (this.config && err instanceof AppError && err.code === "not_found") throw degradedError(id);
      throw err;
    }
  }

  private startTimer(): void {
    if (this.timer || this.closed || !this.config) return;
    // node:timers (not the global) so unref() exists under Deno too: the retry never keeps a script alive.
    this.timer = setInterval(() => void this.recover(), this.retrySeconds * 1000);
    this.timer.unref();
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
