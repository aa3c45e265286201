import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { MemoryBacklogStore } from "../../lib/store/memory.ts";
import { PostgresBacklogStore } from "../../lib/store/postgres/store.ts";
import type { BacklogStore } from "../../lib/store/types.ts";
import { freshDatabase, type TestDb } from "../helpers/pg.ts";
import { KEYS, auth, buildTestApp } from "./harness.ts";

type Who = "none" | "bad" | "reader" | "writer" | "admin" | "scheduler";
const WHO: Who[] = ["none", "bad", "reader", "writer", "admin", "scheduler"];

interface Case {
  name: string;
  method: "GET" | "POST";
  path: string;
  body?: unknown;
  expect: Record<Who, number>;
}

const READ = { none: 401, bad: 401, reader: 200, writer: 200, admin: 200, scheduler: 200 };
const WRITE = { none: 401, bad: 401, reader: 403, writer: 200, admin: 200, scheduler: 200 };
const ADMIN = { none: 401, bad: 401, reader: 403, writer: 403, admin: 200, scheduler: 200 };
const OPEN = { none: 200, bad: 200, reader: 200, writer: 200, admin: 200, scheduler: 200 };

const upsertBody = (key: string) => ({
  tool: "backlog_tool",
  action: "upsert",
  params: { env: "prod", service: "gateway", category: "security", title: "Rotate keys", priority: "P1", dedupe_key: key },
});

const cases: Case[] = [
  { name: "healthz", method: "GET", path: "/healthz", expect: OPEN },
  { name: "readyz", method: "GET", path: "/readyz", expect: OPEN },
  { name: "dashboard json", method: "GET", path: "/v1/backlog/dashboard?env=prod", expect: READ },
  { name: "dashboard html", method: "GET", path: "/dashboard?env=prod", expect: READ },
  { name: "items", method: "GET", path: "/v1/backlog/items?env=prod", expect: READ },
  { name: "metrics", method: "GET", path: "/metrics", expect: READ },
  { name: "scheduler jobs", method: "GET", path: "/v1/scheduler/jobs", expect: READ },
  { name: "tools.execute read", method: "POST", path: "/v1/tools/execute", body: { tool: "backlog_tool", action: "dashboard", env: "prod" }, expect: READ },
  { name: "tools.execute write", method: "POST", path: "/v1/tools/execute", body: upsertBody("k"), expect: WRITE },
  { name: "generate weekly", method: "POST", path: "/v1/backlog/generate/weekly?env=prod&dry_run=true", expect: ADMIN },
  { name: "tools.execute admin", method: "POST", path: "/v1/tools/execute", body: { tool: "backlog_tool", action: "cleanup", dry_run: true }, expect: ADMIN },
];

function suite(label: string, open: () => Promise<{ store: BacklogStore; dispose(): Promise<void> }>) {
  describe(`HTTP API on ${label}`, () => {
    let store: BacklogStore;
    let dispose: () => Promise<void>;
    let app: ReturnType<typeof buildTestApp>["app"];
    beforeAll(async () => {
      ({ store, dispose } = await open());
      app = buildTestApp(store).app;
    });
    afterAll(async () => {
      await store.close();
      await dispose();
    });

    const call = (c: Case, who: Who, i: number) =>
      app.request(c.path.replace('"k"', `"k${i}"`), {
        method: c.method,
        headers: { ...auth(who), ...(c.body ? { "content-type": "application/json" } : {}) },
        body: c.body ? JSON.stringify(c.name === "tools.execute write" ? upsertBody(`k-${who}-${i}`) : c.body) : undefined,
      });

    test("status matrix: every endpoint × identity", async () => {
      const got: Record<string, Record<Who, number>> = {};
      const want: Record<string, Record<Who, number>> = {};
      let i = 0;
      for (const c of cases) {
        got[c.name] = {} as Record<Who, number>;
        want[c.name] = c.expect;
        for (const who of WHO) {
          const res = await call(c, who, i++);
          got[c.name]![who] = res.status;
          if (res.status >= 400) {
            const body = await res.json();
            expect(typeof body.error).toBe("string");
          }
        }
      }
      expect(got).toEqual(want);
    });

    test("X-API-Key works like Bearer; 401 and 403 bodies say what to do", async () => {
      expect((await app.request("/v1/backlog/dashboard?env=prod", { headers: auth("reader", "x-api-key") })).status).toBe(200);
      const none = await app.request("/v1/backlog/dashboard?env=prod");
      expect((await none.json()).error).toContain("Authorization: Bearer <key>");
      const forbidden = await app.request("/v1/backlog/generate/weekly?env=prod", { method: "POST", headers: auth("reader") });
      expect(forbidden.status).toBe(403);
      expect(await forbidden.json()).toMatchObject({ error: expect.stringContaining("tools.backlog.admin"), required: "tools.backlog.admin" });
    });

    test("writes record the agent that owns the key, never a name the client sends", async () => {
      const post = (body: unknown) =>
        app.request("/v1/tools/execute", { method: "POST", headers: { ...auth("writer"), "content-type": "application/json" }, body: JSON.stringify(body) });
      // a client-chosen identity is not a parameter: the strict params schema refuses it
      const spoof = await post({ ...upsertBody("actor-check"), agent: "admin" });
      expect(spoof.status).toBe(400);
      expect((await spoof.json()).error).toContain("agent");
      expect(await store.getByDedupeKey("actor-check")).toBeNull();
      expect((await post(upsertBody("actor-check"))).status).toBe(200);
      const item = await store.getByDedupeKey("actor-check");
      expect((await store.events(item!.id)).map((e) => e.actor)).toEqual(["writer"]);
    });

    test("dashboard JSON has the runbook shape plus backend and alerts", async () => {
      const res = await app.request("/v1/backlog/dashboard?env=prod", { headers: auth("reader") });
      const body = await res.json();
      expect(Object.keys(body).sort()).toEqual(
        ["alerts", "backend", "degraded", "due_soon", "due_soon_count", "overdue", "overdue_count", "priority_counts", "status_counts", "top_services", "total", "warn_days"].sort(),
      );
      expect(body.backend).toBe(store.name);
      expect(Object.keys(body.status_counts)).toEqual(["open", "in_progress", "blocked", "done", "canceled"]);
    });

    test("generate's dry_run is true or false: any other value is a 400 naming it, never a real run", async () => {
      const total = async () => (await (await app.request("/v1/backlog/items?env=prod", { headers: auth("reader") })).json()).total as number;
      const before = await total();
      for (const v of ["yes", "1", "TRUE", "on"]) {
        const res = await app.request(`/v1/backlog/generate/weekly?env=prod&dry_run=${v}`, { method: "POST", headers: auth("admin") });
        expect(res.status).toBe(400);
        expect((await res.json()).fields.join()).toContain("dry_run");
      }
      const dry = await (await app.request("/v1/backlog/generate/weekly?env=prod&dry_run=true", { method: "POST", headers: auth("admin") })).json();
      expect(dry).toMatchObject({ dry_run: true });
      expect(await total()).toBe(before);
    });

    test("manual weekly generation creates the digest's items; a second run creates none", async () => {
      const first = await (await app.request("/v1/backlog/generate/weekly?env=prod", { method: "POST", headers: auth("admin") })).json();
      expect(first.created).toBeGreaterThan(0);
      const second = await (await app.request("/v1/backlog/generate/weekly?env=prod", { method: "POST", headers: auth("scheduler") })).json();
      expect(second.created).toBe(0);
      const items = await (await app.request("/v1/backlog/items?env=prod&limit=1000&category=security", { headers: auth("reader") })).json();
      expect(items.items.length).toBeGreaterThan(0);
      const one = await (await app.request(`/v1/backlog/items/${items.items[0].id}`, { headers: auth("reader") })).json();
      expect(one.item?.id ?? one.id).toBe(items.items[0].id);
    });

    test("bad input is a 4xx JSON error, never a 500", async () => {
      const bad = async (path: string, init: RequestInit = {}) => {
        const res = await app.request(path, { ...init, headers: { ...auth("admin"), ...(init.headers ?? {}) } });
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
        return { status: res.status, body: await res.json() };
      };
      expect((await bad("/v1/backlog/dashboard?env=../../etc")).status).toBe(400);
      expect((await bad("/v1/backlog/dashboard?env=nope")).status).toBe(400);
      expect((await bad("/v1/backlog/items?limit=abc")).status).toBe(400);
      expect((await bad("/v1/backlog/items?status=wontfix")).status).toBe(400);
      expect((await bad("/v1/backlog/items/bl_missing")).status).toBe(404);
      const nonJson = await bad("/v1/tools/execute", { method: "POST", body: "not json" });
      expect(nonJson.status).toBe(400);
      expect(nonJson.body.error).toContain("Body must be JSON");
      const unknownTool = await bad("/v1/tools/execute", { method: "POST", body: JSON.stringify({ tool: "nope", action: "x" }) });
      expect(unknownTool.status).toBe(404);
      expect(unknownTool.body.known_tools).toContain("backlog_tool");
      const unknownAction = await bad("/v1/tools/execute", { method: "POST", body: JSON.stringify({ tool: "backlog_tool", action: "explode" }) });
      expect(unknownAction.status).toBe(404);
      expect(unknownAction.body.known_actions).toContain("auto_generate_weekly");
      const badParams = await bad("/v1/tools/execute", {
        method: "POST",
        body: JSON.stringify({ tool: "backlog_tool", action: "upsert", params: { env: "prod", priority: "P9" } }),
      });
      expect(badParams.status).toBe(400);
      expect(badParams.body.fields.join("\n")).toContain('priority: expected one of P0|P1|P2|P3, got "P9"');
      expect((await bad("/nope")).status).toBe(404);
      const huge = await bad("/v1/tools/execute", { method: "POST", body: JSON.stringify({ tool: "backlog_tool", action: "dashboard", pad: "x".repeat(300 * 1024) }) });
      expect(huge.status).toBe(413);
    });

    test("missing digest returns the runbook's exact error body", async () => {
      const { app: emptyApp } = buildTestApp(store, { reportsDir: "/nonexistent-reports-dir" });
      const res = await emptyApp.request("/v1/tools/execute", {
        method: "POST",
        headers: { ...auth("scheduler"), "content-type": "application/json" },
        body: JSON.stringify({ tool: "backlog_tool", action: "auto_generate_weekly", env: "prod" }),
      });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(await res.json()).toEqual({ error: "No platform digest found. Run architecture_pressure_tool.digest first." });
    });

    test("readyz reports the backend; metrics are Prometheus text", async () => {
      expect((await app.request("/healthz")).status).toBe(200);
      const ready = await (await app.request("/readyz")).json();
      expect(ready).toMatchObject({ ready: true, backend: store.name, degraded: false });
      const m = await app.request("/metrics", { headers: auth("reader") });
      expect(m.headers.get("content-type")).toContain("text/plain");
      const text = await m.text();
      expect(text).toMatch(/backlog_items\{env="prod",status="open",priority="P0"\} \d+/);
      expect(text).toMatch(/backlog_overdue_items\{env="prod",priority="P0"\} \d+/);
      expect(text).toMatch(/backlog_due_soon_items\{env="prod",priority="P0"\} \d+/);
      expect(text).toMatch(/backlog_store_degraded 0/);
      expect(text).toMatch(/backlog_job_next_fire_timestamp_seconds\{task="daily_backlog_cleanup"\} \d+/);
      expect(text).toMatch(/backlog_http_requests_total\{method="GET",route="\/v1\/backlog\/dashboard",status="200"\} \d+/);
      // The probes by their own route (the auth middleware after them matches every path too).
      expect(text).toMatch(/backlog_http_requests_total\{method="GET",route="\/readyz",status="200"\} \d+/);
      expect(text).toMatch(/backlog_http_requests_total\{method="GET",route="\/healthz",status="200"\} \d+/);
      expect(text).toContain("backlog_http_request_duration_seconds_bucket");
      expect(text).not.toContain(KEYS.reader);
    });

    test("anonymous reads only when the access config grants them; writes never", async () => {
      const { app: open } = buildTestApp(store, { anonymousRead: true });
      expect((await open.request("/v1/backlog/dashboard?env=prod")).status).toBe(200);
      expect((await open.request("/dashboard?env=prod")).status).toBe(200);
      const w = await open.request("/v1/tools/execute", { method: "POST", body: JSON.stringify(upsertBody("anon")) });
      expect(w.status).toBe(401);
    });
  });
}

suite("memory", async () => ({ store: new MemoryBacklogStore({ clock: () => new Date("2026-11-23T10:00:00Z") }), dispose: async () => {} }));

suite("postgres", async () => {
  const db: TestDb = await freshDatabase({ migrated: true });
  const store = new PostgresBacklogStore({ sql: db.sql, clock: () => new Date("2026-11-23T10:00:00Z") });
  return { store, dispose: () => db.drop() };
});
