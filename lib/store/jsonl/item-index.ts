/**
 * What one process knows about the JSONL files: current item per id (last line wins), dedupe_key → id,
 * and events in file order plus per item. Fed line by line by JsonlFile; never mutated in place, so
 * stored objects can be shared with callers that only read them.
 */
import { DashboardIndex, type AttentionView } from "./dashboard-index.ts";
import { BLANK, type LineSink } from "../../fs/line-sink.ts";
import { isEventLine, isItemLine } from "./shape.ts";
import type { BacklogEvent, BacklogItem, Dashboard } from "../types.ts";

export class JsonlIndex {
  items = new Map<string, BacklogItem>();
  /** dedupe_key → id; after a full load it is built on first use (dashboards and lists never need it). */
  private keys = new Map<string, string>();
  private keysStale = false;
  events: BacklogEvent[] = [];
  byItem = new Map<string, BacklogEvent[]>();
  /** Dashboard aggregates, built on the first dashboard() after a full load, then kept up to date by putItem/remove. */
  private dash: DashboardIndex | null = null;
  /** Lines that gave an existing dedupe_key to a second id (only hand edits or foreign writers do that). */
  keyConflicts = 0;

  /** Set while replaying a file from byte 0: byKey / byItem are then built once at the end. */
  private loadingItems = false;
  private loadingEvents = false;

  readonly itemSink: LineSink = {
    lastWinsById: true,
    reset: () => {
      this.items = new Map();
      this.keys = new Map();
      this.keysStale = false;
      this.dash = null;
      this.keyConflicts = 0;
      this.loadingItems = true;
    },
    batch: (values) => {
      if (!this.loadingItems) return applyBatch(values, isItemLine, (it) => this.putItem(it));
      this.dash = null; // bulk loads bypass putItem: aggregates are rebuilt on the next dashboard()
      return applyBatch(values, isItemLine, (it) => this.items.set(it.id, it));
    },
    end: () => {
      if (!this.loadingItems) return;
      this.loadingItems = false;
      this.keysStale = true;
    },
  };

  readonly eventSink: LineSink = {
    reset: () => {
      this.events = [];
      this.byItem = new Map();
      this.loadingEvents = true;
    },
    batch: (values) => applyBatch(values, isEventLine, this.loadingEvents ? (e) => this.events.push(e) : (e) => this.putEvent(e)),
    end: () => {
      if (!this.loadingEvents) return;
      this.loadingEvents = false;
      for (const e of this.events) this.indexEvent(e);
    },
  };

  putItem(it: BacklogItem): void {
    if (this.dash) {
      const old = this.items.get(it.id);
      if (old) this.dash.remove(old);
      this.dash.add(it);
    }
    this.items.set(it.id, it);
    if (!this.keysStale) this.indexKey(it);
  }

  /** Counts and attention items per env from the same aggregates (lib/alerting/source.ts). */
  attention(horizon: string): Map<string, AttentionView> {
    this.dash ??= new DashboardIndex(this.items.values());
    return this.dash.attention(horizon);
  }

  dueBy(horizon: string): BacklogItem[] {
    this.dash ??= new DashboardIndex(this.items.values());
    return this.dash.dueBy(horizon);
  }

  /** computeDashboard over the current items, from aggregates kept up to date (see dashboard-index.ts). */
  dashboard(filter: { env?: string }, now: Date): Dashboard {
    this.dash ??= new DashboardIndex(this.items.values());
    return this.dash.dashboard(filter, now);
  }

  /** dedupe_key → id, (re)built from the items if a full load deferred it. */
  get byKey(): ReadonlyMap<string, string> {
    if (this.keysStale) {
      this.keysStale = false;
      for (const it of this.items.values()) this.indexKey(it);
    }
    return this.keys;
  }

  putEvent(e: BacklogEvent): void {
    this.events.push(e);
    this.indexEvent(e);
  }

  private indexKey(it: BacklogItem): void {
    const prevId = this.keys.get(it.dedupe_key);
    if (prevId !== undefined && prevId !== it.id) this.keyConflicts++;
    this.keys.set(it.dedupe_key, it.id);
  }

  private indexEvent(e: BacklogEvent): void {
    const list = this.byItem.get(e.item_id);
    if (list) list.push(e);
    else this.byItem.set(e.item_id, [e]);
  }

  getByKey(key: string): BacklogItem | undefined {
    const id = this.byKey.get(key);
    return id === undefined ? undefined : this.items.get(id);
  }

  /** Drops items and their events; returns the events still belonging to a known item, in file order. */
  remove(ids: ReadonlySet<string>): BacklogEvent[] {
    for (const id of ids) {
      const it = this.items.get(id);
      if (!it) continue;
      this.items.delete(id);
      this.dash?.remove(it);
      if (this.byKey.get(it.dedupe_key) === id) this.keys.delete(it.dedupe_key);
    }
    const kept = this.events.filter((e) => this.items.has(e.item_id));
    if (kept.length !== this.events.length) {
      for (const e of this.events) if (!this.items.has(e.item_id)) this.byItem.delete(e.item_id);
      this.events = kept;
    }
    return kept;
  }
}

/** Feeds the valid records of a batch to `put`; returns the positions of invalid ones. */
function applyBatch<T>(values: unknown[], valid: (v: unknown) => v is T, put: (v: T) => unknown): number[] {
  const rejected: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === BLANK) continue;
    if (valid(v)) put(v);
    else rejected.push(i);
  }
  return rejected;
}
