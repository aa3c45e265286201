/**
 * HTTP (issue 5, item 7): requests/second of GET /v1/backlog/dashboard served by the real
 * `bun run server.ts` over N items on JSONL and on Postgres, against a bare Bun.serve returning the
 * same precomputed JSON, all in the same run. Each server is its own process; the load generator (wrk,
 * or bench/lib/loadgen.ts without it) is another, on loopback. Rounds alternate between the servers.
 *
 *   npx bun run bench/http.ts           # 10,000 items, 2 s per measurement
 *   npx bun run bench/http.ts --full    # 10,000 items, 5 s per measurement
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../lib/core/log.ts";
import { PostgresBacklogStore } from "../lib/store/postgres/store.ts";
import { createdEvent, itemVersion, upsertInput, versionRounds, writeJsonl } from "./lib/data.ts";
import { load, type LoadResult } from "./lib/loadgen.ts";
import { benchMain, progress, type Bench, type BenchOptions } from "./lib/main.ts";
import { withBenchDb } from "./lib/postgres.ts";
import { fmtInt, type BenchResult } from "./lib/report.ts";
import { startAppServer, startBareServer, type RunningServer } from "./lib/server.ts";
import { median } from "./lib/stats.ts";

const ITEMS = 10_000;
const CONNECTIONS = 32;
const PATH = "/v1/backlog/dashboard?env=prod";

function measure(server: RunningServer, seconds: number): LoadResult {
  const r = load(server.url + PATH, { connections: CONNECTIONS, seconds, headers: server.headers });
  if (r.errors) throw new Error(`${r.errors} failed requests against ${server.url}${PATH}: the figure would be meaningless`);
  return r;
}

export async function run(opts: BenchOptions): Promise<BenchResult[]> {
  const seconds = opts.full ? 5 : 2;
  const runs = opts.runs ?? 3;
  const root = mkdtempSync(join(tmpdir(), "bb-bench-http-"));
  const servers: RunningServer[] = [];
  try {
    return await withBenchDb(async (db) => {
      const dir = join(root, "backlog");
      mkdirSync(dir);
      writeJsonl(join(dir, "items.jsonl"), versionRounds(ITEMS, 1));
      writeJsonl(join(dir, "events.jsonl"), (function* () {
        for (let i = 0; i < ITEMS; i++) yield createdEvent(itemVersion(i, 0), i);
      })());
      const store = new PostgresBacklogStore({ sql: db.sql, log: silentLogger });
      for (let i = 0; i < ITEMS; i += 5000) await store.upsertMany(Array.from({ length: 5000 }, (_, k) => upsertInput(i + k)), { actor: "bench" });
      await db.sql`analyze backlog_items`;

      const jsonl = await startAppServer({ BACKLOG_BACKEND: "jsonl", BACKLOG_JSONL_DIR: dir }, join(root, "reports"));
      servers.push(jsonl);
      const pg = await startAppServer({ BACKLOG_BACKEND: "postgres", BACKLOG_POSTGRES_DSN: db.dsn }, join(root, "reports"));
      servers.push(pg);
      const res = await fetch(jsonl.url + PATH, { headers: jsonl.headers });
      const body = await res.text();
      if (!res.ok) throw new Error(`GET ${PATH} answered ${res.status}: ${body.slice(0, 300)}`);
      const bodyFile = join(root, "dashboard.json");
      writeFileSync(bodyFile, body);
      const bare = await startBareServer(bodyFile);
      servers.push(bare);
      const bareStringify = await startBareServer(bodyFile, "stringify");
      servers.push(bareStringify);
      progress(`servers up: jsonl ${jsonl.url}, postgres ${pg.url}, bare ${bare.url}; body ${fmtInt(body.length)} bytes`);

      for (const s of servers) measure(s, 1); // warm-up: JIT, connection pools, the JSONL load
      const etag = (await fetch(jsonl.url + PATH, { headers: jsonl.headers })).headers.get("etag");
      if (!etag) throw new Error(`GET ${PATH} carries no ETag: the conditional GET is not wired`);
      const notModified = { ...jsonl, headers: { ...jsonl.headers, "if-none-match": etag } };
      const rps = { jsonl: [] as number[], pg: [] as number[], bare: [] as number[], n304: [] as number[] };
      let tool = "";
      for (let r = 0; r < runs; r++) {
        const j = measure(jsonl, seconds);
        const b = measure(bare, seconds);
        const p = measure(pg, seconds);
        const n = measure(notModified, seconds);
        rps.jsonl.push(j.rps);
        rps.bare.push(b.rps);
        rps.pg.push(p.rps);
        rps.n304.push(n.rps);
        tool = j.tool;
        progress(`  round ${r + 1}/${runs}: jsonl ${fmtInt(Math.round(j.rps))}, bare ${fmtInt(Math.round(b.rps))}, postgres ${fmtInt(Math.round(p.rps))}, 304 ${fmtInt(Math.round(n.rps))} req/s`);
      }
      // What bounds the figure: serializing the answer per request, and the app's own stack without the store.
      const stringify = measure(bareStringify, seconds).rps;
      const healthz = load(jsonl.url + "/healthz", { connections: CONNECTIONS, seconds, headers: {} }).rps;
      const base = median(rps.bare);
      const pg10k = median(rps.pg);

      // Postgres at larger sizes: the same server keeps running while rows are added (its cache is
      // invalidated by the NOTIFY of each batch, then recomputed once), alternating with the bare server.
      const larger: BenchResult[] = [];
      let loaded = ITEMS;
      for (const size of opts.full ? [100_000, 1_000_000] : [100_000]) {
        for (; loaded < size; loaded += 5000) await store.upsertMany(Array.from({ length: 5000 }, (_, k) => upsertInput(loaded + k)), { actor: "bench" });
        // Settle the table before measuring: a bulk load leaves autovacuum work that would run on the same
        // 2 cores during the measurement and be counted against the item count.
        await db.sql`vacuum analyze backlog_items`;
        await db.sql`vacuum analyze backlog_events`;
        measure(pg, 1);
        const figs: number[] = [];
        const bases: number[] = [];
        for (let r = 0; r < runs; r++) {
          figs.push(measure(pg, seconds).rps);
          bases.push(measure(bare, seconds).rps);
        }
        progress(`  postgres at ${fmtInt(size)} items: ${fmtInt(Math.round(median(figs)))} req/s`);
        larger.push({
          benchmark: `http dashboard req/s, Postgres, ${fmtInt(size)} items`,
          figure: median(figs),
          baseline: pg10k,
          unit: "req/s",
          baselineLabel: `the same server at ${fmtInt(ITEMS)} items`,
          target: "≥ 1/1.2 of the 10,000-item figure",
          met: median(figs) * 1.2 >= pg10k,
          detail: `${fmtInt(size)} items; bare server in the same rounds ${fmtInt(Math.round(median(bases)))} req/s (${(median(figs) / median(bases)).toFixed(2)}× bare); the answer is kept until a NOTIFY says a write happened, so item count only costs the first request after a write`,
        });
      }

      const detail = `${fmtInt(ITEMS)} items, GET ${PATH} with a reader API key, ${fmtInt(body.length)}-byte answer; ${tool} per measurement on loopback, median of ${runs} rounds alternating with the bare server`;
      const bounds = `for scale, in the same run: a bare Bun.serve that JSON.stringify's the same object per request ${fmtInt(Math.round(stringify))} req/s (${(stringify / base).toFixed(2)}×), the real server's GET /healthz ${fmtInt(Math.round(healthz))} req/s (${(healthz / base).toFixed(2)}×)`;
      return [
        {
          benchmark: `http dashboard req/s, JSONL, ${fmtInt(ITEMS)} items`,
          figure: median(rps.jsonl),
          baseline: base,
          unit: "req/s",
          baselineLabel: "bare Bun.serve, same JSON",
          target: "≥ 0.6× baseline",
          met: median(rps.jsonl) >= 0.6 * base,
          detail: `${detail}; answers kept between writes (one stat of items.jsonl per request checks for writes); ${bounds}`,
        },
        {
          benchmark: `http dashboard req/s, Postgres, ${fmtInt(ITEMS)} items`,
          figure: pg10k,
          baseline: base,
          unit: "req/s",
          baselineLabel: "bare Bun.serve, same JSON",
          target: "≥ 0.3× baseline",
          met: pg10k >= 0.3 * base,
          detail: `${detail}; answers kept until LISTEN/NOTIFY reports a write (no query per request); ${db.where}`,
        },
        ...larger,
        {
          benchmark: "http dashboard 304 req/s (If-None-Match), JSONL",
          figure: median(rps.n304),
          baseline: base,
          unit: "req/s",
          baselineLabel: "bare Bun.serve, same JSON",
          target: "≥ 0.8× baseline",
          met: median(rps.n304) >= 0.8 * base,
          detail: `the same request with the current ETag: an empty 304 after the API-key check and one stat of items.jsonl; bench/http-stack.ts splits its cost`,
        },
      ];
    });
  } finally {
    for (const s of servers) await s.child.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

export const bench: Bench = {
  name: "http",
  about: "Requests/second of GET /v1/backlog/dashboard from `bun run server.ts` (JSONL and Postgres, 10,000 items) against a bare Bun.serve returning the same JSON, with wrk (or a fetch-loop child process) on loopback.",
  run,
};

if (import.meta.main) await benchMain(bench);
