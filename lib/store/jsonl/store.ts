/**
 * JSONL backend: `<dir>/items.jsonl` and `<dir>/events.jsonl`, append-only, last line per id wins.
 * Several processes (server, cron scripts) may share the directory: every append and rewrite happens
 * under one cross-process lock (`<dir>/.lock`), after catching up with what the others appended, so
 * dedupe_key stays unique across processes. Reads take no lock: each call costs one stat, plus reading
 * only the bytes appended since the previous call (see jsonl-file.ts). Rules come from logic.ts, so
 * behaviour matches every other backend. File formats and operator notes: docs/storage-jsonl.md.
 */
import { accessSync, constants, statSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { AppError, describeError } from "../../core/errors.ts";
import { DirLock } from "../../fs/file-lock.ts";
import { log as defaultLog, type Logger } from "../../core/log.ts";
import type { AttentionView } from "./dashboard-index.ts";
import { JsonlIndex } from "./item-index.ts";
import { JsonlFile, listTemps, removeStaleTemps, type ReadStats } from "../../fs/jsonl-file.ts";
import { isEventLine, isItemLine } from "./shape.ts";
import { OWN_FILES, rewriteFiles } from "./rewrite.ts";
import { makeOp, type BacklogOpBody, type OpSink } from "../auto/ops.ts";
import {
  cleanupCutoff,
  copyItem,
  isExpired,
  listItems,
  notFound,
  parseFilter,
  parseStatus,
  parseTransition,
  parseUpsert,
  planComment,
  planStatus,
  planTransition,
  planUpsert,
} from "../logic.ts";
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
  private readonly log: Logger;
  private readonly lock: DirLock;
  private readonly itemsFile: JsonlFile;
  private readonly eventsFile: JsonlFile;
  private readonly index = new JsonlIndex();
  /** Serialises this instance's catch-ups and writes so a line is never applied twice. */
  private queue: Promise<unknown> = Promise.resolve();
  private prepared = false;
  private readonly journal: OpSink | null;

  constructor(options: JsonlStoreOptions) {
    if (typeof options?.dir !== "string" || options.dir.trim() === "") {
      throw new AppError("invalid_input", `dir: expected the path of the JSONL backlog directory (e.g. ops/backlog), got ${JSON.stringify(options?.dir)}.`);
    }
    this.dir = resolve(options.dir);
    this.clock = options.clock ?? (() => new Date());
    this.log = options.log ?? defaultLog;
    this.lock = new DirLock(this.dir, { staleMs: options.lockStaleMs ?? 10_000, log: this.log });
    this.itemsFile = new JsonlFile(join(this.dir, "items.jsonl"), this.log);
    this.eventsFile = new JsonlFile(join(this.dir, "events.jsonl"), this.log);
    this.journal = options.journal ?? null;
    this.binding = { kind: "jsonl", dir: this.dir, store: this };
  }

  /** Runs `fn` holding the directory lock every writer of this directory takes (journal pruning). */
  locked<T>(fn: () => Promise<T>): Promise<T> {
    return this.lock.run(fn);
  }

  /** Inside the lock, after the JSONL commit, before the ack: the journal's copy of the operation. */
  private async journaled(body: BacklogOpBody | BacklogOpBody[], actor: string, at: Date): Promise<void> {
    if (this.journal) await this.journal((Array.isArray(body) ? body : [body]).map((b) => makeOp(b, actor, at)));
  }

  async upsert(input: UpsertInput, ctx: Actor): Promise<UpsertResult> {
    const parsed = parseUpsert(input);
    // Most re-upserts (weekly generation) change nothing: settle those without taking the lock —
    // unless a journal must record them (the fallback's copy may be stale; Postgres may differ).
    const quick = this.journal ? null : await this.reading("items", () => {
      const existing = this.index.getByKey(parsed.dedupe_key);
      return existing && !planUpsert(existing, parsed, ctx.actor, this.clock()).changed ? existing : null;
    });
    if (quick) return { item: copyItem(quick), created: false, changed: false };
    return this.writing(async () => {
      const now = this.clock();
      const plan = planUpsert(this.index.getByKey(parsed.dedupe_key) ?? null, parsed, ctx.actor, now);
      if (plan.changed) await this.commit([plan.item], plan.events);
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
    const quick = this.journal ? null : await this.reading("items", () => {
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
    return this.writing(async () => {
      const now = this.clock();
      const p = planUpsertMany(parsed, (key) => this.index.getByKey(key), ctx.actor, now);
      await this.commit(p.items, p.events);
      await this.journaled(parsed.map((input, i) => ({ kind: "upsert" as const, input, local_id: p.results[i]!.item.id })), ctx.actor, now);
      return p.results.map((r) => ({ ...r, item: copyItem(r.item) }));
    });
  }

  async get(id: string): Promise<BacklogItem | null> {
    return this.reading("items", () => {
      const it = this.index.items.get(id);
      return it ? structuredClone(it) : null;
    });
  }

  async getByDedupeKey(key: string): Promise<BacklogItem | null> {
    return this.reading("items", () => {
      const it = this.index.getByKey(key);
      return it ? structuredClone(it) : null;
    });
  }

  async list(filter?: ListFilter, now: Date = this.clock()): Promise<ListResult> {
    parseFilter(filter);
    return this.reading("items", () => structuredClone(listItems(this.index.items.values(), filter, now)));
  }

  async setStatus(id: string, status: Status, ctx: Actor & { message?: string }): Promise<BacklogItem> {
    const next = parseStatus(status); // bad input is 400 before any lookup, not 404
    return this.writing(async () => {
      const item = this.index.items.get(id);
      if (!item) throw notFound(id);
      const now = this.clock();
      const plan = planStatus(item, next, ctx.actor, ctx.message, now);
      if (plan.event) await this.commit([plan.item], [plan.event]);
      await this.journaled({ kind: "set_status", id, status: next, ...(ctx.message === undefined ? {} : { message: ctx.message }) }, ctx.actor, now);
      return structuredClone(plan.item);
    });
  }

  /** `eventId`: see PostgresBacklogStore.addComment (the auto store fixes the id before trying Postgres). */
  async addComment(id: string, message: string, ctx: Actor & { eventId?: string }): Promise<BacklogEvent> {
    planComment({ id } as BacklogItem, message, ctx.actor, this.clock()); // same checks, before any I/O
    return this.writing(async () => {
      const item = this.index.items.get(id);
      if (!item) throw notFound(id);
      const now = this.clock();
      const planned = planComment(item, message, ctx.actor, now);
      const ev = ctx.eventId ? { ...planned, id: ctx.eventId } : planned;
      await this.commit([], [ev]);
      await this.journaled({ kind: "comment", id, message, event_id: ev.id }, ctx.actor, now);
      return structuredClone(ev);
    });
  }

  async transition(id: string, t: Transition, ctx: Actor): Promise<BacklogItem> {
    const parsed = parseTransition(t); // bad input is 400 before any lookup, not 404
    return this.writing(async () => {
      const item = this.index.items.get(id);
      if (!item) throw notFound(id);
      const now = this.clock();
      const plan = planTransition(item, parsed, ctx.actor, now);
      await this.commit([plan.item], [plan.event]);
      // The guard was checked here against the copy the caller read; Postgres replays the step as asked.
      const { expect_updated_at: _e, ...step } = parsed;
      await this.journaled({ kind: "transition", id, transition: step }, ctx.actor, now);
      return structuredClone(plan.item);
    });
  }

  async events(itemId: string): Promise<BacklogEvent[]> {
    return this.reading("events", () => structuredClone(this.index.byItem.get(itemId) ?? []));
  }

  async dashboard(filter: { env?: string } = {}, now: Date = this.clock()): Promise<Dashboard> {
    return this.reading("items", () => this.index.dashboard(filter, now));
  }

  /**
   * Per env: items by status × priority and unfinished items per due date up to `horizon`, from the
   * dashboard aggregates kept per write: no walk over the items (lib/alerting/source.ts, /metrics).
   */
  async attention(horizon: string): Promise<Map<string, AttentionView>> {
    return this.reading("items", () => this.index.attention(horizon));
  }

  /** Copies of the unfinished items due on or before `horizon` (the notifier). */
  async dueBy(horizon: string): Promise<BacklogItem[]> {
    return this.reading("items", () => this.index.dueBy(horizon).map((it) => structuredClone(it)));
  }

  async cleanup(retentionDays: number, now: Date = this.clock(), options: CleanupOptions = {}): Promise<number> {
    const cutoff = cleanupCutoff(retentionDays, now);
    const expired = () => {
      const ids = new Set<string>();
      for (const it of this.index.items.values()) if (isExpired(it, cutoff)) ids.add(it.id);
      return ids;
    };
    if (options.dryRun) return this.reading("items", () => expired().size);
    return this.writing(async (eventsRead) => {
      const doomed = expired();
      await this.rewrite(doomed, "cleanup", eventsRead);
      await this.journaled({ kind: "cleanup", retention_days: retentionDays, now: now.toISOString() }, "cleanup", now);
      return doomed.size;
    }, true);
  }

  /** Drops superseded, invalid and orphaned lines by rewriting both files atomically. Counts are items.jsonl lines. */
  async compact(): Promise<{ linesBefore: number; linesAfter: number }> {
    return this.writing(async () => {
      const linesBefore = this.itemsFile.lines;
      await this.rewrite(new Set(), "compact");
      return { linesBefore, linesAfter: this.itemsFile.lines };
    });
  }

  /** Current state of every item. The objects are shared with the index: read them, do not mutate them. */
  async allItems(): Promise<BacklogItem[]> {
    return this.reading("items", () => Array.from(this.index.items.values()));
  }

  /** Every event, in file order. Shared objects, as for allItems. */
  async allEvents(): Promise<BacklogEvent[]> {
    return this.reading("events", () => this.index.events.slice());
  }

  /** Appends the given records as they are (after a shape check), under the lock. Used by the auto store. */
  async appendRaw(items: BacklogItem[], events: BacklogEvent[]): Promise<void> {
    items.forEach((it, i) => {
      if (!isItemLine(it)) throw new AppError("invalid_input", `items[${i}]: expected a backlog item with id bl_…, every field of BacklogItem and valid status/priority, got ${describeRecord(it)}.`);
    });
    events.forEach((e, i) => {
      if (!isEventLine(e)) throw new AppError("invalid_input", `events[${i}]: expected a backlog event with id, item_id, ts, a known type, actor, message and meta, got ${describeRecord(e)}.`);
    });
    if (!items.length && !events.length) return;
    await this.writing(() => this.commit(items, events));
  }

  /** Never queued behind writes (a write may wait ~10 s on a stale lock): probes answer at once. */
  async health(): Promise<StoreHealth> {
    try {
      if (!this.prepared) await mkdir(this.dir, { recursive: true });
      accessSync(this.dir, constants.R_OK | constants.W_OK);
      return { backend: this.name, degraded: false, detail: this.dir };
    } catch (err) {
      return { backend: this.name, degraded: true, serving: false, detail: describeError(err) };
    }
  }

  async close(): Promise<void> {
    await this.serial(async () => {
      await this.itemsFile.close();
      await this.eventsFile.close();
    });
  }

  /**
   * Inode and size of both files (of items.jsonl alone for `"items"`): any append or rewrite, by this or
   * any other process, changes it. One stat call per file, no read. (Writers only append or rename a new
   * file over: a same-size in-place edit by hand is not noticed.)
   */
  version(scope?: "items"): string {
    const items = `jsonl:${fileVersion(this.itemsFile.path)}`;
    return scope === "items" ? items : `${items}:${fileVersion(this.eventsFile.path)}`;
  }

  /** Bytes read and full reloads per file: how tests and benchmarks see that catch-ups stay incremental. */
  readStats(): { items: ReadStats; events: ReadStats } {
    return { items: { ...this.itemsFile.stats }, events: { ...this.eventsFile.stats } };
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.queue.then(fn, fn);
    this.queue = result.catch(() => {});
    return result;
  }

  private async prepare(): Promise<void> {
    if (this.prepared) return;
    try {
      await mkdir(this.dir, { recursive: true });
    } catch (err) {
      throw new AppError("unavailable", `Cannot create the JSONL backlog directory ${this.dir}: ${describeError(err)}. Create it or choose a writable directory.`, { cause: err });
    }
    this.prepared = true;
    // Leftovers of a rewrite that crashed: harmless, but remove them if nobody is writing right now.
    if (listTemps(this.dir).length) await this.lock.tryRun(async () => removeStaleTemps(this.dir, OWN_FILES, this.log));
  }

  private async catchUp(which: "items" | "events" | "both"): Promise<void> {
    await this.prepare();
    if (which !== "events") {
      await this.itemsFile.catchUp(this.index.itemSink);
      if (this.index.keyConflicts) {
        this.log.warn("backlog_jsonl_duplicate_keys", { file: this.itemsFile.path, count: this.index.keyConflicts, hint: "two ids share a dedupe_key; the later one answers getByDedupeKey" });
        this.index.keyConflicts = 0;
      }
    }
    if (which !== "items") await this.eventsFile.catchUp(this.index.eventSink);
  }

  private reading<T>(which: "items" | "events", fn: () => T): Promise<T> {
    return this.serial(async () => {
      await this.catchUp(which);
      return fn();
    });
  }

  /**
   * Lock, catch up with other writers, cut off torn tails, then decide and write. `unreadEvents`: a
   * write that rewrites events.jsonl from its bytes (cleanup) leaves it unread if this process has not
   * read it yet; `fn` is told whether the events are in the index.
   */
  private writing<T>(fn: (eventsRead: boolean) => Promise<T>, unreadEvents = false): Promise<T> {
    return this.serial(async () => {
      const events = !unreadEvents || this.eventsFile.isOpen;
      // A cold instance loads outside the lock, so other writers never wait for a big first load.
      await this.catchUp(events ? "both" : "items");
      return this.lock.run(async () => {
        await this.itemsFile.repairTail(await this.itemsFile.catchUp(this.index.itemSink));
        if (events) await this.eventsFile.repairTail(await this.eventsFile.catchUp(this.index.eventSink));
        return fn(events);
      });
    });
  }

  /**
   * Three appends at most, in an order that leaves no item without its `created` event and no event for a
   * change that is not there, whatever moment a crash picks (a batch is a multi-page write, which even a
   * kill -9 can cut between pages, docs/storage-jsonl.md): `created` events first — cut off before their
   * item they are orphans no read returns and the next rewrite drops, and a re-run creates the item
   * afresh; then the items; then every other event — a crash before it loses that event line only, the
   * change itself stays (as for a single write). Nothing is acknowledged before all of it is written.
   */
  private async commit(items: BacklogItem[], events: BacklogEvent[]): Promise<void> {
    const created = events.filter((e) => e.type === "created");
    const after = created.length ? events.filter((e) => e.type !== "created") : events;
    await this.appendEvents(created);
    if (items.length) {
      await this.itemsFile.append(toLines(items), items.length);
      for (const it of items) this.index.putItem(it);
    }
    await this.appendEvents(after);
  }

  private async appendEvents(events: BacklogEvent[]): Promise<void> {
    if (!events.length) return;
    await this.eventsFile.append(toLines(events), events.length);
    for (const e of events) this.index.putEvent(e);
  }

  /** Under the lock: removes `ids` (and their events) and rewrites each file that has lines to drop. */
  private rewrite(ids: ReadonlySet<string>, reason: "cleanup" | "compact", eventsRead = true): Promise<void> {
    return rewriteFiles({ dir: this.dir, items: this.itemsFile, events: this.eventsFile, index: this.index, log: this.log }, ids, reason, eventsRead);
  }
}


function fileVersion(path: string): string {
  try {
    const st = statSync(path);
    return `${st.dev}.${st.ino}.${st.size}.${st.mtimeMs}`;
  } catch {
    return "none";
  }
}

function toLines(records: readonly object[]): string {
  let out = "";
  for (const r of records) out += JSON.stringify(r) + "\n";
  return out;
}


function describeRecord(x: unknown): string {
  const text = JSON.stringify(x) ?? String(x);
  return text.length > 200 ? text.slice(0, 200) + "…" : text;
}

