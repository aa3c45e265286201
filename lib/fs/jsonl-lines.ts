/**
 * The byte-level work on JSONL lines for JsonlFile: the read size, parsing a run of whole lines, an item
 * line's id read from its bytes, and reading back the last line of each id (a load from byte 0 of a
 * last-wins file, JsonlFile.loadWinners).
 */
import type { FileHandle } from "node:fs/promises";
import { AppError } from "../core/errors.ts";
import { BLANK, type LineSink, type ReadStats } from "./line-sink.ts";

/**
 * Reads of 2 MiB: a parsed batch of this much text is alive at once, so larger reads raise the peak RSS
 * (server with 100k items: 302 MB at 8 MiB, 281-287 MB at 2 MiB) for ~6% more load time
 * (bench/memory.ts, bench/jsonl-fold.ts). Lines longer than this grow the buffer.
 */
export const CHUNK = 2 << 20;
export const NL = 10;

/** Where one id's last line sits in the file. */
export interface Winner {
  start: number;
  len: number;
}

/** Winners further apart than this are read separately rather than with the bytes between them. */
const GAP = 64 << 10;
/** `{"id":"` — how the store writes every item line (JSON.stringify keeps the schema's key order). */
const ID_PREFIX = Buffer.from('{"id":"');
const QUOTE = 34;
const BACKSLASH = 92;

/** The id of a line written as `{"id":"…",…`, read from the bytes; null for any other shape. */
export function lineId(buf: Buffer, start: number, stop: number): string | null {
  const from = start + ID_PREFIX.length;
  if (stop <= from || buf.compare(ID_PREFIX, 0, ID_PREFIX.length, start, from) !== 0) return null;
  // A byte loop, not indexOf: ids are short, and indexOf would scan the rest of the buffer on a miss.
  let q = from;
  for (; q < stop; q++) {
    const c = buf[q];
    if (c === QUOTE) break;
    if (c === BACKSLASH) return null; // an escaped id: let JSON.parse read it
  }
  if (q >= stop) return null;
  return buf.toString("latin1", from, q);
}

/** `text` holds whole lines without the final newline; one value per line (see LineSink.batch). */
export function parseLines(text: string): unknown[] {
  const values: unknown[] = [];
  let start = 0;
  for (;;) {
    let stop = text.indexOf("\n", start);
    if (stop < 0) stop = text.length;
    let value: unknown = BLANK;
    if (stop > start) {
      try {
        value = JSON.parse(text.slice(start, stop));
      } catch {
        value = undefined;
      }
    }
    values.push(value);
    if (stop >= text.length) return values;
    start = stop + 1;
  }
}

/**
 * Pass 2 of JsonlFile.loadWinners: reads the winning lines (sorted by offset) in coalesced reads and
 * feeds them to `sink`; returns how many the sink rejected. `path` names the file in an error.
 */
export async function parseWinners(fh: FileHandle, path: string, list: Winner[], sink: LineSink, stats: ReadStats): Promise<number> {
  let buf = Buffer.allocUnsafe(0);
  let rejected = 0;
  for (let i = 0; i < list.length; ) {
    // One read covers consecutive winners while the gaps between them stay small.
    const from = list[i]!.start;
    let j = i + 1;
    while (j < list.length && list[j]!.start + list[j]!.len - from <= CHUNK && list[j]!.start - (list[j - 1]!.start + list[j - 1]!.len) < GAP) j++;
    const size = list[j - 1]!.start + list[j - 1]!.len - from;
    if (buf.length < size) buf = Buffer.allocUnsafe(Math.max(size, Math.min(CHUNK, 1 << 16)));
    let got = 0;
    while (got < size) {
      const { bytesRead } = await fh.read(buf, got, size - got, from + got);
      if (bytesRead === 0) throw new AppError("unavailable", `${path} shrank while it was being read; retry.`);
      got += bytesRead;
    }
    stats.winnerBytes += size;
    const values: unknown[] = [];
    for (let k = i; k < j; k++) {
      const w = list[k]!;
      try {
        values.push(JSON.parse(buf.toString("utf8", w.start - from, w.start - from + w.len)));
      } catch {
        values.push(undefined);
      }
    }
    rejected += sink.batch(values).length;
    i = j;
  }
  return rejected;
}
