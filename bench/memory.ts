/**
 * Memory (issue 9, item 5): peak RSS (VmHWM) of the real server (`bun run server.ts`,
 * BACKLOG_BACKEND=jsonl) holding N items, after warming up with dashboards, a list, an item with its
 * events and /metrics; against a bare bun process that only parses the same files and keeps the
 * objects. With --full also on a 1,000,000-line items.jsonl (the same items × 10 versions), whose load
 * sets the peak.
 *
 *   npx bun run bench/memory.ts           # 10,000 items
 *   npx bun run bench/memory.ts --full    # 100,000 items
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createdEvent, itemId, itemVersion, versionRounds, writeJsonl } from "./lib/data.ts";
import { benchMain, progress, type Bench, type BenchOptions } from "./lib/main.ts";
import { BUN, peakRssMb, rssMb, runOk } from "./lib/proc.ts";
import { fmtInt, type BenchResult } from "./lib/report.ts";
import { startAppServer } from "./lib/server.ts";

const HOLD = fileURLToPath(new URL("./lib/hold-parsed.ts", import.meta.url));
const LIMIT_MB = 300;

async function get(url: string, headers: Record<string, string>): Promise<void> {
  const res = await fetch(url, { headers });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`GET ${url} answered ${res.status}`);
}

/** Serves `dir`, warms it up, returns VmHWM after start-up and after the warm-up. */
async function serverPeak(dir: string, root: string): Promise<{ startMb: number; peakMb: number; nowMb: number }> {
  const server = await startAppServer({ BACKLOG_BACKEND: "jsonl", BACKLOG_JSONL_DIR: dir }, join(root, "reports"));
  try {
    const pid = server.child.proc.pid!;
    const startMb = peakRssMb(pid);
    for (let round = 0; round < 3; round++) {
      for (const env of ["", "?env=prod", "?env=staging", "?env=dev"]) await get(`${server.url}/v1/backlog/dashboard${env}`, server.headers);
      await get(`${server.url}/v1/backlog/items?env=prod&limit=100`, server.headers);
      await get(`${server.url}/v1/backlog/items/${itemId(round)}`, server.headers);
      await get(`${server.url}/metrics`, server.headers);
    }
    return { startMb, peakMb: peakRssMb(pid), nowMb: rssMb(pid) };
  } finally {
    await server.child.stop();
  }
}

function baselinePeak(dir: string): number {
  return (JSON.parse(runOk(BUN, [HOLD, dir]).stdout) as { peakRssMb: number }).peakRssMb;
}

export async function run(opts: BenchOptions): Promise<BenchResult[]> {
  const n = opts.full ? 100_000 : 10_000;
  const root = mkdtempSync(join(tmpdir(), "bb-bench-mem-"));
  try {
    const cases: [string, string, number][] = [["compact", "1 line per item", 1]];
    if (opts.full) cases.push(["versions", "10 versions per item, 1,000,000 lines", 10]);
    const results: BenchResult[] = [];
    for (const [name, label, versions] of cases) {
      const dir = join(root, name);
      mkdirSync(dir);
      const items = writeJsonl(join(dir, "items.jsonl"), versionRounds(n, versions));
      const events = writeJsonl(join(dir, "events.jsonl"), (function* () {
        for (let i = 0; i < n; i++) yield createdEvent(itemVersion(i, 0), i);
      })());
      progress(`${name}: ${fmtInt(items.lines)} item lines (${(items.bytes / 1e6).toFixed(0)} MB), ${fmtInt(events.lines)} events (${(events.bytes / 1e6).toFixed(0)} MB)`);
      const base = baselinePeak(dir);
      const server = await serverPeak(dir, root);
      progress(`  server VmHWM ${server.peakMb.toFixed(0)} MB (${server.startMb.toFixed(0)} MB before the warm-up), bare parse-and-hold ${base.toFixed(0)} MB`);
      results.push({
        benchmark: `server peak RSS, ${fmtInt(n)} JSONL items (${name})`,
        figure: server.peakMb,
        baseline: base,
        unit: "MB",
        baselineLabel: "bun process holding the parsed lines",
        target: `≤ ${LIMIT_MB} MB`,
        met: server.peakMb <= LIMIT_MB,
        detail: `${label}, ${fmtInt(events.lines)} events; VmHWM of \`bun run server.ts\` (BACKLOG_BACKEND=jsonl) after 3 rounds of dashboards (all envs and each), a list, an item with its events and /metrics; ${server.startMb.toFixed(0)} MB before the warm-up, ${server.nowMb.toFixed(0)} MB resident at the end (VmRSS)${opts.full ? "" : `; the ${LIMIT_MB} MB target is set for 100,000 items (--full)`}`,
      });
      rmSync(dir, { recursive: true, force: true });
    }
    return results;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

export const bench: Bench = {
  name: "memory",
  about: "Peak RSS (VmHWM) of `bun run server.ts` on BACKLOG_BACKEND=jsonl holding N items after a warm-up, against a bare bun process that parses the same files and keeps the objects.",
  run,
};

if (import.meta.main) await benchMain(bench);
