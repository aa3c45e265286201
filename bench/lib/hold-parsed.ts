/**
 * Baseline of bench/memory.ts: a bare bun process that reads <dir>/items.jsonl (last line per id wins)
 * and <dir>/events.jsonl and keeps the parsed objects — the least any process holding them needs.
 * Prints its peak RSS (VmHWM) in MB.
 *   bun bench/lib/hold-parsed.ts <dir>
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { readAndParse } from "./floor.ts";
import { peakRssMb } from "./proc.ts";

const dir = process.argv[2];
if (!dir) {
  process.stderr.write("usage: bun bench/lib/hold-parsed.ts <dir>\n");
  process.exit(2);
}
const items = new Map<string, unknown>();
readAndParse(join(dir, "items.jsonl"), (v) => items.set((v as { id: string }).id, v));
const events: unknown[] = [];
if (existsSync(join(dir, "events.jsonl"))) readAndParse(join(dir, "events.jsonl"), (v) => events.push(v));
process.stdout.write(JSON.stringify({ items: items.size, events: events.length, peakRssMb: peakRssMb(process.pid) }) + "\n");
