/**
 * Property-based, seeded: the same random bodies and queries go to the HTTP API over a real Postgres
 * store and over a JSONL store. Whatever arrives, neither answers 5xx, both give the same status, every
 * error is a JSON body, and a rejected request changes no stored data (checked on JSONL, where a
 * snapshot is cheap; Postgres answers the same status, so it rejected the same requests).
 * 12,500 requests in all (6,250 per backend).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { auth } from "./harness.ts";
import { openBackends, type Backend } from "./backends.ts";

const SEED = 15_2026;
let pg: Backend;
let jsonl: Backend;
let sent = 0;
const statuses = new Map<number, number>();
beforeAll(async () => {
  [pg, jsonl] = await openBackends();
});
afterAll(async () => {
  console.log(`fuzz: ${sent} requests (both backends), 5xx: ${statuses.get(5) ?? 0}, statuses: ${JSON.stringify(Object.fromEntries([...statuses].map(([k, v]) => [`${k}xx`, v])))}`);
  await pg?.dispose();
  await jsonl?.dispose();
});

async function snapshot(store: Backend["store"]): Promise<string> {
  const { items } = await store.list({ limit: 1000 });
  const events = await Promise.all(items.map((i) => store.events(i.id)));
  return JSON.stringify([items, events]);
}

/** Text that Postgres refuses and JSONL would store: the edges the boundary must catch. */
const hostile = fc.constantFrom("a\u0000b", "\ud800", "x\udc00", "\ud83d", "😀", "../../etc/passwd", "%00", "' or 1=1 --", "<script>", "2026-02-30", "0000-01-01", "9".repeat(30));
const text = fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: "binary", maxLength: 8 }), hostile);
const number = fc.oneof(fc.integer(), fc.constantFrom(1e19, -1, 2 ** 31, 2 ** 53, 1e300, 0.5, -0), fc.double());
const deep = fc.integer({ min: 1, max: 60 }).map((n) => JSON.parse("[".repeat(n) + "]".repeat(n)) as unknown);
const value: fc.Arbitrary<unknown> = fc.oneof(text, number, fc.boolean(), fc.constant(null), deep, fc.jsonValue({ maxDepth: 3 }), fc.dictionary(text, text, { maxKeys: 3 }));

const actions = ["list", "get", "upsert", "set_status", "add_comment", "dashboard", "auto_generate_weekly", "auto_generate_daily", "cleanup", "nope"];
const tools = ["backlog_tool", "risk_history_tool", "architecture_pressure_tool", "nope", ""];
const paramNames = ["env", "id", "status", "priority", "limit", "offset", "dry_run", "retention_days", "message", "week", "date", "dedupe_key", "service", "category", "title", "meta", "tags", "due_date", "owner", "overdue"];

/** Upserts that are nearly valid, with one field swapped for junk: the ones that reach the store. */
const nearUpsert = fc.record({
  field: fc.constantFrom("service", "title", "meta", "tags", "due_date", "owner", "dedupe_key", "description", "priority", "status", "none"),
  junk: value,
  key: fc.constantFrom("k1", "k2", "k3"),
  dry: fc.boolean(),
}).map(({ field, junk, key, dry }) => {
  const params: Record<string, unknown> = { env: "prod", service: "gateway", category: "security", title: "Rotate keys", priority: "P1", dedupe_key: key, dry_run: dry };
  if (field !== "none") params[field] = field === "meta" ? { note: junk } : junk;
  return JSON.stringify({ tool: "backlog_tool", action: "upsert", params });
});

const nearMiss = fc.record(
  {
    tool: fc.oneof(fc.constantFrom(...tools), text),
    action: fc.oneof(fc.constantFrom(...actions), text),
    params: fc.oneof(fc.dictionary(fc.constantFrom(...paramNames), value, { maxKeys: 4 }), value),
    env: fc.oneof(fc.constantFrom("prod", "dev", "../../etc", "PROD", ""), text),
    job: fc.constantFrom("backlog_cleanup", "nope", "x"),
    scheduled_at: fc.constantFrom("2026-11-23T06:20:00.000Z", "0000-01-01T00:00Z", "2026-13-01T03:40Z", "2026-11-23T25:61Z", "9999-12-31T23:59Z"),
  },
  { requiredKeys: [] },
);

const body = fc.oneof(
  { weight: 4, arbitrary: nearMiss.map((b) => JSON.stringify(b)) },
  { weight: 3, arbitrary: nearUpsert },
  { weight: 1, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: fc.string() },
  { weight: 1, arbitrary: fc.integer({ min: 30, max: 50_000 }).map((n) => `{"tool":"backlog_tool","action":"upsert","params":{"meta":${"{\"a\":".repeat(n)}1${"}".repeat(n)}}}`) },
);

const who = fc.constantFrom("admin", "writer", "reader", "none", "bad") as fc.Arbitrary<"admin" | "writer" | "reader" | "none" | "bad">;

async function send(b: Backend, path: string, init: RequestInit) {
  const res = await b.app.request(path, init);
  sent++;
  const klass = Math.floor(res.status / 100);
  statuses.set(klass, (statuses.get(klass) ?? 0) + 1);
  const raw = await res.text();
  if (res.headers.get("content-type")?.includes("application/json")) JSON.parse(raw);
  if (res.status >= 400) expect(typeof JSON.parse(raw).error).toBe("string");
  return { status: res.status, raw };
}

async function both(path: string, init: RequestInit) {
  const a = await send(pg, path, init);
  const b = await send(jsonl, path, init);
  const answer = { path, body: typeof init.body === "string" ? init.body.slice(0, 300) : undefined };
  expect({ ...answer, pg: a.status < 500, jsonl: b.status < 500 }).toEqual({ ...answer, pg: true, jsonl: true });
  expect({ ...answer, status: a.status }).toEqual({ ...answer, status: b.status });
  return a.status;
}

describe("fuzz on Postgres and JSONL", () => {
  test("POST /v1/tools/execute: no 5xx, same status on both, rejected requests change nothing", async () => {
    await fc.assert(
      fc.asyncProperty(body, who, async (b, w) => {
        const before = await snapshot(jsonl.store);
        const status = await both("/v1/tools/execute", { method: "POST", headers: { ...auth(w), "content-type": "application/json" }, body: b });
        if (status >= 400) expect(await snapshot(jsonl.store)).toBe(before);
      }),
      { numRuns: 4250, seed: SEED },
    );
  }, 300_000);

  test("GET dashboards and items with random queries: no 5xx, same status on both", async () => {
    const query = fc.dictionary(
      fc.oneof(fc.constantFrom("env", "status", "priority", "limit", "offset", "overdue", "service", "owner", "category"), fc.string({ maxLength: 8 })),
      fc.oneof(fc.constantFrom("prod", "../../etc", "-1", "1e9", "1e19", "2147483648", "true", "open,done", "P0", "\u0000", "\ud800", "a\u0000b"), text),
      { maxKeys: 4 },
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom("/v1/backlog/dashboard", "/dashboard", "/v1/backlog/items", "/v1/backlog/items/bl_x", "/v1/backlog/items/%00", "/v1/scheduler/jobs"), query, who, async (path, q, w) => {
        await both(`${path}?${new URLSearchParams(q)}`, { headers: auth(w) });
      }),
      { numRuns: 2000, seed: SEED + 1 },
    );
  }, 300_000);
});
