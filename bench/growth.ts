/**
 * Cost growth of the two bulk jobs (issue 17, item 5), each on JSONL and on Postgres, against its floor
 * measured in the same run:
 * - weekly generation from a platform digest of N services (2,500 with --full; 2 categories each), the
 *   tool end to end (read + validate the digest, plan, upsert, events) on an empty store; floor: the same
 *   items and events written in ONE multi-row statement per table (Postgres) / ONE write per file (JSONL);
 * - retention cleanup of M done items (100,000 with --full) beside 10% open ones; floor: ONE DELETE
 *   (Postgres) / ONE rewrite of the kept lines, temp file + fsync + rename (JSONL).
 *
 *   npx bun run bench/growth.ts           # 500 services, 10,000 done items
 *   npx bun run bench/growth.ts --full    # 2,500 services, 100,000 done items
 */
import { closeSync, fsyncSync, mkdirSync, mkdtempSync, openSync, renameSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Sql } from "../lib/pg/db.ts";
import { loadPolicy } from "../lib/generation/policy.ts";
import { silentLogger } from "../lib/core/log.ts";
import { JsonlBacklogStore } from "../lib/store/jsonl/store.ts";
import { PostgresBacklogStore } from "../lib/store/postgres/store.ts";
import type { BacklogEvent, BacklogItem, BacklogStore } from "../lib/store/types.ts";
import { createToolContext, loadToolRegistry, dispatch, resolveToolPaths } from "../lib/tools/index.ts";
import { BENCH_NOW, createdEvent, itemVersion } from "./lib/data.ts";
import { benchMain, progress, type Bench, type BenchOptions } from "./lib/main.ts";
import { withBenchDb } from "./lib/postgres.ts";
import { fmtInt, type BenchResult } from "./lib/report.ts";
import { median } from "./lib/stats.ts";
import { timeMs } from "./lib/timing.ts";

const WEEK = "2026-W47";
const CATEGORIES = ["security", "slo_hardening", "arch_review", "refactor", "capacity"];
/** Generation runs on Monday of the digest's week (the scheduled 06:20 run). */
const GEN_NOW = new Date("2026-11-16T06:20:00.000Z");

function digest(services: number): object {
  return {
    week: WEEK,
    env: "prod",
    generated_at: "2026-11-16T06:00:00Z",
    services: Array.from({ length: services }, (_, i) => ({
      service: `svc-${i}`,
      pressure_score: 50 + (i % 50),
      band: i % 50 > 25 ? "critical" : "high",
      signals: { churn_30d: i % 300 },
      recommended_categories: [CATEGORIES[i % CATEGORIES.length]!, CATEGORIES[(i + 2) % CATEGORIES.length]!],
      reasons: [`reason ${i}`],
    })),
  };
}

/** One multi-row INSERT per table through a single JSON parameter (no 65,535-parameter limit). */
async function insertRows(sql: Sql, items: BacklogItem[], events: BacklogEvent[]): Promise<void> {
  await sql`insert into backlog_items select * from json_populate_recordset(null::backlog_items, ${JSON.stringify(items)}::text::json)`;
  if (events.length) await sql`insert into backlog_events select * from json_populate_recordset(null::backlog_events, ${JSON.stringify(events)}::text::json)`;
}

function writeOnce(path: string, records: readonly object[]): void {
  let text = "";
  for (const r of records) text += JSON.stringify(r) + "\n";
  const fd = openSync(path, "w");
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The floor of a JSONL rewrite: the kept lines to a temp file, fsync, rename over. */
function rewrite(path: string, records: readonly object[]): void {
  writeOnce(path + ".tmp", records);
  renameSync(path + ".tmp", path);
}

async function generate(store: BacklogStore, reportsDir: string, policy: ReturnType<typeof loadPolicy>): Promise<number> {
  const registry = await loadToolRegistry({ policy });
  const ctx = createToolContext({ store, paths: { ...resolveToolPaths({}), reportsDir }, agent: "scheduler", entitlements: ["tools.backlog.admin"], now: () => GEN_NOW, log: silentLogger });
  const res = await dispatch(registry, { tool: "backlog_tool", action: "auto_generate_weekly", params: { env: "prod", week: WEEK } }, ctx);
  if (res.skipped) throw new Error(`generation was skipped: ${res.reason}`);
  return res.created;
}

export async function run(opts: BenchOptions): Promise<BenchResult[]> {
  const services = opts.full ? 2_500 : 500;
  const done = opts.full ? 100_000 : 10_000;
  const runs = opts.runs ?? 3;
  const root = mkdtempSync(join(tmpdir(), "bb-bench-growth-"));
  try {
    // A policy that lets every candidate through (the shipped cap is 50 per run).
    const policyFile = join(root, "policy.yml");
    writeFileSync(policyFile, "defaults:\n  max_items_per_run: 10000\n");
    const policy = loadPolicy(policyFile, {});
    const reportsDir = join(root, "reports");
    mkdirSync(join(reportsDir, "platform"), { recursive: true });
    writeFileSync(join(reportsDir, "platform", `${WEEK}.json`), JSON.stringify(digest(services)));

    return await withBenchDb(async (db) => {
      const results: BenchResult[] = [];
      const pg = new PostgresBacklogStore({ sql: db.sql, log: silentLogger, clock: () => GEN_NOW });
      const reset = () => db.sql`truncate backlog_items cascade`;

      // ── generation ──
      const gen = { jsonl: [] as number[], jsonlFloor: [] as number[], pg: [] as number[], pgFloor: [] as number[] };
      let created = 0;
      for (let r = 0; r < runs; r++) {
        const dir = join(root, `gen-${r}`);
        const store = new JsonlBacklogStore({ dir, log: silentLogger, clock: () => GEN_NOW });
        const j = await timeMs(() => generate(store, reportsDir, policy));
        created = j.value;
        const items = await store.allItems();
        const events = await store.allEvents();
        await store.close();
        const floorDir = join(root, `gen-floor-${r}`);
        mkdirSync(floorDir);
        const jf = await timeMs(() => {
          writeOnce(join(floorDir, "items.jsonl"), items);
          writeOnce(join(floorDir, "events.jsonl"), events);
        });
        await reset();
        const p = await timeMs(() => generate(pg, reportsDir, policy));
        if (p.value !== created) throw new Error(`Postgres generated ${p.value} items, JSONL ${created}`);
        await reset();
        const pf = await timeMs(() => insertRows(db.sql, items, events));
        await reset();
        gen.jsonl.push(j.ms);
        gen.jsonlFloor.push(jf.ms);
        gen.pg.push(p.ms);
        gen.pgFloor.push(pf.ms);
        rmSync(dir, { recursive: true, force: true });
        rmSync(floorDir, { recursive: true, force: true });
        progress(`  generate run ${r + 1}/${runs}: jsonl ${j.ms.toFixed(0)} ms (floor ${jf.ms.toFixed(0)}), postgres ${p.ms.toFixed(0)} ms (floor ${pf.ms.toFixed(0)})`);
      }
      const genDetail = `a digest of ${fmtInt(services)} services × 2 categories → ${fmtInt(created)} new items with their created events, through backlog_tool.auto_generate_weekly on an empty store; median of ${runs}`;
      results.push(
        { benchmark: `generate ${fmtInt(services)} services, JSONL`, figure: median(gen.jsonl), baseline: median(gen.jsonlFloor), unit: "ms", baselineLabel: "one write + fsync per file of the same lines", target: "report only", met: null, detail: genDetail },
        { benchmark: `generate ${fmtInt(services)} services, Postgres`, figure: median(gen.pg), baseline: median(gen.pgFloor), unit: "ms", baselineLabel: "one multi-row INSERT per table of the same rows", target: "report only", met: null, detail: `${genDetail}; ${db.where}` },
      );

      // ── cleanup ──
      const kept = Math.round(done / 10);
      const rows: BacklogItem[] = [];
      const evs: BacklogEvent[] = [];
      for (let i = 0; i < done + kept; i++) {
        const base = itemVersion(i, 0);
        const it: BacklogItem = i < done ? { ...base, status: "done", updated_at: "2025-01-01T00:00:00.000Z" } : { ...base, status: "open" };
        rows.push(it);
        evs.push(createdEvent(it, i));
      }
      const keptRows = rows.slice(done);
      const keptEvents = evs.slice(done);
      const cl = { jsonl: [] as number[], jsonlWarm: [] as number[], jsonlFloor: [] as number[], pg: [] as number[], pgFloor: [] as number[] };
      /** JSONL cleanup on a fresh copy; `events`: events.jsonl read before timing too (else only items.jsonl is). */
      const jsonlCleanup = async (dir: string, events: boolean) => {
        mkdirSync(dir);
        writeOnce(join(dir, "items.jsonl"), rows);
        writeOnce(join(dir, "events.jsonl"), evs);
        const store = new JsonlBacklogStore({ dir, log: silentLogger, clock: () => BENCH_NOW });
        await store.dashboard(); // loaded and warm, as in a running server or after a job's first read
        if (events) await store.allEvents();
        const j = await timeMs(() => store.cleanup(180, BENCH_NOW));
        if (j.value !== done) throw new Error(`JSONL cleanup removed ${j.value}, expected ${done}`);
        await store.close();
        return j.ms;
      };
      for (let r = 0; r < runs; r++) {
        const dir = join(root, `clean-${r}`);
        const j = { ms: await jsonlCleanup(dir, false) };
        cl.jsonlWarm.push(await jsonlCleanup(join(root, `clean-warm-${r}`), true));
        rmSync(join(root, `clean-warm-${r}`), { recursive: true, force: true });
        const jf = await timeMs(() => {
          rewrite(join(dir, "items.jsonl"), keptRows);
          rewrite(join(dir, "events.jsonl"), keptEvents);
        });
        rmSync(dir, { recursive: true, force: true });

        await insertRows(db.sql, rows, evs);
        const p = await timeMs(() => pg.cleanup(180, BENCH_NOW));
        if (p.value !== done) throw new Error(`Postgres cleanup removed ${p.value}, expected ${done}`);
        await reset();
        await insertRows(db.sql, rows, evs);
        const cutoff = new Date(BENCH_NOW.getTime() - 180 * 86_400_000).toISOString();
        const pf = await timeMs(() => db.sql`delete from backlog_items where status in ('done', 'canceled') and updated_at < ${cutoff}::timestamptz`);
        await reset();
        cl.jsonl.push(j.ms);
        cl.jsonlFloor.push(jf.ms);
        cl.pg.push(p.ms);
        cl.pgFloor.push(pf.ms);
        progress(`  cleanup run ${r + 1}/${runs}: jsonl ${j.ms.toFixed(0)} ms (events loaded before: ${cl.jsonlWarm.at(-1)!.toFixed(0)} ms; floor ${jf.ms.toFixed(0)}), postgres ${p.ms.toFixed(0)} ms (floor ${pf.ms.toFixed(0)})`);
      }
      const clDetail = `${fmtInt(done)} done items older than the retention (with one event each) removed, ${fmtInt(kept)} open ones kept; the JSONL store loaded and warm before timing; median of ${runs}`;
      results.push(
        { benchmark: `cleanup ${fmtInt(done)} done items, JSONL`, figure: median(cl.jsonl), baseline: median(cl.jsonlFloor), unit: "ms", baselineLabel: "one rewrite (temp + fsync + rename) of the kept lines", target: "report only", met: null, detail: clDetail },
        {
          benchmark: `cleanup ${fmtInt(done)} done items, JSONL, events.jsonl already read`,
          figure: median(cl.jsonlWarm),
          baseline: median(cl.jsonlFloor),
          unit: "ms",
          baselineLabel: "one rewrite (temp + fsync + rename) of the kept lines",
          target: "report only",
          met: null,
          detail: `the row above without reading events.jsonl inside the cleanup (a store that had served events before): what the rewrite itself costs over its floor; median of ${runs}`,
        },
        { benchmark: `cleanup ${fmtInt(done)} done items, Postgres`, figure: median(cl.pg), baseline: median(cl.pgFloor), unit: "ms", baselineLabel: "one DELETE (events by cascade)", target: "report only", met: null, detail: `${clDetail}; ${db.where}` },
      );
      return results;
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

export const bench: Bench = {
  name: "growth",
  about: "Weekly generation from a digest of 500 (--full: 2,500) services and cleanup of 10,000 (--full: 100,000) done items, on JSONL and Postgres, each against its floor: one multi-row statement per table or one DELETE (Postgres), one write or one rewrite per file (JSONL).",
  run,
};

if (import.meta.main) await benchMain(bench);
