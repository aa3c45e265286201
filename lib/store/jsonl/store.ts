/**
 * JSONL backend: `<dir>/items.jsonl` and `<dir>/events.jsonl`, append-only, last line per id wins.
 * Several processes (server, cron scripts) may share the directory: every append and rewrite happens
 * under one cross-process lock (`<dir>/.lock`), after catching up with what the others appended, so
 * dedupe_key stays unique across processes. Reads take no lock: each call costs one stat, plus reading
 * only the bytes appended since the previous call (see jsonl-file.ts). Rules come from logic.ts, so
 * behaviour matches every other backend. File formats and operator notes: docs/storage-jsonl.md.
 */
import { resolve } from "node:path";
import { AppError, describeError } from "../../core/errors.ts";
import { log as defaultLog, type Logger } from "../../core/log.ts";
import type { ReadStats } from "../../fs/line-sink.ts";
import { BacklogDir } from "./backlog-dir.ts";
import type { AttentionView } from "./dashboard-index.ts";
import type { JsonlIndex } from "./item-index.ts";
import { checkRawRecords } from "./shape.ts";
import { makeOp, type BacklogOpBody, type OpSink } from "../auto/ops.ts";
import { cleanupCutoff, copyItem, isExpired, notFound, parseStatus, parseTransition, parseUpsert, planComment, planStatus, planTransition, planUpsert } from "../logic.ts";
import { listItems, parseFilter } from "../list-items.ts";
import { parseUpsertMany, planUpsertMany } from "../plan-upsert-many.ts";
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

export interface JsonlStoreOptions {
  /** Directory holding items.jsonl and events.jsonl; created if missing. Runbook: ops/backlog. */
  dir: string;
  clock?: () => Date;
  log?: Logger;
  /** A lock held by a process that died (kill -9) is taken over after this long. Default 10 s, min 2 s. */
  lockStaleMs?: number;
  /**
   * The auto backend's outage journal: every write this store acknowledges is handed over as the
   * operation the caller asked for, inside the directory lock, before the ack (also when it changed
   * nothing here). Unset for a plain JSONL store.
   */
  journal?: OpSink;
}

export class JsonlBacklogStore implements BacklogStore {
  readonly name = "JsonlBacklogStore";
  readonly binding: StoreBinding;
  readonly dir: string;
  private readonly clock: () => Date;
  /** Files, index, lock and the order of this instance's reads and writes (backlog-dir.ts). */
  private readonly files: BacklogDir;
  private readonly index: JsonlIndex;
  private readonly journal: OpSink | null;

  constructor(options: JsonlStoreOptions) {
    if (typeof options?.dir !== "string" || options.dir.trim() === "") {
      throw new AppError("invalid_input", `dir: expected the path of the JSONL backlog directory (e.g. ops/backlog), got ${JSON.stringify(options?.dir)}.`);
    }
    this.dir = resolve(options.dir);
    this.clock = options.clock ?? (() => new Date());
    this.files = new BacklogDir(this.dir, options.log ?? defaultLog, options.lockStaleMs ?? 10_000);
    this.index = this.files.index;
    this.journal = options.journal ?? null;
    this.binding = { kind: "jsonl", dir: this.dir, store: this };
  }

  /** Runs `fn` holding the directory lock every writer of this directory takes (journal pruning). */
  locked<T>(fn: () => Promise<T>): Promise<T> {
    return this.files.lock.run(fn);
  }

  /** Inside the lock, after the JSONL commit, before the ack: the journal's copy of the operation. */
  private async journaled(body: BacklogOpBody | BacklogOpBody[], actor: string, at: Date): Promise<void> {
    if (this.journal) await this.journal((Array.isArray(body) ? body : [body]).map((b) => makeOp(b, actor, at)));
  }

  async upsert(input: UpsertInput, ctx: Actor): Promise<UpsertResult> {
    const parsed = parseUpsert(input);
    // Most re-upserts (weekly generation) change nothing: settle those without taking the lock —
    // unless a journal must record them (the fallback's copy may be stale; Postgres may differ).
    const quick = this.journal ? null : await this.files.reading("items", () => {
      const existing = this.index.getByKey(parsed.dedupe_key);
      return existing && !planUpsert(existing, parsed, ctx.actor, this.clock()).changed ? existing : null;
    });
    if (quick) return { item: copyItem(quick), created: false, changed: false };
    return this.files.writing(async () => {
      const now = this.clock();
      const plan = planUpsert(this.index.getByKey(parsed.dedupe_key) ?? null, parsed, ctx.actor, now);
      if (plan.changed) await this.files.commit([plan.item], plan.events);
      await this.journaled({ kind: "upsert", input: parsed, local_id: plan.item.id }, ctx.actor, now);
      return { item: copyItem(plan.item), created: plan.created, changed: plan.changed };
    });
  }

  /**
   * One lock, one append per file and (on auto) one journal append for the whole batch. A run that
   * changes nothing (the weekly re-run) takes no lock, like upsert. What a kill mid-batch leaves: commit().
   */
  async upsertMany(inputs: UpsertInput[], ctx: Actor): Promise<UpsertResult[]> {
    const parsed = parseUpsertMany(inputs);
    if (!parsed.length) return [];
    const quick = this.journal ? null : await this.files.reading("items", () => {
      // Each input unchanged against the stored item means the batch in order is unchanged too.
      const now = this.clock();
      const same: BacklogItem[] = [];
      for (const input of parsed) {
        const existing = this.index.getByKey(input.dedupe_key);
        if (!existing || planUpsert(existing, input, ctx.actor, now).changed) return null;
        same.push(existing);
      }
      return same.map((it) => ({ item: copyItem(it), created: false, changed: false }));
    });
    if (quick) return quick;
    return this.files.writing(async () => {
      const now = this.clock();
      const p = planUpsertMany(parsed, (key) => this.index.getByKey(key), ctx.actor, now);
      await this.files.commit(p.items, p.events);
      await this.journaled(parsed.map((input, i) => ({ kind: "upsert" as const, input, local_id: p.results[i]!.item.id })), ctx.actor, now);
      return p.results.map((r) => ({ ...r, item: copyItem(r.item) }));
    });
  }

  async get(id: string): Promise<BacklogItem | null> {
    return this.files.reading("items", () => {
      const it = this.index.items.get(id);
      return it ? structuredClone(it) : null;
    });
  }

  async getByDedupeKey(key: string): Promise<BacklogItem | null> {
    return this.files.reading("items", () => {
      const it = this.index.getByKey(key);
      return it ? structuredClone(it) : null;
    });
  }

  async list(filter?: ListFilter, now: Date = this.clock()): Promise<ListResult> {
    parseFilter(filter);
    return this.files.reading("items", () => structuredClone(listItems(this.index.items.values(), filter, now)));
  }

  async setStatus(id: string, status: Status, ctx: Actor & { message?: string }): Promise<BacklogItem> {
    const next = parseStatus(status); // bad input is 400 before any lookup, not 404
    return this.files.writing(async () => {
      const item = this.index.items.get(id);
      if (!item) throw notFound(id);
      const now = this.clock();
      const plan = planStatus(item, next, ctx.actor, ctx.message, now);
      if (plan.event) await this.files.commit([plan.item], [plan.event]);
      await this.journaled({ kind: "set_status", id, status: next, ...(ctx.message === undefined ? {} : { message: ctx.message }) }, ctx.actor, now);
      return structuredClone(plan.item);
    });
  }

  /** `eventId`: see PostgresBacklogStore.addComment (the auto store fixes the id before trying Postgres). */
  async addComment(id: string, message: string, ctx: Actor & { eventId?: string }): Promise<BacklogEvent> {
    planComment({ id } as BacklogItem, message, ctx.actor, this.clock()); // same checks, before any I/O
    return this.files.writing(async () => {
      const item = this.index.items.get(id);
      if (!item) throw notFound(id);
      const now = this.clock();
      const planned = planComment(item, message, ctx.actor, now);
      const ev = ctx.eventId ? { ...planned, id: ctx.eventId } : planned;
      await this.files.commit([], [ev]);
      await this.journaled({ kind: "comment", id, message, event_id: ev.id }, ctx.actor, now);
      return structuredClone(ev);
    });
  }

  async transition(id: string, t: Transition, ctx: Actor): Promise<BacklogItem> {
    const parsed = parseTransition(t); // bad input is 400 before any lookup, not 404
    return this.files.writing(async () => {
      const item = this.index.items.get(id);
      if (!item) throw notFound(id);
      const now = this.clock();
      const plan = planTransition(item, parsed, ctx.actor, now);
      await this.files.commit([plan.item], [plan.event]);
      // The guard was checked here against the copy the caller read; Postgres replays the step as asked.
      const { expect_updated_at: _e, ...step } = parsed;
      await this.journaled({ kind: "transition", id, transition: step }, ctx.actor, now);
      return structuredClone(plan.item);
    });
  }

  async events(itemId: string): Promise<BacklogEvent[]> {
    return this.files.reading("events", () => structuredClone(this.index.byItem.get(itemId) ?? []));
  }

  async dashboard(filter: { env?: string } = {}, now: Date = this.clock()): Promise<Dashboard> {
    return this.files.reading("items", () => this.index.dashboard(filter, now));
  }

  /**
   * Per env: items by status × priority and unfinished items per due date up to `horizon`, from the
   * dashboard aggregates kept per write: no walk over the items (lib/alerting/source.ts, /metrics).
   */
  async attention(horizon: string): Promise<Map<string, AttentionView>> {
    return this.files.reading("items", () => this.index.attention(horizon));
  }

  /** Copies of the unfinished items due on or before `horizon` (the notifier). */
  async dueBy(horizon: string): Promise<BacklogItem[]> {
    return this.files.reading("items", () => this.index.dueBy(horizon).map((it) => structuredClone(it)));
  }

  async cleanup(retentionDays: number, now: Date = this.clock(), options: CleanupOptions = {}): Promise<number> {
    const cutoff = cleanupCutoff(retentionDays, now);
    const expired = () => {
      const ids = new Set<string>();
      for (const it of this.index.items.values()) if (isExpired(it, cutoff)) ids.add(it.id);
      return ids;
    };
    if (options.dryRun) return this.files.reading("items", () => expired().size);
    return this.files.writing(async (eventsRead) => {
      const doomed = expired();
      await this.files.rewrite(doomed, "cleanup", eventsRead);
      await this.journaled({ kind: "cleanup", retention_days: retentionDays, now: now.toISOString() }, "cleanup", now);
      return doomed.size;
    }, true);
  }

  /** Drops superseded, invalid and orphaned lines by rewriting both files atomically. Counts are items.jsonl lines. */
  async compact(): Promise<{ linesBefore: number; linesAfter: number }> {
    return this.files.writing(async () => {
      const linesBefore = this.files.itemsFile.lines;
      await this.files.rewrite(new Set(), "compact");
      return { linesBefore, linesAfter: this.files.itemsFile.lines };
    });
  }

  /** Current state of every item. The objects are shared with the index: read them, do not mutate them. */
  async allItems(): Promise<BacklogItem[]> {
    return this.files.reading("items", () => Array.from(this.index.items.values()));
  }

  /** Every event, in file order. Shared objects, as for allItems. */
  async allEvents(): Promise<BacklogEvent[]> {
    return this.files.reading("events", () => this.index.events.slice());
  }

  /** Appends the given records as they are (after a shape check), under the lock. Used by the auto store. */
  async appendRaw(items: BacklogItem[], events: BacklogEvent[]): Promise<void> {
    checkRawRecords(items, events);
    if (!items.length && !events.length) return;
    await this.files.writing(() => this.files.commit(items, events));
  }

  /** Never queued behind writes (a write may wait ~10 s on a stale lock): probes answer at once. */
  async health(): Promise<StoreHealth> {
    try {
      await this.files.checkAccess();
      return { backend: this.name, degraded: false, detail: this.dir };
    } catch (err) {
      return { backend: this.name, degraded: true, serving: false, detail: describeError(err) };
    }
  }

  close(): Promise<void> {
    return this.files.close();
  }

  /**
   * Inode and size of both files (of items.jsonl alone for `"items"`): any append or rewrite, by this or
   * any other process, changes it. One stat call per file, no read. (Writers only append or rename a new
   * file over: a same-size in-place edit by hand is not noticed.)
   */
  version(scope?: "items"): string {
    return this.files.version(scope);
  }

  /** Bytes read and full reloads per file: how tests and benchmarks see that catch-ups stay incremental. */
  readStats(): { items: ReadStats; events: ReadStats } {
    return this.files.readStats();
  }
}
