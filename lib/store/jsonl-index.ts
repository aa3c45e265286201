/**
 * What one process knows about the JSONL files: current item per id (last line wins), dedupe_key → id,
 * and events in file order plus per item. Fed line by line by JsonlFile; never mutated in place, so
 * stored objects can be shared with callers that only read them.
 */
import type { LineSink } from "./jsonl-file.ts";
import { isEventLine, isItemLine } from "./jsonl-shape.ts";
import type { BacklogEvent, BacklogItem } from "./types.ts";

export class JsonlIndex {
  items = new Map<string, BacklogItem>();
  byKey = new Map<string, string>();
  events: BacklogEvent[] = [];
  byItem = new Map<string, BacklogEvent[]>();
  /** Lines that gave an existing dedupe_key to a second id (only hand edits or foreign writers do that). */
  keyConflicts = 0;

  readonly itemSink: LineSink = {
    reset: () => {
      this.items = new Map();
      this.byKey = new Map();
      this.keyConflicts = 0;
    },
    line: (v) => {
      if (!isItemLine(v)) return false;
      this.putItem(v);
      return true;
    },
  };

  readonly eventSink: LineSink = {
    reset: () => {
      this.events = [];
      this.byItem = new Map();
    },
    line: (v) => {
      if (!isEventLine(v)) return false;
      this.putEvent(v);
      return true;
    },
  };

  putItem(it: BacklogItem): void {
    const prevId = this.byKey.get(it.dedupe_key);
    if (prevId !== undefined && prevId !== it.id) this.keyConflicts++;
    this.items.set(it.id, it);
    this.byKey.set(it.dedupe_key, it.id);
  }

  putEvent(e: BacklogEvent): void {
    this.events.push(e);
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
      if (this.byKey.get(it.dedupe_key) === id) this.byKey.delete(it.dedupe_key);
    }
    const kept = this.events.filter((e) => this.items.has(e.item_id));
    if (kept.length !== this.events.length) {
      for (const e of this.events) if (!this.items.has(e.item_id)) this.byItem.delete(e.item_id);
      this.events = kept;
    }
    return kept;
  }
}
