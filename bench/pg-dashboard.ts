/**
 * Dashboard on Postgres (issue 9, item 3): median and p95 of PostgresBacklogStore.dashboard({env})
 * over N items, against one hand-written aggregate query (postgres.js, same pool) computing the same
 * counts — total, per status, per priority, overdue, open work of the top services — run alternately
 * with it. The baseline's numbers are checked against the store's.
 *
 *   npx bun run bench/pg-dashboard.ts           # 10,000 and 100,000 items
 *   npx bun run bench/pg-dashboard.ts --full    # 10,000, 100,000 and 1,000,000 items (the cost growth table)
 */
import type { Sql } from "../lib/pg/db.ts";
import { silentLogger } from "../lib/core/log.ts";
import { todayUtc } from "../lib/store/dates.ts";
import { PostgresBacklogStore } from "../lib/store/postgres/store.ts";
import type { Dashboard } from "../lib/store/types.ts";
import { BENCH_NOW, itemVersion } from "./lib/data.ts";
import { benchMain, progress, type Bench, type BenchOptions } from "./lib/main.ts";
import { withBenchDb } from "./lib/postgres.ts";
import { fmtInt, type BenchResult } from "./lib/report.ts";
import { summarize } from "./lib/stats.ts";
import { sampleInterleaved, timeMs } from "./lib/timing.ts";

const ENV = "prod";
const LOAD_BATCH = 20_000;

type Counts = Pick<Dashboard, "total" | "status_counts" | "priority_counts" | "overdue_count" | "top_services">;

/**
 * The leanest statement for the dashboard's numbers: one pass with FILTER aggregates, one group by for
 * services. Written out here on purpose, not imported from the store: the baseline must stay put when
 * the store's query changes.
 */
async function baselineCounts(sql: Sql, env: string, today: string): Promise<Counts> {
  const [r] = await sql<Record<string, number | Counts["top_services"]>[]>`
    select count(*)::int as total,
      count(*) filter (where status = 'open')::int as open,
      count(*) filter (where status = 'in_progress')::int as in_progress,
      count(*) filter (where status = 'blocked')::int as blocked,
      count(*) filter (where status = 'done')::int as done,
      count(*) filter (where status = 'canceled')::int as canceled,
      count(*) filter (where priority = 'P0')::int as p0,
      count(*) filter (where priority = 'P1')::int as p1,
      count(*) filter (where priority = 'P2')::int as p2,
      count(*) filter (where priority = 'P3')::int as p3,
      count(*) filter (where status not in ('done', 'canceled') and due_date < ${today}::date)::int as overdue_count,
      (select coalesce(json_agg(json_build_object('service', service, 'count', n) order by n desc, service collate "C"), '[]'::json)
         from (select service, count(*)::int as n from backlog_items
                where env = ${env} and status in ('open', 'in_progress', 'blocked')
                group by service order by n desc, service collate "C" limit 10) t) as top_services
    from backlog_items where env = ${env}`;
  const n = (k: string) => r![k] as number;
  return {
    total: n("total"),
    status_counts: { open: n("open"), in_progress: n("in_progress"), blocked: n("blocked"), done: n("done"), canceled: n("canceled") },
    priority_counts: { P0: n("p0"), P1: n("p1"), P2: n("p2"), P3: n("p3") },
    overdue_count: n("overdue_count"),
    top_services: r!.top_services as Counts["top_services"],
  };
}

const countsOf = (d: Dashboard): Counts => ({
  total: d.total,
  status_counts: d.status_counts,
  priority_counts: d.priority_counts,
  overdue_count: d.overdue_count,
  top_services: d.top_services,
});

/** Rows in the store's shape, inserted in one statement per batch (the load is setup, not measured). */
async function loadRows(sql: Sql, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i += LOAD_BATCH) {
    const rows = Array.from({ length: Math.min(LOAD_BATCH, to - i) }, (_, k) => itemVersion(i + k, 1));
    await sql`insert into backlog_items select * from json_populate_recordset(null::backlog_items, ${JSON.stringify(rows)}::text::json)`;
  }
  await sql`analyze backlog_items`;
}

export async function run(opts: BenchOptions): Promise<BenchResult[]> {
  const sizes = opts.full ? [10_000, 100_000, 1_000_000] : [10_000, 100_000];
  const runs = Math.max(opts.runs ?? 60, 50);
  return withBenchDb(async (db) => {
    progress(`postgres: ${db.where}`);
    const store = new PostgresBacklogStore({ sql: db.sql, log: silentLogger, clock: () => BENCH_NOW });
    const today = todayUtc(BENCH_NOW);
    const results: BenchResult[] = [];
    let loaded = 0;
    for (const n of sizes) {
      const load = await timeMs(() => loadRows(db.sql, loaded, n));
      loaded = n;
      progress(`loaded ${fmtInt(n)} items (summary tables kept by the triggers) in ${load.ms.toFixed(0)} ms`);
      const fromStore = countsOf(await store.dashboard({ env: ENV }, BENCH_NOW));
      const fromBaseline = await baselineCounts(db.sql, ENV, today);
      if (JSON.stringify(fromStore) !== JSON.stringify(fromBaseline)) {
        throw new Error(`the baseline query disagrees with the store:\n store    ${JSON.stringify(fromStore)}\n baseline ${JSON.stringify(fromBaseline)}`);
      }
      for (let i = 0; i < 5; i++) {
        await store.dashboard({ env: ENV }, BENCH_NOW);
        await baselineCounts(db.sql, ENV, today);
      }
      const [dash, base] = await sampleInterleaved(
        n >= 1_000_000 ? Math.min(runs, 20) : runs,
        () => store.dashboard({ env: ENV }, BENCH_NOW),
        () => baselineCounts(db.sql, ENV, today),
      );
      const d = summarize(dash);
      const b = summarize(base);
      results.push({
        benchmark: `pg dashboard({env}), ${fmtInt(n)} items`,
        figure: d.p50,
        baseline: b.p50,
        unit: "ms",
        baselineLabel: "one hand-written aggregate query over the items",
        target: "≤ 10 ms p50",
        met: d.p50 <= 10,
        detail: `env=${ENV} (${fmtInt(fromStore.total)} of ${fmtInt(n)} items, ${fmtInt(fromStore.overdue_count)} overdue); ${dash.length} alternating runs after 5 warm-ups: store p50 ${d.p50.toFixed(2)} ms, p95 ${d.p95.toFixed(2)} ms; baseline p50 ${b.p50.toFixed(2)} ms, p95 ${b.p95.toFixed(2)} ms; the store reads the trigger-kept summary tables (migration 000010) and also returns the 50-row overdue list; ${db.where}`,
      });
    }
    return results;
  });
}

export const bench: Bench = {
  name: "pg-dashboard",
  about: "PostgresBacklogStore.dashboard({env}) at 10,000 and 100,000 items (--full: also 1,000,000), p50 and p95, against one hand-written aggregate query over the items computing the same counts (target ≤ 10 ms p50 at every size).",
  run,
};

if (import.meta.main) await benchMain(bench);
