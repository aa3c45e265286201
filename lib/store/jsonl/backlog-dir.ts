/**
 * The files and the in-memory index behind one JsonlBacklogStore: the order of reads and writes in this
 * process (one queue), the cross-process directory lock, catching up with other processes' appends and
 * the crash-ordered commit of a write. The store (store.ts) decides what to write; this module decides
 * how it reaches the disk. Kept apart so each file stays one concern (house rule: files past ~300 lines split).
 */
import { accessSync, constants, statSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { AppError, describeError } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import { DirLock } from "../../fs/file-lock.ts";
import { JsonlFile } from "../../fs/jsonl-file.ts";
import { listTemps, removeStaleTemps } from "../../fs/atomic-write.ts";
import { type ReadStats } from "../../fs/line-sink.ts";
import { JsonlIndex } from "./item-index.ts";
import { OWN_FILES, rewriteFiles } from "./rewrite.ts";
import type { BacklogEvent, BacklogItem } from "../types.ts";

export class BacklogDir {
  readonly index = new JsonlIndex();
  readonly itemsFile: JsonlFile;
  readonly eventsFile: JsonlFile;
  readonly lock: DirLock;
  /** Serialises this instance's catch-ups and writes so a line is never applied twice. */
  private queue: Promise<unknown> = Promise.resolve();
  private prepared = false;

  /** `dir` is already resolved to an absolute path. */
  constructor(readonly dir: string, private readonly log: Logger, lockStaleMs: number) {
    this.lock = new DirLock(dir, { staleMs: lockStaleMs, log });
    this.itemsFile = new JsonlFile(join(dir, "items.jsonl"), log);
    this.eventsFile = new JsonlFile(join(dir, "events.jsonl"), log);
  }

  /** Runs `fn` after everything this instance queued before it, whatever that ended with. */
  serial<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.queue.then(fn, fn);
    this.queue = result.catch(() => {});
    return result;
  }

  /** Catches up with `which` file(s), then runs `fn` on the index: no lock. */
  reading<T>(which: "items" | "events", fn: () => T): Promise<T> {
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
  writing<T>(fn: (eventsRead: boolean) => Promise<T>, unreadEvents = false): Promise<T> {
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
  async commit(items: BacklogItem[], events: BacklogEvent[]): Promise<void> {
    const created = events.filter((e) => e.type === "created");
    const after = created.length ? events.filter((e) => e.type !== "created") : events;
    await this.appendEvents(created);
    if (items.length) {
      await this.itemsFile.append(toLines(items), items.length);
      for (const it of items) this.index.putItem(it);
    }
    await this.appendEvents(after);
  }

  /** Under the lock: removes `ids` (and their events) and rewrites each file that has lines to drop. */
  rewrite(ids: ReadonlySet<string>, reason: "cleanup" | "compact", eventsRead = true): Promise<void> {
    return rewriteFiles({ dir: this.dir, items: this.itemsFile, events: this.eventsFile, index: this.index, log: this.log }, ids, reason, eventsRead);
  }

  /** Whether the directory exists (created once) and is readable and writable; throws if not. */
  async checkAccess(): Promise<void> {
    if (!this.prepared) await mkdir(this.dir, { recursive: true });
    accessSync(this.dir, constants.R_OK | constants.W_OK);
  }

  close(): Promise<void> {
    return this.serial(async () => {
      await this.itemsFile.close();
      await this.eventsFile.close();
    });
  }

  /** See JsonlBacklogStore.version: one stat call per file, no read. */
  version(scope?: "items"): string {
    const items = `jsonl:${fileVersion(this.itemsFile.path)}`;
    return scope === "items" ? items : `${items}:${fileVersion(this.eventsFile.path)}`;
  }

  readStats(): { items: ReadStats; events: ReadStats } {
    return { items: { ...this.itemsFile.stats }, events: { ...this.eventsFile.stats } };
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

  private async appendEvents(events: BacklogEvent[]): Promise<void> {
    if (!events.length) return;
    await this.eventsFile.append(toLines(events), events.length);
    for (const e of events) this.index.putEvent(e);
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
