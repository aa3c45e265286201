/**
 * Cleanup and compaction of the JSONL store: under the store's lock, drop removed items (and their
 * events) and superseded or damaged lines by replacing each file whole (lib/fs/atomic-write.ts). Items
 * go first: a crash in between leaves orphan events of removed items, which the next rewrite drops.
 */
import { readFileSync } from "node:fs";
import { AppError, describeError } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import { removeStaleTemps } from "../../fs/atomic-write.ts";
import { type JsonlFile } from "../../fs/jsonl-file.ts";
import { keptEventLines } from "./event-filter.ts";
import type { JsonlIndex } from "./item-index.ts";

/** The files this store's lock guards: their rewrite temps are removed at once (lib/fs/atomic-write.ts). */
export const OWN_FILES = ["items.jsonl", "events.jsonl"] as const;

/** Rewrites write in pieces of about this many characters: no giant string for a huge file. */
const REWRITE_CHUNK = 4 << 20;

export interface RewriteParts {
  dir: string;
  items: JsonlFile;
  events: JsonlFile;
  index: JsonlIndex;
  log: Logger;
}

/**
 * Removes `ids` from the index and the files. `eventsRead` false: this process has not loaded
 * events.jsonl, so it is filtered from its bytes (event-filter.ts) instead of from the index.
 */
export async function rewriteFiles(p: RewriteParts, ids: ReadonlySet<string>, reason: "cleanup" | "compact", eventsRead: boolean): Promise<void> {
  removeStaleTemps(p.dir, OWN_FILES, p.log);
  const before = { items: p.items.lines, events: p.events.lines };
  try {
    const events = p.index.remove(ids);
    const items = p.index.items;
    if (p.items.lines !== items.size) await p.items.rewrite(chunks(items.values()), items.size);
    if (eventsRead) {
      if (p.events.lines !== events.length) await p.events.rewrite(chunks(events), events.length);
    } else {
      const kept = keptEventLines(readIfThere(p.events.path), (id) => items.has(id));
      before.events = kept.lines;
      if (kept.kept !== kept.lines || kept.torn) await p.events.rewrite(kept.chunks(), kept.kept);
      // Still unread by this process: the next read of events loads the file as it is now.
      await p.events.close();
      p.events.lines = kept.kept;
    }
  } catch (err) {
    // The index may already be ahead of the files: forget it and replay the files on the next call.
    await p.items.close();
    await p.events.close();
    throw err;
  }
  if (before.items !== p.items.lines || before.events !== p.events.lines) {
    p.log.info("backlog_jsonl_rewritten", {
      reason,
      dir: p.dir,
      removed_items: ids.size,
      items_lines_before: before.items,
      items_lines_after: p.items.lines,
      events_lines_before: before.events,
      events_lines_after: p.events.lines,
    });
  }
}

/** The file's bytes; none if it does not exist yet. */
function readIfThere(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return Buffer.alloc(0);
    throw new AppError("unavailable", `Cannot read ${path}: ${describeError(err)}.`, { cause: err });
  }
}

function* chunks(records: Iterable<object>): Generator<string> {
  let out = "";
  for (const r of records) {
    out += JSON.stringify(r) + "\n";
    if (out.length >= REWRITE_CHUNK) {
      yield out;
      out = "";
    }
  }
  if (out) yield out;
}
