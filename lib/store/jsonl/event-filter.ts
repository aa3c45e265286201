/**
 * Cleanup without loading events.jsonl into the index (a process that never read events: the server
 * after dashboards only, or the cleanup job). Which lines stay is decided from each line's bytes: a line
 * the store wrote starts `{"id":"…","item_id":"…"`, so the events of removed items are dropped without
 * JSON.parse. Lines of kept items are parsed and shape-checked, so damaged, blank, torn and orphaned lines
 * go exactly as in a rewrite from the loaded index (bench/README.md: the event read was two thirds of a
 * cleanup that removed 10,000 of 11,000 items).
 */
import { isEventLine } from "./shape.ts";

const NL = 10;
const QUOTE = 34;
const BACKSLASH = 92;
const ID_PREFIX = Buffer.from('{"id":"');
const ITEM_ID = Buffer.from('","item_id":"');
/** Kept lines are handed to the rewrite in strings of about this many bytes. */
const CHUNK = 4 << 20;

export interface KeptEvents {
  /** Complete lines in the file (a torn last line not counted). */
  lines: number;
  kept: number;
  /** The file had bytes after its last newline (a torn line): a rewrite drops them. */
  torn: boolean;
  /** The kept lines, in file order, each with its newline. */
  chunks(): Generator<string>;
}

/** The kept lines of `raw` (events.jsonl as read): valid events whose item_id `keepItem` accepts. */
export function keptEventLines(raw: Buffer, keepItem: (id: string) => boolean): KeptEvents {
  const starts: number[] = [];
  const ends: number[] = [];
  let lines = 0;
  let s = 0;
  for (let nl = raw.indexOf(NL, 0); nl >= 0; nl = raw.indexOf(NL, s)) {
    lines++;
    if (nl > s && keepLine(raw, s, nl, keepItem)) {
      starts.push(s);
      ends.push(nl + 1);
    }
    s = nl + 1;
  }
  return {
    lines,
    kept: starts.length,
    torn: s < raw.length,
    *chunks() {
      let from = -1;
      let to = -1;
      for (let i = 0; i < starts.length; i++) {
        // Consecutive kept lines are one slice of the file.
        if (from >= 0 && (starts[i] !== to || to - from >= CHUNK)) {
          yield raw.toString("utf8", from, to);
          from = -1;
        }
        if (from < 0) from = starts[i]!;
        to = ends[i]!;
      }
      if (from >= 0) yield raw.toString("utf8", from, to);
    },
  };
}

function keepLine(raw: Buffer, start: number, stop: number, keepItem: (id: string) => boolean): boolean {
  const id = itemIdOf(raw, start, stop);
  if (id !== null && !keepItem(id)) return false;
  let value: unknown;
  try {
    value = JSON.parse(raw.toString("utf8", start, stop));
  } catch {
    return false;
  }
  return isEventLine(value) && keepItem(value.item_id);
}

/** The item_id of a line written as `{"id":"…","item_id":"…",…`, read from the bytes; null for any other shape. */
function itemIdOf(buf: Buffer, start: number, stop: number): string | null {
  let q = start + ID_PREFIX.length;
  if (stop <= q || buf.compare(ID_PREFIX, 0, ID_PREFIX.length, start, q) !== 0) return null;
  for (; q < stop && buf[q] !== QUOTE; q++) if (buf[q] === BACKSLASH) return null;
  const from = q + ITEM_ID.length;
  if (from >= stop || buf.compare(ITEM_ID, 0, ITEM_ID.length, q, from) !== 0) return null;
  let e = from;
  for (; e < stop && buf[e] !== QUOTE; e++) if (buf[e] === BACKSLASH) return null;
  return e < stop ? buf.toString("utf8", from, e) : null;
}
