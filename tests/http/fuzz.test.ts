/**
 * Property-based: thousands of random bodies and queries at the tool-execute API and the dashboard.
 * Whatever arrives, the answer is never a 5xx, always a JSON body, and a rejected request changes no
 * stored data.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { MemoryBacklogStore } from "../../lib/store/memory.ts";
import { auth, buildTestApp } from "./harness.ts";

const store = new MemoryBacklogStore({ clock: () => new Date("2026-11-23T10:00:00Z") });
const { app } = buildTestApp(store);

async function snapshot(): Promise<string> {
  const { items } = await store.list({ limit: 1000 });
  const events = await Promise.all(items.map((i) => store.events(i.id)));
  return JSON.stringify([items, events]);
}

const actions = ["list", "get", "upsert", "set_status", "add_comment", "dashboard", "auto_generate_weekly", "auto_generate_daily", "cleanup", "nope"];
const tools = ["backlog_tool", "risk_history_tool", "architecture_pressure_tool", "nope", ""];

/** Bodies that look almost right are the interesting ones: real tool/action names with junk params. */
const nearMiss = fc.record(
  {
    tool: fc.oneof(fc.constantFrom(...tools), fc.string()),
    action: fc.oneof(fc.constantFrom(...actions), fc.string()),
    params: fc.oneof(fc.dictionary(fc.constantFrom("env", "id", "status", "priority", "limit", "dry_run", "retention_days", "message", "week", "dedupe_key"), fc.jsonValue()), fc.jsonValue()),
    env: fc.oneof(fc.constantFrom("prod", "dev", "../../etc", "PROD", ""), fc.string()),
  },
  { requiredKeys: [] },
);

const body = fc.oneof(
  nearMiss.map((b) => JSON.stringify(b)),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.string(),
  fc.uint8Array({ maxLength: 64 }).map((a) => new TextDecoder().decode(a)),
);

async function checkResponse(res: Response) {
  expect(res.status).toBeLessThan(500);
  const text = await res.text();
  if (res.headers.get("content-type")?.includes("application/json")) JSON.parse(text);
  if (res.status >= 400) expect(JSON.parse(text).error).toEqual(expect.any(String));
  return res.status;
}

describe("fuzz", () => {
  test("POST /v1/tools/execute: no 5xx, rejected requests change nothing", async () => {
    await fc.assert(
      fc.asyncProperty(body, fc.constantFrom("admin", "reader", "none", "bad") as fc.Arbitrary<"admin" | "reader" | "none" | "bad">, async (b, who) => {
        const before = await snapshot();
        const res = await app.request("/v1/tools/execute", { method: "POST", headers: { ...auth(who), "content-type": "application/json" }, body: b });
        const status = await checkResponse(res);
        if (status >= 400) expect(await snapshot()).toBe(before);
      }),
      { numRuns: 3000 },
    );
  });

  test("GET dashboards and items with random queries: no 5xx", async () => {
    const query = fc.dictionary(
      fc.oneof(fc.constantFrom("env", "status", "priority", "limit", "offset", "overdue", "service", "owner", "category"), fc.string({ maxLength: 8 })),
      fc.oneof(fc.constantFrom("prod", "../../etc", "-1", "1e9", "true", "open,done", "P0", "%00"), fc.string({ maxLength: 20 })),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom("/v1/backlog/dashboard", "/dashboard", "/v1/backlog/items", "/v1/backlog/items/bl_x"), query, async (path, q) => {
        const before = await snapshot();
        const res = await app.request(`${path}?${new URLSearchParams(q)}`, { headers: auth("admin") });
        await checkResponse(res);
        expect(await snapshot()).toBe(before);
      }),
      { numRuns: 2000 },
    );
  });
});
