/**
 * PostgresBacklogStore: the shared contract on a fresh migrated database per test, plus what only a
 * real server can show: concurrency on one dedupe_key, rollback, one-statement dashboard, batch upsert.
 */
import { afterEach, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { connectPg, resolvePgConfig, type Sql } from "../../lib/pg/db.ts";
import { silentLogger } from "../../lib/core/log.ts";
import { MemoryBacklogStore } from "../../lib/store/memory.ts";
import { PostgresBacklogStore } from "../../lib/store/postgres/store.ts";
import type { BacklogStore, UpsertInput } from "../../lib/store/types.ts";
import { freshDatabase, type TestDb } from "../helpers/pg.ts";
import { item, storeContract } from "./contract.ts";

const dbs = new WeakMap<BacklogStore, TestDb>();

storeContract("postgres", {
  async open(clock) {
    const db = await freshDatabase({ migrated: true });
    const store = new PostgresBacklogStore({ config: resolvePgConfig({ dsn: db.dsn }, {})!, clock, log: silentLogger });
    dbs.set(store, db);
    return store;
  },
  async dispose(store) {
    await dbs.get(store)?.drop();
  },
});

describe("PostgresBacklogStore on a real server", () => {
  let db: TestDb;
  const extra: { end(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const x of extra.splice(0)) await x.end();
    await db?.drop();
  });
  const open = async (over: { sql?: Sql; clock?: () => Date } = {}) => {
    db = await freshDatabase({ migrated: true });
    const cfg = resolvePgConfig({ dsn: db.dsn }, {})!;
    return new PostgresBacklogStore({ config: cfg, log: silentLogger, ...over });
  };

  test("open() pings and checks the schema; a database without tables names the fix", async () => {
    const empty = await freshDatabase({ migrated: false });
    try {
      const err = await PostgresBacklogStore.open({ config: resolvePgConfig({ dsn: empty.dsn }, {})! }).catch((e) => e);
      expect(err.code).toBe("unavailable");
      expect(err.message).toContain("run the migrations first");
      expect(err.message).not.toContain("test-secret-pw");
    } finally {
      await empty.drop();
    }
    const down = await PostgresBacklogStore.open({ config: resolvePgConfig({ dsn: "postgresql://u:hunter2@127.0.0.1:1/x", connectTimeoutSeconds: 2 }, {})! }).catch((e) => e);
    expect(down.code).toBe("unavailable");
    expect(down.message).toContain("connection refused");
    expect(down.message).not.toContain("hunter2");
  });

  test("25 connections upserting the same dedupe_key at once: one item, no error", async () => {
    const store0 = await open();
    const cfg = resolvePgConfig({ dsn: db.dsn }, {})!;
    const stores = Array.from({ length: 25 }, () => new PostgresBacklogStore({ config: cfg, log: silentLogger, max: 1 }));
    extra.push(...stores.map((s) => ({ end: () => s.close() })), { end: () => store0.close() });
    // Connect everyone first so the upserts really race instead of queueing behind connection setup.
    await Promise.all(stores.map((s) => s.ping()));
    const results = await Promise.all(stores.map((s, i) => s.upsert(item({ title: `title from ${i % 3}` }), { actor: `w${i}` })));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.item.id)).size).toBe(1);
    const [row] = await db.sql<{ n: number }[]>`select count(*)::int as n from backlog_items`;
    expect(row!.n).toBe(1);
    const evs = await store0.events(results[0]!.item.id);
    expect(evs.filter((e) => e.type === "created")).toHaveLength(1);
  });

  test("a write whose event insert fails leaves no item behind (one transaction)", async () => {
    const store = await open();
    extra.push({ end: () => store.close() });
    // Make every event insert fail: the item insert before it must be rolled back with it.
    await db.sql`alter table backlog_events add constraint no_events check (false) not valid`;
    await expect(store.upsert(item(), { actor: "a" })).rejects.toThrow(/no_events/);
    expect(await store.getByDedupeKey(item().dedupe_key)).toBeNull();
    await db.sql`alter table backlog_events drop constraint no_events`;
    const { item: it } = await store.upsert(item(), { actor: "a" });
    await db.sql`alter table backlog_events add constraint no_events check (false) not valid`;
    await expect(store.setStatus(it.id, "done", { actor: "a" })).rejects.toThrow(/no_events/);
    expect((await store.get(it.id))!.status).toBe("open");
  });

  test("dashboard is one statement; today comes from the caller, not the database clock", async () => {
    const queries: string[] = [];
    const base = await open();
    extra.push({ end: () => base.close() });
    const sql = postgres(db.dsn, { max: 1, onnotice: () => {}, debug: (_c, q) => queries.push(q) }) as unknown as Sql;
    extra.push({ end: () => sql.end() });
    const store = new PostgresBacklogStore({ sql, log: silentLogger, clock: () => new Date("2026-11-23T10:00:00Z") });
    await store.upsert(item({ due_date: "2026-11-20" }), { actor: "a" });
    queries.length = 0;
    const d = await store.dashboard({ env: "prod" }, new Date("2030-01-01T00:00:00Z"));
    expect(queries).toHaveLength(1);
    expect(d.overdue[0]!.days_overdue).toBe(1138);
    expect((await store.dashboard({ env: "prod" }, new Date("2026-11-19T23:59:59Z"))).overdue_count).toBe(0);
  });

  test("timestamps come back exactly as Date#toISOString, dates as YYYY-MM-DD, through any pool", async () => {
    const base = await open({ clock: () => new Date("2026-11-23T10:00:00.123Z") });
    extra.push({ end: () => base.close() });
    const { item: it } = await base.upsert(item(), { actor: "a" });
    // A pool without lib/pg/db.ts' date mapping (as a script might make) reads the same values.
    const plain = new PostgresBacklogStore({ sql: db.sql, log: silentLogger });
    const again = await plain.get(it.id);
    expect(again).toEqual(it);
    expect(again!.created_at).toBe("2026-11-23T10:00:00.123Z");
    expect(again!.due_date).toBe("2026-12-01");
  });

  test("upsertMany = upserting each input in order (memory as the oracle), in a few statements", async () => {
    let now = new Date("2026-11-23T10:00:00.000Z");
    const clock = () => now;
    const queries: string[] = [];
    const base = await open({ clock });
    extra.push({ end: () => base.close() });
    const sql = connectPg(resolvePgConfig({ dsn: db.dsn }, {})!, { max: 1 });
    extra.push({ end: () => sql.end() });
    const traced = postgres(db.dsn, { max: 1, onnotice: () => {}, debug: (_c, q) => queries.push(q) }) as unknown as Sql;
    extra.push({ end: () => traced.end() });
    const pg = new PostgresBacklogStore({ sql: traced, clock, log: silentLogger });
    const mem = new MemoryBacklogStore({ clock });

    await base.upsert(item({ dedupe_key: "old", owner: "team-a" }), { actor: "gen" });
    await mem.upsert(item({ dedupe_key: "old", owner: "team-a" }), { actor: "gen" });
    now = new Date("2026-11-23T11:00:00.000Z");
    const batch: UpsertInput[] = [
      item({ dedupe_key: "new-1", title: "first" }),
      item({ dedupe_key: "old", title: "renamed", owner: undefined, meta: { week: "W48" } }),
      item({ dedupe_key: "new-1", title: "first, again", owner: "team-b" }), // same key twice in one batch
      item({ dedupe_key: "old", title: "renamed" , owner: undefined, meta: { week: "W48" } }), // no-op
      ...Array.from({ length: 200 }, (_, i) => item({ dedupe_key: `bulk-${i}`, service: `svc-${i % 7}` })),
    ];
    queries.length = 0;
    const got = await pg.upsertMany(batch, { actor: "gen" });
    // 202 items, one existing, one key twice: still one insert, one lock, one update, one event insert.
    const data = queries.filter((q) => /backlog_(items|events)/.test(q)).map((q) => q.trim().split(/\s+/).slice(0, 2).join(" "));
    expect(data).toEqual(["insert into", "select *", "update backlog_items", "insert into"]);
    const want = [];
    for (const input of batch) want.push(await mem.upsert(input, { actor: "gen" }));
    const strip = (r: { item: { id: string }; created: boolean; changed: boolean }) => ({ ...r, item: { ...r.item, id: "" } });
    expect(got.map(strip)).toEqual(want.map(strip));
    expect(got[2]!.item.id).toBe(got[0]!.item.id);
    // Stored state and history match the sequential oracle too.
    for (const key of ["new-1", "old", "bulk-17"]) {
      const a = (await base.getByDedupeKey(key))!;
      const b = (await mem.getByDedupeKey(key))!;
      expect({ ...a, id: "" }).toEqual({ ...b, id: "" });
      const evA = (await base.events(a.id)).map((e) => [e.type, e.message, e.ts]);
      const evB = (await mem.events(b.id)).map((e) => [e.type, e.message, e.ts]);
      expect(evA).toEqual(evB);
    }
    expect((await base.list({ limit: 1000 })).total).toBe(202);
    const bad = await pg.upsertMany([item(), { ...item(), priority: "P7" } as never], { actor: "gen" }).catch((e) => e);
    expect(bad.message).toContain("inputs[1]:");
    expect(bad.message).toContain("priority");
  });

  test("cleanup is one DELETE and events go by cascade", async () => {
    let now = new Date("2026-01-01T00:00:00.000Z");
    const base = await open();
    extra.push({ end: () => base.close() });
    const queries: string[] = [];
    const sql = postgres(db.dsn, { max: 1, onnotice: () => {}, debug: (_c, q) => queries.push(q) }) as unknown as Sql;
    extra.push({ end: () => sql.end() });
    const store = new PostgresBacklogStore({ sql, log: silentLogger, clock: () => now });
    const { item: it } = await store.upsert(item(), { actor: "a" });
    await store.setStatus(it.id, "done", { actor: "a" });
    now = new Date("2026-12-01T00:00:00.000Z");
    queries.length = 0;
    expect(await store.cleanup(30, now, { dryRun: true })).toBe(1);
    expect(queries.map((q) => q.trim().split(/\s+/)[0])).toEqual(["select"]);
    queries.length = 0;
    expect(await store.cleanup(30)).toBe(1);
    expect(queries.map((q) => q.replace(/\s+/g, " ").trim())).toEqual([
      "delete from backlog_items where status in ('done', 'canceled') and updated_at < $1::timestamptz",
    ]);
    const [row] = await db.sql<{ n: number }[]>`select count(*)::int as n from backlog_events`;
    expect(row!.n).toBe(0);
  });
});
