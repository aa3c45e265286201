/**
 * Browser UI pages (issue 20, item 5): p50/p95 of each /ui page served by the real server (startServer,
 * loopback HTTP, a signed-in session) over 10,000 items in one env, on the memory store and on
 * Postgres, against the same run's JSON API call that reads the same data (GET /v1/backlog/...), so the
 * ratio is what rendering the page adds. Target: every page ≤ 50 ms p50.
 *
 *   npx bun run bench/ui.ts           # 10,000 items, memory and Postgres
 *   npx bun run bench/ui.ts --full    # the same, more runs
 */
import { buildAccess } from "../lib/access/config.ts";
import { silentLogger } from "../lib/core/log.ts";
import { addDays, todayUtc } from "../lib/store/dates.ts";
import { MemoryBacklogStore } from "../lib/store/memory.ts";
import { PostgresBacklogStore } from "../lib/store/postgres/store.ts";
import type { BacklogStore } from "../lib/store/types.ts";
import { trendsFor } from "../lib/trends/storage.ts";
import { startServer } from "../server.ts";
import { BENCH_NOW, upsertInput } from "./lib/data.ts";
import { benchMain, progress, type Bench, type BenchOptions } from "./lib/main.ts";
import { withBenchDb } from "./lib/postgres.ts";
import { fmtInt, type BenchResult } from "./lib/report.ts";
import { summarize } from "./lib/stats.ts";
import { sampleInterleaved } from "./lib/timing.ts";

const ITEMS = 10_000;
const KEY = "bench-ui-reader-key-0123456789";
const SECRET = "bench-ui-session-secret-0123456789abcdef";

const input = (i: number) => ({ ...upsertInput(i), env: "prod" });

async function fill(store: BacklogStore): Promise<void> {
  if (store instanceof PostgresBacklogStore) {
    for (let i = 0; i < ITEMS; i += 5000) await store.upsertMany(Array.from({ length: 5000 }, (_, k) => input(i + k)), { actor: "bench" });
  } else {
    for (let i = 0; i < ITEMS; i++) await store.upsert(input(i), { actor: "bench" });
  }
  const today = todayUtc(BENCH_NOW);
  const rows = Array.from({ length: 84 }, (_, d) => ({ env: "prod", day: addDays(today, d - 83), total: 9000 + d, open: 5000 + (d % 50), overdue: 900 - d, p0_open: 400 + (d % 7), p1_open: 800 + (d % 11), created: 40 + (d % 9), closed: 38 + (d % 13), recorded_at: BENCH_NOW.toISOString() }));
  await trendsFor(store, silentLogger).put(rows);
}

/** [page, the JSON API call reading the same data] */
function pairs(id: string, owner: string): [string, string, string][] {
  return [
    ["overview", "/ui?env=prod", "/v1/backlog/dashboard?env=prod"],
    ["items, page 1", "/ui/items?env=prod", "/v1/backlog/items?env=prod&limit=50"],
    ["items, filtered + sorted, page 3", "/ui/items?env=prod&priority=P1&priority=P2&q=gateway&sort=priority&page=3", "/v1/backlog/items?env=prod&priority=P1,P2&q=gateway&sort=priority&limit=50&offset=100"],
    ["item", `/ui/items/${id}`, `/v1/backlog/items/${id}`],
    ["owner", `/ui/owners/${owner}?env=prod`, `/v1/backlog/items?env=prod&owner=${owner}&status=open,in_progress,blocked&sort=priority&limit=50`],
    ["trends", "/ui/trends?env=prod", "/v1/backlog/dashboard?env=prod"],
  ];
}

async function signIn(url: string): Promise<string> {
  const page = await fetch(`${url}/ui/login`);
  const csrf = /name="csrf" value="([^"]+)"/.exec(await page.text())![1]!;
  const res = await fetch(`${url}/ui/login`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie: page.headers.getSetCookie()[0]!.split(";")[0]!, origin: url },
    body: new URLSearchParams({ csrf, api_key: KEY }),
  });
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith("bb_session="));
  if (!cookie) throw new Error(`sign-in failed: ${res.status}`);
  return cookie.split(";")[0]!;
}

async function measureStore(label: string, store: BacklogStore, runs: number, where: string): Promise<BenchResult[]> {
  const access = buildAccess({ agents: { reader: { key_env: "R", entitlements: ["tools.backlog.read"] } } }, { R: KEY });
  const server = await startServer({ store, access, port: 0, log: silentLogger, clock: () => BENCH_NOW, env: { BACKLOG_SESSION_SECRET: SECRET } });
  try {
    const cookie = await signIn(server.url);
    const first = (await store.list({ env: "prod", limit: 1 }, BENCH_NOW)).items[0]!;
    const get = async (path: string, headers: Record<string, string>) => {
      const r = await fetch(server.url + path, { headers });
      const body = await r.text();
      if (r.status !== 200) throw new Error(`GET ${path} answered ${r.status}: ${body.slice(0, 200)}`);
      return body.length;
    };
    const results: BenchResult[] = [];
    for (const [name, page, api] of pairs(first.id, first.owner ?? "team-a")) {
      for (let i = 0; i < 5; i++) await Promise.all([get(page, { cookie }), get(api, { authorization: `Bearer ${KEY}` })]);
      const size = await get(page, { cookie });
      const [p, a] = await sampleInterleaved(runs, () => get(page, { cookie }), () => get(api, { authorization: `Bearer ${KEY}` }));
      const sp = summarize(p);
      const sa = summarize(a);
      progress(`  ${label} ${name}: page p50 ${sp.p50.toFixed(1)} ms, p95 ${sp.p95.toFixed(1)} ms; api p50 ${sa.p50.toFixed(1)} ms`);
      results.push({
        benchmark: `ui ${name} (${label}), ${fmtInt(ITEMS)} items`,
        figure: sp.p50,
        baseline: sa.p50,
        unit: "ms",
        baselineLabel: `GET ${api.split("?")[0]} (JSON, same data)`,
        target: "≤ 50 ms p50",
        met: sp.p50 <= 50,
        detail: `GET ${page} (${fmtInt(size)} bytes of HTML) over loopback, ${runs} alternating runs after 5 warm-ups: p50 ${sp.p50.toFixed(2)} ms, p95 ${sp.p95.toFixed(2)} ms; baseline p50 ${sa.p50.toFixed(2)} ms, p95 ${sa.p95.toFixed(2)} ms; ${where}`,
      });
    }
    return results;
  } finally {
    await server.stop();
  }
}

export async function run(opts: BenchOptions): Promise<BenchResult[]> {
  const runs = opts.runs ?? (opts.full ? 100 : 30);
  const memory = new MemoryBacklogStore({ clock: () => BENCH_NOW });
  await fill(memory);
  progress(`memory: ${fmtInt(ITEMS)} items loaded`);
  const results = await measureStore("memory", memory, runs, "MemoryBacklogStore");
  return [
    ...results,
    ...(await withBenchDb(async (db) => {
      const store = new PostgresBacklogStore({ sql: db.sql, log: silentLogger, clock: () => BENCH_NOW });
      await fill(store);
      await db.sql`analyze backlog_items`;
      progress(`postgres: ${fmtInt(ITEMS)} items loaded (${db.where})`);
      return measureStore("postgres", store, runs, db.where);
    })),
  ];
}

export const bench: Bench = {
  name: "ui",
  about: "Each /ui page (overview, items, filtered items, item, owner, trends) over 10,000 items, p50/p95 over loopback with a session, against the JSON API call reading the same data; memory and Postgres.",
  run,
};

if (import.meta.main) await benchMain(bench);
