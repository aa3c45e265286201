/**
 * The physical floor of a JSONL load: read the file and JSON.parse every line, nothing else.
 * Synchronous 1 MiB reads and indexOf over one decoded string per read were the fastest of the
 * variants tried on the bench machine (whole-file readFileSync, 256 KiB…32 MiB reads, async reads,
 * one JSON.parse of a "[…]" array per read); see bench/README.md.
 */
import { closeSync, openSync, readSync } from "node:fs";

const CHUNK = 1 << 20;

/** Calls `onValue` with every parsed line (default: drop it); returns the number of lines. */
export function readAndParse(path: string, onValue?: (v: unknown) => void): number {
  const fd = openSync(path, "r");
  let buf = Buffer.allocUnsafe(CHUNK);
  let fill = 0;
  let lines = 0;
  try {
    for (;;) {
      if (fill === buf.length) {
        const bigger = Buffer.allocUnsafe(buf.length * 2); // a line longer than the buffer
        buf.copy(bigger, 0, 0, fill);
        buf = bigger;
      }
      const n = readSync(fd, buf, fill, buf.length - fill, null);
      if (n === 0) break;
      fill += n;
      const last = buf.lastIndexOf(10, fill - 1);
      if (last < 0) continue;
      const text = buf.toString("utf8", 0, last);
      let start = 0;
      for (;;) {
        const stop = text.indexOf("\n", start);
        const end = stop < 0 ? text.length : stop;
        if (end > start) {
          const v = JSON.parse(text.slice(start, end));
          if (onValue) onValue(v);
          lines++;
        }
        if (stop < 0) break;
        start = stop + 1;
      }
      buf.copyWithin(0, last + 1, fill);
      fill -= last + 1;
    }
  } finally {
    closeSync(fd);
  }
  return lines;
}
