/**
 * Conditional GET and the kept answers (lib/http/conditional.ts): a write anywhere is seen at the next
 * request, a 304 only for the current bytes, auth before any kept answer, on memory, JSONL and Postgres.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolvePgConfig } from "../../lib/pg/db.ts";
import { conditionalGet, matchesIfNoneMatch } from "../../lib/http/conditional.ts";
import { Hono } from "hono";
import { silentLogger } from "../../lib/core/log.ts";
import { JsonlBacklogStore } from "../../lib/store/jsonl/store.ts";
import { MemoryBacklogStore } from "../../lib/store/memory.ts";
import { PostgresBacklogStore } from "../../lib/store/postgres/store.ts";
import type { BacklogStore } from "../../lib/store/types.ts";
import { freshDatabase } from "../helpers/pg.ts";
import { auth, buildTestApp } from "./harness.ts";
import { item } from "../store/contract.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

function appOn(store: BacklogStore, now?: Date) {
  const built = buildTestApp(store, { now });
  cleanups.push(() => rmSync(built.reportsDir, { recursive: true, force: true }));
  return built.app;
}

const get = (app: ReturnType<typeof appOn>, path: string, who: Parameters<typeof auth>[0] = "reader", extra: Record<string, string> = {}) =>
  app.request(path, { headers: { ...auth(who), ...extra } });

const upsert = (app: ReturnType<typeof appOn>, params: Record<string, unknown>) =>
  app.request("/v1/tools/execute", {
    method: "POST",
    headers: { ...auth("writer"), "content-type": "application/json" },
    body: JSON.stringify({ tool: "backlog_tool", action: "upsert", params }),
  });

describe("If-None-Match", () => {
  test("matches a listed, weak or * tag; not another", () => {
    expect(matchesIfNoneMatch('"a", "b"', '"b"')).toBe(true);
    expect(matchesIfNoneMatch('W/"b"', '"b"')).toBe(true);
    expect(matchesIfNoneMatch("*", '"b"')).toBe(true);
    expect(matchesIfNoneMatch('"a"', '"b"')).toBe(false);
    expect(matchesIfNoneMatch(undefined, '"b"')).toBe(false);
  });
});

describe("one computation per miss", () => {
  // The app's own middleware on a bare route: the handler counts its runs and waits on a gate.
  function gatedApp(status = 200) {
    let runs = 0;
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const app = new Hono();
    app.use("*", conditionalGet({ version: () => "v1", clock: () => new Date("2026-11-30T12:00:00Z"), agentOf: () => "reader", backend: () => "memory" }));
    app.get("/dash", async (c) => {
      runs++;
      await gate;
      return c.json({ n: 42 }, status as 200);
    });
    return { app, runs: () => runs, open };
  }

  test("ten requests that miss at once run the tool once and get the same answer and ETag", async () => {
    const { app, runs, open } = gatedApp();
    const answers = Array.from({ length: 10 }, () => app.request("/dash"));
    await Bun.sleep(20);
    open();
    const res = await Promise.all(answers);
    expect(runs()).toBe(1);
    expect(res.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(new Set(res.map((r) => r.headers.get("etag"))).size).toBe(1);
    expect(await Promise.all(res.map((r) => r.json()))).toEqual(Array(10).fill({ n: 42 }));
  });

  test("an answer that is not kept (not a 200) is not shared: each waiting request computes its own", async () => {
    const { app, runs, open } = gatedApp(404);
    const answers = Array.from({ length: 3 }, () => app.request("/dash"));
    await Bun.sleep(20);
    open();
    expect((await Promise.all(answers)).map((r) => r.status)).toEqual([404, 404, 404]);
    expect(runs()).toBe(3);
  });
});

describe("kept answers on memory", () => {
  test("ETag → 304 while nothing changed; a write is seen at the next request with a new ETag", async () => {
    const store = new MemoryBacklogStore();
    const app = appOn(store);
    const first = await get(app, "/v1/backlog/dashboard?env=prod");
    expect(first.status).toBe(200);
    const etag = first.headers.get("etag")!;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    expect(first.headers.get("cache-control")).toBe("private, no-cache");
    const body = await first.json();
    expect(body.total).toBe(0);

    const again = await get(app, "/v1/backlog/dashboard?env=prod", "reader", { "if-none-match": etag });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe("");
    expect(again.headers.get("etag")).toBe(etag);

    expect((await upsert(app, item())).status).toBe(200);
    const after = await get(app, "/v1/backlog/dashboard?env=prod", "reader", { "if-none-match": etag });
    expect(after.status).toBe(200);
    expect((await after.json()).total).toBe(1);
    expect(after.headers.get("etag")).not.toBe(etag);

    // a write straight to the store (another caller in the same process) counts too
    const listed = await get(app, "/v1/backlog/items?env=prod");
    const id = (await listed.json()).items[0].id as string;
    await store.setStatus(id, "done", { actor: "bob" });
    expect((await (await get(app, `/v1/backlog/items/${id}`)).json()).item.status).toBe("done");
    expect((await (await get(app, "/v1/backlog/items?env=prod")).json()).items[0].status).toBe("done");
  });

  test("HEAD answers like GET without the body: the same ETag, and 304 for a matching If-None-Match", async () => {
    const app = appOn(new MemoryBacklogStore());
    const got = await get(app, "/v1/backlog/dashboard?env=prod");
    const etag = got.headers.get("etag")!;
    const head = await app.request("/v1/backlog/dashboard?env=prod", { method: "HEAD", headers: auth("reader") });
    expect(head.status).toBe(200);
    expect(head.headers.get("etag")).toBe(etag);
    expect(head.headers.get("cache-control")).toBe("private, no-cache");
    expect(await head.text()).toBe("");
    const headAgain = await app.request("/v1/backlog/dashboard?env=prod", { method: "HEAD", headers: { ...auth("reader"), "if-none-match": etag } });
    expect(headAgain.status).toBe(304);
  });

  test("a kept answer is never served before authentication and entitlement", async () => {
    const app = appOn(new MemoryBacklogStore());
    const ok = await get(app, "/v1/backlog/dashboard");
    const etag = ok.headers.get("etag")!;
    expect((await get(app, "/v1/backlog/dashboard", "none", { "if-none-match": etag })).status).toBe(401);
    expect((await get(app, "/v1/backlog/dashboard", "bad")).status).toBe(401);
  });

  test("the answer is kept per day: overdue days move at midnight UTC without any write", async () => {
    const store = new MemoryBacklogStore({ clock: () => new Date("2026-11-20T10:00:00Z") });
    await store.upsert({ ...item(), due_date: "2026-11-21" }, { actor: "gen" });
    let now = new Date("2026-11-23T10:00:00.000Z");
    const built = buildTestApp(store, { clock: () => now });
    cleanups.push(() => rmSync(built.reportsDir, { recursive: true, force: true }));
    const first = await get(built.app, "/v1/backlog/dashboard");
    expect((await first.json()).overdue[0].days_overdue).toBe(2);
    const etag = first.headers.get("etag")!;
    expect((await get(built.app, "/v1/backlog/dashboard", "reader", { "if-none-match": etag })).status).toBe(304);
    now = new Date("2026-11-24T00:00:01.000Z");
    const next = await get(built.app, "/v1/backlog/dashboard", "reader", { "if-none-match": etag });
    expect(next.status).toBe(200);
    const day2 = await next.json();
    expect(day2.overdue[0].days_overdue).toBe(3);
  });
});

describe("kept answers on JSONL", () => {
  test("another process's append (another store on the same files) is seen at the next request", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bb-cond-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const served = new JsonlBacklogStore({ dir, log: silentLogger });
    const other = new JsonlBacklogStore({ dir, log: silentLogger });
    cleanups.push(() => served.close(), () => other.close());
    const app = appOn(served);
    const first = await get(app, "/v1/backlog/dashboard");
    expect((await first.json()).total).toBe(0);
    const etag = first.headers.get("etag")!;
    expect((await get(app, "/v1/backlog/dashboard", "reader", { "if-none-match": etag })).status).toBe(304);
    await other.upsert(item(), { actor: "cron" });
    const next = await get(app, "/v1/backlog/dashboard", "reader", { "if-none-match": etag });
    expect(next.status).toBe(200);
    expect((await next.json()).total).toBe(1);
  });

  test("a comment from another process (events.jsonl only) is seen in the item's answer; dashboards and lists, which read items only, stay 304", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bb-cond-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const served = new JsonlBacklogStore({ dir, log: silentLogger });
    const other = new JsonlBacklogStore({ dir, log: silentLogger });
    cleanups.push(() => served.close(), () => other.close());
    const { item: it } = await other.upsert(item(), { actor: "cron" });
    const app = appOn(served);
    const paths = ["/v1/backlog/dashboard", "/v1/backlog/items?env=prod", `/v1/backlog/items/${it.id}`];
    const etags = await Promise.all(paths.map(async (p) => (await get(app, p)).headers.get("etag")!));
    await other.addComment(it.id, "looked at it", { actor: "bob" });
    const [dash, list, one] = await Promise.all(paths.map((p, i) => get(app, p, "reader", { "if-none-match": etags[i]! })));
    expect([dash!.status, list!.status, one!.status]).toEqual([304, 304, 200]);
    expect((await one!.json()).events.map((e: { type: string }) => e.type)).toEqual(["created", "commented"]);
  });
});

describe("kept answers on Postgres with two replicas", () => {
  test("a write on replica A is seen by replica B once the notification arrives; B's own writes at once", async () => {
    const db = await freshDatabase({ migrated: true });
    cleanups.push(() => db.drop());
    const config = resolvePgConfig({ dsn: db.dsn }, {})!;
    const a = new PostgresBacklogStore({ config, log: silentLogger });
    const b = new PostgresBacklogStore({ config, log: silentLogger });
    cleanups.push(() => a.close(), () => b.close());
    const appA = appOn(a);
    const appB = appOn(b);

    // B starts listening on its first request; until then (version null) nothing is kept.
    const deadline = Date.now() + 10_000;
    while (b.version() === null && Date.now() < deadline) await Bun.sleep(20);
    expect(b.version()).not.toBeNull();

    const first = await get(appB, "/v1/backlog/dashboard");
    expect((await first.json()).total).toBe(0);
    const etag = first.headers.get("etag")!;
    expect((await get(appB, "/v1/backlog/dashboard", "reader", { "if-none-match": etag })).status).toBe(304);

    expect((await upsert(appA, item())).status).toBe(200);
    let seen = 0;
    while (Date.now() < deadline) {
      const r = await get(appB, "/v1/backlog/dashboard", "reader", { "if-none-match": etag });
      if (r.status === 200) {
        seen = (await r.json()).total;
        break;
      }
      await Bun.sleep(5);
    }
    expect(seen).toBe(1);

    // B's own write: visible at its very next request, no waiting for the notification
    expect((await upsert(appB, item({ dedupe_key: "k-b", title: "second" }))).status).toBe(200);
    expect((await (await get(appB, "/v1/backlog/dashboard")).json()).total).toBe(2);
  });

  test("a store given a pool (no config to LISTEN with) reports no version: nothing is kept", async () => {
    const db = await freshDatabase({ migrated: true });
    cleanups.push(() => db.drop());
    const s = new PostgresBacklogStore({ sql: db.sql, log: silentLogger });
    expect(s.version()).toBeNull();
  });
});
