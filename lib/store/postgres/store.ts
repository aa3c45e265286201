/**
 * Postgres backend (postgres.js, parameterised statements only). Rules come from logic.ts, exactly as
 * in the memory and JSONL backends; this file only decides how they meet the database:
 * - every write is ONE transaction holding the item row lock (`for update`) while it plans, so
 *   concurrent writers to one item serialise and an item is never written without its events;
 * - a new dedupe_key goes in with `insert … on conflict (dedupe_key) do nothing`, so any number of
 *   connections creating the same key at once produce one item and no error (the losers wait for the
 *   winner's commit, then update it as an ordinary re-upsert);
 * - timestamps come from the injected clock and are stored/returned with millisecond precision.
 */
import { connectPg, describePg, ping, type PgConfig, type Sql, type Tx } from "../../pg/db.ts";
import { missingMigrations, missingMigrationsText } from "../../pg/schema-version.ts";
import { AppError, describeError } from "../../core/errors.ts";
import { log as defaultLog, type Logger } from "../../core/log.ts";
import {
  cleanupCutoff,
  parseStatus,
  parseTransition,
  parseUpsert,
  planComment,
  planStatus,
  planTransition,
  planUpsert,
} from "../logic.ts";
import { upsertManyTx } from "./batch.ts";
import { parseUpsertMany } from "../plan-upsert-many.ts";
import { ChangeFeed } from "./changes.ts";
import { queryDashboard } from "./dashboard.ts";
import { queryList } from "./list.ts";
import { lockById, resolved } from "./lock-by-id.ts";
import { retryingTx } from "./retrying-tx.ts";
import {
  insertEvents,
  insertItems,
  rowToEvent,
  rowToItem,
  selectForUpdateByKey,
  updateItems,
} from "./rows.ts";
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

// Moved to their own modules; still exported here, where the auto store's replay imports them.

export interface PostgresStoreOptions {
  /** An open pool; the store does not end it on close (its owner does). */
  sql?: Sql;
  /** Or a config (lib/pg/db.ts resolvePgConfig); the store opens and owns its pool. */
  config?: PgConfig;
  clock?: () => Date;
  log?: Logger;
  /** Pool size when the store opens the pool itself. */
  max?: number;
}

export class PostgresBacklogStore implements BacklogStore {
  readonly name = "PostgresBacklogStore";
  readonly sql: Sql;
  readonly binding: StoreBinding;
  private readonly owned: boolean;
  private readonly clock: () => Date;
  private readonly log: Logger;
  private readonly target: string;
  /** Change version for read caches; null when the pool was given by the caller (no config to LISTEN with). */
  private readonly changes: ChangeFeed | null;

  constructor(options: PostgresStoreOptions) {
    if (options.sql) {
      this.sql = options.sql;
      this.owned = false;
      this.target = options.config ? describePg(options.config) : "(pool given by caller)";
    } else if (options.config) {
      this.sql = connectPg(options.config, { max: options.max ?? 10 });
      this.owned = true;
      this.target = describePg(options.config);
    } else {
      throw new AppError("config", "PostgresBacklogStore needs `sql` (an open pool) or `config` (from resolvePgConfig).");
    }
    this.clock = options.clock ?? (() => new Date());
    this.log = options.log ?? defaultLog;
    this.binding = { kind: "postgres", sql: this.sql };
    this.changes = options.config ? new ChangeFeed(options.config, this.log) : null;
  }

  /** See postgres-changes.ts: moves on every committed write of any replica; null = do not cache. */
  version(): string | null {
    return this.changes?.version() ?? null;
  }

  /**
   * Opens a pool and checks, within the connect timeout, that the server answers and the backlog
   * tables exist; closes the pool again when it does not. Errors name the (redacted) target and the fix.
   */
  static async open(options: PostgresStoreOptions & { config: PgConfig }): Promise<PostgresBacklogStore> {
    const store = new PostgresBacklogStore(options);
    try {
      await ping(store.sql, options.config);
      await store.checkSchema();
    } catch (err) {
      await store.close();
      throw err;
    }
    return store;
  }

  /** Fails with a sentence naming the fix when migrations have not been applied. */
  async checkSchema(): Promise<void> {
    const [row] = await this.sql<{ ok: boolean }[]>`
      select to_regclass('public.backlog_items') is not null and to_regclass('public.backlog_events') is not null
         and to_regclass('public.backlog_id_aliases') is not null and to_regclass('public.backlog_replayed_ops') is not null as ok`;
    if (!row?.ok) {
      throw new AppError("unavailable", `Postgres at ${this.target} lacks the backlog tables (backlog_items, backlog_events, backlog_id_aliases, backlog_replayed_ops): run the migrations first (npx bun run migrate).`);
    }
  }

  async upsert(input: UpsertInput, ctx: Actor): Promise<UpsertResult> {
    const parsed = parseUpsert(input);
    const now = this.clock();
    return this.tx(async (tx) => {
      const fresh = planUpsert(null, parsed, ctx.actor, now);
      const [inserted] = await insertItems(tx, [fresh.item], "nothing");
      if (inserted?.dedupe_key === parsed.dedupe_key) {
        const events = fresh.events;
        await insertEvents(tx, events);
        return { item: fresh.item, created: true, changed: true };
      }
      const [existing] = await selectForUpdateByKey(tx, [parsed.dedupe_key]);
      // Gone between the insert and the select (cleanup): run the transaction again, it will insert.
      if (!existing) throw Object.assign(new Error("dedupe_key vanished during upsert"), { code: "40001" });
      const plan = planUpsert(existing, parsed, ctx.actor, now);
      if (plan.changed) {
        await updateItems(tx, [plan.item]);
        await insertEvents(tx, plan.events);
      }
      return { item: plan.item, created: false, changed: plan.changed };
    });
  }

  /**
   * Batch upsert in one transaction with a handful of statements (see postgres-batch.ts). Same result
   * as calling upsert for each input in order; results are returned in input order.
   */
  async upsertMany(inputs: UpsertInput[], ctx: Actor): Promise<UpsertResult[]> {
    const parsed = parseUpsertMany(inputs);
    if (!parsed.length) return [];
    const now = this.clock();
    return this.tx((tx) => upsertManyTx(tx, parsed, ctx.actor, now));
  }

  /** An id the auto store's fallback handed out for a key Postgres had resolves to that item (alias). */
  async get(id: string): Promise<BacklogItem | null> {
    const [row] = await this.sql`select * from backlog_items where id = ${resolved(this.sql, id)}`;
    return row ? rowToItem(row) : null;
  }

  async getByDedupeKey(key: string): Promise<BacklogItem | null> {
    const [row] = await this.sql`select * from backlog_items where dedupe_key = ${key}`;
    return row ? rowToItem(row) : null;
  }

  async list(filter?: ListFilter, now: Date = this.clock()): Promise<ListResult> {
    return queryList(this.sql, filter, now);
  }

  async setStatus(id: string, status: Status, ctx: Actor & { message?: string }): Promise<BacklogItem> {
    const next = parseStatus(status); // bad input is 400 before any lookup, not 404
    const now = this.clock();
    return this.tx(async (tx) => {
      const item = await lockById(tx, id);
      const plan = planStatus(item, next, ctx.actor, ctx.message, now);
      if (plan.event) {
        await tx`update backlog_items set status = ${plan.item.status}, updated_at = ${plan.item.updated_at}::timestamptz where id = ${item.id}`;
        await insertEvents(tx, [plan.event]);
      }
      return plan.item;
    });
  }

  /**
   * `eventId` lets the auto store give the comment its id up front, so a comment retried on the
   * fallback after an ambiguous failure is stored once when replayed (see docs/storage.md).
   */
  async addComment(id: string, message: string, ctx: Actor & { eventId?: string }): Promise<BacklogEvent> {
    planComment({ id } as BacklogItem, message, ctx.actor, this.clock()); // same checks, before any I/O
    const now = this.clock();
    return this.tx(async (tx) => {
      const item = await lockById(tx, id);
      const planned = planComment(item, message, ctx.actor, now);
      const [ev] = ctx.eventId ? [{ ...planned, id: ctx.eventId }] : [planned];
      await insertEvents(tx, [ev!]);
      return ev!;
    });
  }

  async transition(id: string, t: Transition, ctx: Actor): Promise<BacklogItem> {
    const parsed = parseTransition(t); // bad input is 400 before any lookup, not 404
    const now = this.clock();
    return this.tx(async (tx) => {
      const item = await lockById(tx, id);
      const plan = planTransition(item, parsed, ctx.actor, now);
      await updateItems(tx, [plan.item]);
      await insertEvents(tx, [plan.event]);
      return plan.item;
    });
  }

  async events(itemId: string): Promise<BacklogEvent[]> {
    const rows = await this.sql`select * from backlog_events where item_id = ${resolved(this.sql, itemId)} order by ts, id collate "C"`;
    return rows.map(rowToEvent);
  }

  async dashboard(filter: { env?: string } = {}, now: Date = this.clock()): Promise<Dashboard> {
    return queryDashboard(this.sql, filter.env, now);
  }

  /** One DELETE; events go with their items (ON DELETE CASCADE). */
  async cleanup(retentionDays: number, now: Date = this.clock(), options: CleanupOptions = {}): Promise<number> {
    const cutoff = cleanupCutoff(retentionDays, now);
    if (options.dryRun) {
      const [row] = await this.sql<{ n: number }[]>`
        select count(*)::int as n from backlog_items where status in ('done', 'canceled') and updated_at < ${cutoff}::timestamptz`;
      return row?.n ?? 0;
    }
    const res = await this.sql`delete from backlog_items where status in ('done', 'canceled') and updated_at < ${cutoff}::timestamptz`;
    if (res.count) this.changes?.bump();
    return res.count;
  }

  /** Runs `fn` in one transaction (retried on serialization failures), errors mapped as for every write. */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.tx(fn);
  }

  /** Throws when the server cannot be reached (the auto store uses this for readiness). */
  async ping(): Promise<void> {
    await this.sql`select 1`;
  }

  /**
   * Readiness: the server answers and every migration this code needs is applied (schema-version.ts).
   * Null when ready, else the sentence naming what is missing; a connection error is thrown.
   */
  async schemaGap(): Promise<string | null> {
    const missing = await missingMigrations(this.sql);
    return missing.length ? missingMigrationsText(this.target, missing) : null;
  }

  async health(): Promise<StoreHealth> {
    try {
      const gap = await this.schemaGap();
      if (gap) return { backend: this.name, degraded: true, serving: false, detail: gap };
      return { backend: this.name, degraded: false, detail: this.target };
    } catch (err) {
      return { backend: this.name, degraded: true, serving: false, detail: `Postgres at ${this.target} is unreachable: ${describeError(err)}` };
    }
  }

  async close(): Promise<void> {
    await this.changes?.close();
    if (this.owned) await this.sql.end({ timeout: 5 });
  }

  /** Every write's transaction (retrying-tx.ts); a commit moves the change version. */
  private tx<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return retryingTx(this.sql, fn, this.log, () => this.changes?.bump());
  }
}
