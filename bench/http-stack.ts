/**
 * What a 304 costs inside the app (issue 17 item 1, the 304 row of bench/http.ts): CPU time per
 * `If-None-Match` request through the real createApp on a JSONL store, in process (app.fetch, no
 * socket), with one part of the per-request stack taken out at a time — the API-key check, the
 * store-version stat, the request metrics — against a Hono app whose only route answers the same 304.
 * Figures are requests per CPU-second (1 / CPU time per request), median of the runs, all in one process.
 *
 *   npx bun run bench/http-stack.ts
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { Hono } from "hono";
import { buildAccess } from "../lib/access/config.ts";
import { createApp } from "../lib/http/app.ts";
import { createMetrics, type Metrics } from "../lib/http/metrics.ts";
import { silentLogger } from "../lib/core/log.ts";
import { evaluateAlerts, loadPolicy } from "../lib/generation/policy.ts";
import { servingBackend } from "../lib/store/index.ts";
import { JsonlBacklogStore } from "../lib/store/jsonl/store.ts";
import { createToolContext, loadToolRegistry, resolveToolPaths } from "../lib/tools/index.ts";
import { createdEvent, itemVersion, versionRounds, writeJsonl } from "./lib/data.ts";
import { benchMain, progress, type Bench, type BenchOptions } from "./lib/main.ts";
import { fmtInt, type BenchResult } from "./lib/report.ts";
import { median } from "./lib/stats.ts";

const ITEMS = 10_000;
const REQUESTS = 20_000;
const URL_ = "http://127.0.0.1/v1/backlog/dashboard?env=prod";
const KEY = "bench-reader-key-".padEnd(48, "x");

type Fetch = (req: Request) => Response | Promise<Response>;

/** Requests per CPU-second of `REQUESTS` conditional GETs with the ETag of the first answer. */
async function cpuRate(fetch: Fetch, headers: Record<string, string>): Promise<number> {
  const etag = (await fetch(new Request(URL_, { headers }))).headers.get("etag");
  const h = etag ? { ...headers, "if-none-match": etag } : headers;
  for (let i = 0; i < 2_000; i++) await fetch(new Request(URL_, { headers: h })); // JIT warm-up
  const before = process.cpuUsage();
  let statuses = 0;
  for (let i = 0; i < REQUESTS; i++) statuses += (await fetch(new Request(URL_, { headers: h }))).status;
  const cpu = process.cpuUsage(before);
  if (statuses !== 304 * REQUESTS) throw new Error(`not every answer was a 304 (mean status ${statuses / REQUESTS})`);
  return REQUESTS / ((cpu.user + cpu.system) / 1e6);
}

export async function run(opts: BenchOptions): Promise<BenchResult[]> {
  const runs = opts.runs ?? 3;
  const root = mkdtempSync(join(tmpdir(), "bb-bench-http-stack-"));
  const dir = join(root, "backlog");
  mkdirSync(dir);
  writeJsonl(join(dir, "items.jsonl"), versionRounds(ITEMS, 1));
  writeJsonl(join(dir, "events.jsonl"), (function* () {
    for (let i = 0; i < ITEMS; i++) yield createdEvent(itemVersion(i, 0), i);
  })());
  const store = new JsonlBacklogStore({ dir, log: silentLogger });
  try {
    const policy = loadPolicy();
    const registry = await loadToolRegistry({ policy });
    // Three agents, as config/access.yml ships: the key check compares against each.
    const access = buildAccess(
      {
        agents: {
          scheduler: { key_env: "S", entitlements: ["tools.backlog.admin"] },
          writer: { key_env: "W", entitlements: ["tools.backlog.write"] },
          reader: { key_env: "R", entitlements: ["tools.backlog.read"] },
        },
        anonymous: { entitlements: ["tools.backlog.read"] },
      },
      { S: "s".repeat(48), W: "w".repeat(48), R: KEY },
    );
    const idle = { labels: () => ({ inc() {}, observe() {} }) } as unknown as Metrics["requests"] & Metrics["latency"];
    const app = (o: { metrics?: boolean; stat?: boolean } = {}): Fetch => {
      const real = createMetrics(async () => {
        throw new Error("no scrape in this bench");
      });
      return createApp({
        registry,
        access,
        toolContext: (id) => createToolContext({ store, paths: resolveToolPaths({}), agent: id.agent, entitlements: id.entitlements, log: silentLogger }),
        health: () => store.health(),
        backend: () => servingBackend(store),
        version: o.stat === false ? () => "constant" : (scope) => store.version(scope),
        alerts: (d) => evaluateAlerts(d, policy),
        metrics: o.metrics === false ? { ...real, requests: idle, latency: idle } : real,
        log: silentLogger,
        clock: () => new Date(),
      }).fetch;
    };
    const bare = new Hono();
    bare.get("/v1/backlog/dashboard", (c) => c.body(null, 304, { ETag: '"x"' }));
    const key = { authorization: `Bearer ${KEY}` };
    const variants = [
      { name: "full stack (API key, version stat, metrics)", fetch: app(), headers: key },
      { name: "without the API-key check (anonymous read)", fetch: app(), headers: {} },
      { name: "without the store-version stat", fetch: app({ stat: false }), headers: key },
      { name: "without request metrics", fetch: app({ metrics: false }), headers: key },
    ];
    const rates = variants.map(() => [] as number[]);
    const bareRates: number[] = [];
    for (let r = 0; r < runs; r++) {
      for (let i = 0; i < variants.length; i++) rates[i]!.push(await cpuRate(variants[i]!.fetch, variants[i]!.headers));
      bareRates.push(await cpuRate((req) => bare.fetch(req), {}));
      progress(`  run ${r + 1}/${runs}: ${variants.map((v, i) => `${v.name.split(" (")[0]} ${(1e6 / rates[i]!.at(-1)!).toFixed(1)} µs`).join(", ")}, bare Hono ${(1e6 / bareRates.at(-1)!).toFixed(1)} µs`);
    }
    const base = median(bareRates);
    const full = median(rates[0]!);
    return variants.map((v, i) => {
      const rate = median(rates[i]!);
      const saved = 1e6 / full - 1e6 / rate;
      return {
        benchmark: `304 in process: ${v.name}`,
        figure: rate,
        baseline: base,
        unit: "req/s" as const,
        baselineLabel: "a Hono app whose one route answers 304",
        target: "report only",
        met: null,
        detail:
          `${(1e6 / rate).toFixed(1)} µs CPU per request` +
          (i === 0 ? ` (bare Hono ${(1e6 / base).toFixed(1)} µs)` : `, ${saved.toFixed(1)} µs less than the full stack`) +
          `; GET /v1/backlog/dashboard?env=prod with If-None-Match on JSONL, ${fmtInt(ITEMS)} items, ${fmtInt(REQUESTS)} requests through app.fetch (no socket) per run, median of ${runs}; req/s here = per CPU-second`,
      };
    });
  } finally {
    await store.close();
    rmSync(root, { recursive: true, force: true });
  }
}

export const bench: Bench = {
  name: "http-stack",
  about: "CPU per 304 (If-None-Match) request inside the app, with the API-key check, the store-version stat or the request metrics taken out one at a time, against a Hono app that only answers 304. In process, no socket: what bounds the 304 row of bench/http.ts.",
  run,
};

if (import.meta.main) await benchMain(bench);
