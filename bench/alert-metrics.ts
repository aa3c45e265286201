/**
 * /metrics cost with the alert series (issue 19, item 1): one full snapshot — items by env × status ×
 * priority, overdue and due soon by env × priority, store health, per-job ledger statistics — against
 * what /metrics computed before (store.dashboard({env}) for each of the policy's 3 envs), run
 * alternately on the same store. Postgres and JSONL, 10,000 items (100,000 with --full). Scrapes within
 * 10 s share one snapshot, so this is the cost per replica per 10 s at most, whatever the scrapers do.
 *
 *   npx bun run bench/alert-metrics.ts [--full]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { takeSnapshot, type SnapshotDeps } from "../lib/alerting/snapshot.ts";
import { attentionSource } from "../lib/alerting/source.ts";
import { silentLogger } from "../lib/core/log.ts";
import { loadPolicy } from "../lib/generation/policy.ts";
import { JsonlRunLedger } from "../lib/scheduler/ledger-jsonl.ts";
import { PostgresRunLedger } from "../lib/scheduler/ledger-postgres.ts";
import { loadRegistry } from "../lib/scheduler/registry.ts";
import { JsonlBacklogStore } from "../lib/store/jsonl/store.ts";
import { PostgresBacklogStore } from "../lib/store/postgres/store.ts";
import type { BacklogStore } from "../lib/store/types.ts";
import { BENCH_NOW, itemVersion, upsertInput, writeJsonl } from "./lib/data.ts";
import { benchMain, progress, type Bench, type BenchOptions } from "./lib/main.ts";
import { withBenchDb } from "./lib/postgres.ts";
import { fmtInt, type BenchResult } from "./lib/report.ts";
import { summarize } from "./lib/stats.ts";
import { sampleInterleaved } from "./lib/timing.ts";

const LOAD_BATCH = 10_000;

async function measure(label: string, n: number, runs: number, store: BacklogStore, ledger: SnapshotDeps["ledger"], where: string): Promise<BenchResult> {
  const policy = loadPolicy();
  const deps: SnapshotDeps = {
    source: attentionSource(store),
    health: () => store.health(),
    ledger,
    jobs: loadRegistry().map((j) => ({ id: j.id, schedule: j.schedule, catchUpMs: j.catchUpMs })),
    envs: policy.envs,
    warnDays: policy.notify.warn_days,
  };
  const before = () => Promise.all(policy.envs.map((env) => store.dashboard({ env }, BENCH_NOW)));
  const snap = await takeSnapshot(deps, BENCH_NOW);
  const total = Object.values(snap.counts.envs).reduce((s, e) => s + Object.values(e.items).reduce((a, p) => a + Object.values(p).reduce((x, y) => x + y, 0), 0), 0);
  if (total !== n) throw new Error(`${label}: the snapshot counts ${total} items, expected ${n}`);
  for (let i = 0; i < 3; i++) await Promise.all([takeSnapshot(deps, BENCH_NOW), before()]);
  const [a, b] = await sampleInterleaved(runs, () => takeSnapshot(deps, BENCH_NOW), before);
  const s = summarize(a);
  const o = summarize(b);
  return {
    benchmark: `${label} /metrics snapshot, ${fmtInt(n)} items`,
    figure: s.p50,
    baseline: o.p50,
    unit: "ms",
    baselineLabel: "dashboard({env}) × 3 envs (the scrape before)",
    target: "≤ 1.5× the scrape it replaced, or ≤ 5 ms",
    met: s.p50 <= 1.5 * o.p50 || s.p50 <= 5,
    detail: `${runs} alternating runs after 3 warm-ups: snapshot p50 ${s.p50.toFixed(2)} ms, p95 ${s.p95.toFixed(2)} ms; baseline p50 ${o.p50.toFixed(2)} ms, p95 ${o.p95.toFixed(2)} ms; ${where}`,
  };
}

export async function run(opts: BenchOptions): Promise<BenchResult[]> {
  const n = opts.full ? 100_000 : 10_000;
  const runs = Math.max(opts.runs ?? 30, 20);
  const results: BenchResult[] = [];

  const dir = mkdtempSync(join(tmpdir(), "bb-bench-alert-"));
  try {
    const written = writeJsonl(join(dir, "items.jsonl"), (function* () {
      for (let i = 0; i < n; i++) yield itemVersion(i, 0);
    })());
    progress(`JSONL: wrote ${fmtInt(written.lines)} items`);
    const store = new JsonlBacklogStore({ dir, log: silentLogger, clock: () => BENCH_NOW });
    results.push(await measure("JSONL", n, runs, store, new JsonlRunLedger(dir), `dir ${dir}`));
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  results.push(
    await withBenchDb(async (db) => {
      const store = new PostgresBacklogStore({ sql: db.sql, log: silentLogger, clock: () => BENCH_NOW });
      for (let i = 0; i < n; i += LOAD_BATCH) {
        await store.upsertMany(Array.from({ length: Math.min(LOAD_BATCH, n - i) }, (_, k) => upsertInput(i + k)), { actor: "bench" });
      }
      await db.sql`analyze backlog_items`;
      progress(`Postgres: loaded ${fmtInt(n)} items`);
      return measure("Postgres", n, runs, store, new PostgresRunLedger(db.sql), db.where);
    }),
  );
  return results;
}

export const bench: Bench = {
  name: "alert-metrics",
  about: "/metrics snapshot with the alert series (JSONL, Postgres) against the dashboard-per-env scrape it replaced.",
  run,
};

if (import.meta.main) await benchMain(bench);
