/**
 * Issue 15 items 1, 2, 4: hostile text, nesting, numbers and dates get the same 4xx from the HTTP API on
 * Postgres and on JSONL, naming the field, never a 500; keyless callers get 401 before anything else.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { auth } from "./harness.ts";
import { openBackends, type Backend } from "./backends.ts";
import { payload } from "../intake/payloads.ts";

let backends: Backend[] = [];
beforeAll(async () => {
  backends = await openBackends();
});
afterAll(async () => {
  for (const b of backends) await b.dispose();
});

const upsert = (params: Record<string, unknown>, key = `k-${Math.random()}`) =>
  JSON.stringify({
    tool: "backlog_tool",
    action: "upsert",
    params: { env: "prod", service: "gateway", category: "security", title: "Rotate keys", priority: "P1", dedupe_key: key, ...params },
  });

const nested = (levels: number) => '{"meta": ' + '{"a":'.repeat(levels) + "1" + "}".repeat(levels) + "}";

async function both(path: string, init: RequestInit = {}) {
  const out: { status: number; body: Record<string, unknown> }[] = [];
  for (const b of backends) {
    const res = await b.app.request(path, { ...init, headers: { ...auth("admin"), "content-type": "application/json", ...(init.headers as Record<string, string>) } });
    out.push({ status: res.status, body: (await res.json()) as Record<string, unknown> });
  }
  expect(out[0]!.status).toBe(out[1]!.status);
  return out[0]!;
}

const post = (body: string, headers: Record<string, string> = {}) => both("/v1/tools/execute", { method: "POST", body, headers });

describe("one input boundary, same answer on Postgres and JSONL", () => {
  test("NUL and lone surrogates in any text field are a 400 naming the field", async () => {
    const cases: [string, string][] = [
      [upsert({ meta: { note: "a\u0000b" } }), "meta.note"],
      [upsert({ meta: { note: "\ud800" } }), "meta.note"],
      [upsert({ meta: { ["k\u0000"]: 1 } }), "meta"],
      [upsert({ title: "x\udc00y" }), "title"],
      [upsert({ service: "a\u0000b" }), "service"],
      [upsert({ tags: ["ok", "\ud83d"] }), "tags[1]"],
    ];
    for (const [body, field] of cases) {
      const r = await post(body);
      expect(r.status).toBe(400);
      expect(String(r.body.error)).toContain(field);
      expect(String(r.body.error)).toContain("NUL");
    }
    const q = await both("/v1/backlog/items?env=prod&service=a%00b");
    expect(q.status).toBe(400);
    expect(String(q.body.error)).toContain("service");
    const get = await both("/v1/backlog/items/bl_%00");
    expect(get.status).toBe(400);
    // A well-formed pair (an emoji) is fine.
    expect((await post(upsert({ title: "Rotate 🔑", meta: { e: "😀" } }))).status).toBe(200);
  });

  test("meta nests at most 32 levels; a 40,000-level body is refused before parsing", async () => {
    expect((await post(upsert({ meta: JSON.parse(nested(32)).meta }))).status).toBe(200);
    const deep = await post(upsert({ meta: JSON.parse(nested(33)).meta }));
    expect(deep.status).toBe(400);
    expect(String(deep.body.error)).toContain("meta");
    expect(String(deep.body.error)).toContain("32 levels");
    const huge = upsert({}).replace('"params":{', `"params":{"meta":${"[".repeat(40_000)}${"]".repeat(40_000)},`);
    const r = await post(huge);
    expect(r.status).toBe(400);
    expect(String(r.body.error)).toContain("nests deeper than");
  });

  test("out-of-range numbers and impossible dates are a 400, not a driver error", async () => {
    for (const body of [
      JSON.stringify({ tool: "backlog_tool", action: "list", offset: 1e19 }),
      JSON.stringify({ tool: "backlog_tool", action: "list", offset: 2 ** 31 }),
      JSON.stringify({ tool: "backlog_tool", action: "list", limit: 1e300 }),
      upsert({ due_date: "2026-02-30" }),
      upsert({ due_date: "0000-01-01" }),
    ]) {
      const r = await post(body);
      expect(r.status).toBe(400);
    }
    expect((await both("/v1/backlog/items?offset=1e19")).status).toBe(400);
    for (const at of ["0000-01-01T00:00Z", "2026-13-01T03:40Z", "2026-11-23T25:61Z", "2026-02-30T06:00Z", "2026-11-23T06:20:30Z"]) {
      const r = await post(JSON.stringify({ tool: "backlog_tool", action: "cleanup", dry_run: true, job: "backlog_cleanup", scheduled_at: at }));
      expect(r.status).toBe(400);
      expect(String(r.body.error)).toContain("scheduled_at");
    }
  });

  test("query limit/offset take decimal digits only, and ?__proto__= is an unknown parameter like any other", async () => {
    for (const q of ["limit=0x10", "limit=1e2", "limit=%20%2010", "offset=1.5", "offset=-0"]) {
      const r = await both(`/v1/backlog/items?${q}`);
      expect({ q, status: r.status }).toEqual({ q, status: 400 });
      expect(String(r.body.error)).toContain(q.split("=")[0]!);
    }
    const proto = await both("/v1/backlog/items?__proto__=x");
    expect(proto.status).toBe(400);
    expect(String(proto.body.error)).toContain('unknown parameter "__proto__"');
    expect((await both("/v1/backlog/items?limit=16&offset=0")).status).toBe(200);
  });

  // a typo such as ?dryrun=true must not quietly become a real run that writes
  test("the writing POST routes refuse an unknown query parameter with a 400 naming it; nothing is written", async () => {
    const before = await Promise.all(backends.map(async (b) => (await b.store.list({ limit: 1000 })).total));
    const gen = await both("/v1/backlog/generate/weekly?env=prod&week=2026-W47&dryrun=true", { method: "POST" });
    expect(gen.status).toBe(400);
    expect(String(gen.body.error)).toContain('unknown parameter "dryrun"');
    expect(String(gen.body.error)).toContain("dry_run");
    const asAlertmanager = { method: "POST", body: JSON.stringify(payload()), headers: auth("alertmanager") };
    const am = await both("/v1/alerts/alertmanager?dryrun=true", asAlertmanager);
    expect(am.status).toBe(400);
    expect(String(am.body.error)).toContain('unknown parameter "dryrun" (allowed: dry_run)');
    expect(am.body.fields).toEqual(['dryrun: unknown parameter "dryrun" (allowed: dry_run)']);
    expect(await Promise.all(backends.map(async (b) => (await b.store.list({ limit: 1000 })).total))).toEqual(before);
    // the documented ones still work
    expect((await both("/v1/backlog/generate/weekly?env=prod&week=2026-W47&dry_run=true", { method: "POST" })).status).toBe(200);
    expect((await both("/v1/alerts/alertmanager?dry_run=true", asAlertmanager)).status).toBe(200);
  });

  // the CLI refuses `backlog_tool dashboard` with an unknown param; over HTTP ?evn=prod (a typo) answered the
  // dashboard of every env as if it were prod's
  test("the dashboards refuse an unknown query parameter with a 400 naming it, after the access check", async () => {
    for (const path of ["/v1/backlog/dashboard", "/dashboard"]) {
      const r = await both(`${path}?evn=prod`);
      expect({ path, status: r.status }).toEqual({ path, status: 400 });
      expect(String(r.body.error)).toContain('evn: unknown parameter "evn" (allowed: env)');
      expect((await both(`${path}?evn=prod`, { headers: auth("alertmanager") })).status).toBe(403);
      for (const b of backends) expect((await b.app.request(`${path}?env=prod`, { headers: auth("admin") })).status).toBe(200);
    }
  });

  // every parameter the unknown-parameter 400 names as allowed is usable from a query string
  test("query due_within_days is a whole number like limit, and group_by=lineage groups the page", async () => {
    const due = await both("/v1/backlog/items?due_within_days=3");
    expect(due.status).toBe(200);
    expect(due.body.items).toBeArray();
    for (const q of ["due_within_days=0x3", "due_within_days=366"]) {
      const r = await both(`/v1/backlog/items?${q}`);
      expect({ q, status: r.status, names: String(r.body.error).includes("due_within_days") }).toEqual({ q, status: 400, names: true });
    }
    const grouped = await both("/v1/backlog/items?group_by=lineage");
    expect(grouped.status).toBe(200);
    expect(grouped.body.lineages).toBeArray();
  });

  test("keyless callers get 401 with the hint first: no 400 for their body, no tool or action listing", async () => {
    for (const body of ["not json", "{", JSON.stringify({ tool: "nope", action: "x" }), JSON.stringify({ tool: "backlog_tool", action: "nope" }), nested(50_000)]) {
      for (const b of backends) {
        const res = await b.app.request("/v1/tools/execute", { method: "POST", body, headers: { "content-type": "application/json" } });
        expect(res.status).toBe(401);
        const text = await res.text();
        expect(text).toContain("Authorization: Bearer");
        expect(text).not.toContain("Known");
        expect(text).not.toContain("backlog_tool");
      }
    }
  });
});
