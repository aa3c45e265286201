/**
 * AutoBacklogStore against a PRIVATE Postgres cluster that the tests stop (pause) and start (resume):
 * fallback to JSONL with the runbook's log lines, refusal of Postgres-only writes, recovery with
 * replay (every outage write in Postgres once), restarts that replay nothing twice, a lost ledger,
 * a query killed mid-flight, and the advisory lock that keeps replays from running side by side.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { resolvePgConfig, type Sql } from "../../lib/db.ts";
import { createLogger, type Logger } from "../../lib/log.ts";
import { loadMigrations, migrate } from "../../lib/migrate.ts";
import { AutoBacklogStore, USING_JSONL, USING_POSTGRES } from "../../lib/store/auto.ts";
import { LEDGER_FILE } from "../../lib/store/auto-replay.ts";
import { openStore } from "../../lib/store/index.ts";
import { startCluster, type Cluster } from "../helpers/pg-cluster.ts";
import { REPO, runScript } from "../helpers/run.ts";
import { item } from "./contract.ts";

// Hooks too: starting the private cluster (initdb) can take longer than bun's default 5 s.
setDefaultTimeout(60_000);

let cluster: Cluster;
const cleanups: (() => Promise<void> | void)[] = [];
beforeAll(async () => {
  cluster = await startCluster();
});
afterAll(async () => {
  resume();
  for (const c of cleanups.reverse()) await c();
  cluster?.stop();
});

let paused = false;
/**
 * Stops the server (immediate mode: like a crash). The cluster runs with synchronous_commit=off, so a
 * checkpoint first makes sure commits acknowledged before the "outage" are on disk when it returns.
 */
const pause = async () => {
  const admin = postgres(cluster.dsn, { max: 1, onnotice: () => {} });
  await admin`checkpoint`;
  await admin.end();
  cluster.pause();
  paused = true;
};
/** Starts the server again; a no-op when it runs (so a failed test cannot leave it down for the next). */
const resume = () => {
  if (paused) cluster.resume();
  paused = false;
};

beforeEach(() => resume());

/** Each test stops and starts a server and waits for retries: more than bun's default 5 s. */
const TEST_MS = 60_000;

let dbCounter = 0;
/** A migrated database on the private cluster; `sql` is the test's own view of it. */
async function database(): Promise<{ dsn: string; sql: Sql }> {
  const name = `auto_${dbCounter++}`;
  const admin = postgres(cluster.dsn, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = new URL(cluster.dsn);
  url.pathname = "/" + name;
  const dsn = url.toString();
  const sql = postgres(dsn, { max: 2, onnotice: () => {} }) as unknown as Sql;
  await migrate(sql, await loadMigrations());
  cleanups.push(() => sql.end({ timeout: 1 }));
  return { dsn, sql };
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "bb-auto-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function capture(): { log: Logger; lines: { level: string; event: string; [k: string]: unknown }[] } {
  const lines: { level: string; event: string }[] = [];
  return { lines, log: createLogger({ level: "debug", write: (l) => lines.push(JSON.parse(l)) }) };
}

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const config = (dsn: string) => resolvePgConfig({ dsn, connectTimeoutSeconds: 2 }, {})!;

async function counts(sql: Sql) {
  const [row] = await sql<{ items: number; events: number; distinct_events: number }[]>`
    select (select count(*)::int from backlog_items) as items,
           (select count(*)::int from backlog_events) as events,
           (select count(distinct (item_id, type, ts, message))::int from backlog_events) as distinct_events`;
  return row!;
}

describe("AutoBacklogStore", () => {
  test("outage: falls back to JSONL, refuses Postgres-only writes, recovers and replays each write once", async () => {
    const { dsn, sql } = await database();
    const dir = tempDir();
    const { log, lines } = capture();
    const store = await AutoBacklogStore.open({ pg: config(dsn), dir, retrySeconds: 1, log });
    expect(store.name).toBe("PostgresBacklogStore");
    expect(lines.filter((l) => l.event === USING_POSTGRES && l.level === "info")).toHaveLength(1);

    const pgOnly = (await store.upsert(item({ dedupe_key: "pg-only" }), { actor: "gen" })).item;
    const sharedA = (await store.upsert(item({ dedupe_key: "shared-a" }), { actor: "gen" })).item;
    await store.setStatus(sharedA.id, "in_progress", { actor: "bob" });
    const sharedB = (await store.upsert(item({ dedupe_key: "shared-b" }), { actor: "gen" })).item;

    await pause();
    // The store still believes in Postgres: this read fails mid-flight and is answered by JSONL.
    expect(await store.get(pgOnly.id)).toBeNull();
    expect(store.name).toBe("JsonlBacklogStore");
    const warn = lines.find((l) => l.event === USING_JSONL)!;
    expect(warn.level).toBe("warn");
    expect(warn.degraded).toBe(true);
    expect(String(warn.reason)).not.toBe("");
    expect(JSON.stringify(lines)).not.toContain("test-secret-pw");
    expect(await store.health()).toMatchObject({ backend: "JsonlBacklogStore", degraded: true });

    const o1 = (await store.upsert(item({ dedupe_key: "outage-1", title: "made during the outage" }), { actor: "gen" })).item;
    const o1b = await store.upsert(item({ dedupe_key: "outage-1", title: "renamed during the outage" }), { actor: "gen" });
    expect(o1b).toMatchObject({ created: false, changed: true });
    await store.setStatus(o1.id, "blocked", { actor: "carol", message: "waiting on vendor" });
    await store.addComment(o1.id, "vendor ticket 42", { actor: "carol" });
    // Keys Postgres has but JSONL does not: the fallback makes its own copy.
    await store.upsert(item({ dedupe_key: "shared-a", title: "shared-a refreshed", owner: "team-generator", tags: undefined }), { actor: "gen" });
    const bCopy = (await store.upsert(item({ dedupe_key: "shared-b" }), { actor: "gen" })).item;
    await store.upsert(item({ dedupe_key: "shared-b", owner: "team-night" }), { actor: "dave" }); // explicit owner change
    await store.setStatus(bCopy.id, "done", { actor: "dave" });

    const refused = await store.setStatus(pgOnly.id, "done", { actor: "erin" }).catch((e) => e);
    expect(refused.code).toBe("degraded");
    expect(refused.status).toBe(503);
    expect(refused.message).toBe(`store degraded: Postgres is unavailable and item ${pgOnly.id} is only in Postgres; retry when readyz reports ready`);
    await expect(store.addComment(pgOnly.id, "hello", { actor: "erin" })).rejects.toMatchObject({ code: "degraded" });
    expect((await store.list()).total).toBe(3);

    resume();
    await waitFor("the switch back to Postgres", () => store.name === "PostgresBacklogStore");
    expect(lines.filter((l) => l.event === USING_POSTGRES)).toHaveLength(2);
    expect(await store.health()).toMatchObject({ backend: "PostgresBacklogStore", degraded: false });

    // Every item once, by dedupe_key; outage-only items keep their ids.
    const rows = await sql<{ id: string; dedupe_key: string; title: string; status: string; owner: string; tags: string[] }[]>`
      select id, dedupe_key, title, status, owner, tags from backlog_items order by dedupe_key`;
    expect(rows.map((r) => r.dedupe_key)).toEqual(["outage-1", "pg-only", "shared-a", "shared-b"]);
    const by = Object.fromEntries(rows.map((r) => [r.dedupe_key, r]));
    expect(by["outage-1"]).toMatchObject({ id: o1.id, title: "renamed during the outage", status: "blocked" });
    expect(by["pg-only"]).toMatchObject({ id: pgOnly.id, status: "open" }); // the refused write did not happen
    expect(by["shared-a"]).toMatchObject({ id: sharedA.id, title: "shared-a refreshed", status: "in_progress", owner: "team-edge", tags: ["auto"] });
    expect(by["shared-b"]).toMatchObject({ id: sharedB.id, status: "done", owner: "team-night" });
    // Events: outage history re-pointed to the surviving ids, none twice.
    // (Sorted: events written within one millisecond have no defined order, see docs/storage.md.)
    expect((await store.events(o1.id)).map((e) => e.type).sort()).toEqual(["commented", "created", "status_changed", "updated"]);
    expect((await store.events(sharedB.id)).map((e) => `${e.type}:${e.actor}`).sort()).toEqual([
      "created:gen", "created:gen", "owner_changed:dave", "status_changed:dave",
    ]);
    const after = await counts(sql);
    expect(after.events).toBe(after.distinct_events);
    await store.close();

    // A restart on the same directory replays nothing.
    const again = capture();
    const store2 = await AutoBacklogStore.open({ pg: config(dsn), dir, retrySeconds: 1, log: again.log });
    expect(store2.name).toBe("PostgresBacklogStore");
    expect(again.lines.filter((l) => l.event === "backlog_store_replayed")).toHaveLength(0);
    expect(await counts(sql)).toEqual(after);
    await store2.close();

    // Even with the ledger lost, a replay changes nothing: same rows, no event twice.
    unlinkSync(join(dir, LEDGER_FILE));
    const lost = capture();
    const store3 = await AutoBacklogStore.open({ pg: config(dsn), dir, retrySeconds: 1, log: lost.log });
    const replayed = lost.lines.find((l) => l.event === "backlog_store_replayed")!;
    expect(replayed).toMatchObject({ events: 0, inserted: 0, merged: 0 });
    expect(Number(replayed.duplicateEvents)).toBeGreaterThan(0);
    expect(await counts(sql)).toEqual(after);
    const rowsAgain = await sql`select id, dedupe_key, title, status, owner, tags, meta, updated_at from backlog_items order by dedupe_key`;
    expect(rowsAgain.length).toBe(4);
    expect(rowsAgain.map((r) => [r.id, r.status, r.owner, r.title])).toEqual(rows.map((r) => [r.id, r.status, r.owner, r.title]));
    await store3.close();
  }, TEST_MS);

  test("Postgres down from the start (configured through openStore and env): JSONL, degraded, then recovery", async () => {
    const { dsn, sql } = await database();
    const dir = tempDir();
    const { log, lines } = capture();
    await pause();
    try {
      const env = { BACKLOG_POSTGRES_DSN: dsn, BACKLOG_JSONL_DIR: dir, BACKLOG_PG_RETRY_SECONDS: "1", BACKLOG_PG_CONNECT_TIMEOUT: "2" };
      const store = await openStore({ log }, env);
      cleanups.push(() => store.close());
      expect(store).toBeInstanceOf(AutoBacklogStore);
      expect(store.name).toBe("JsonlBacklogStore");
      expect(lines.find((l) => l.event === USING_JSONL)).toMatchObject({ level: "warn", degraded: true, retry_seconds: 1 });
      expect(await store.health()).toMatchObject({ degraded: true });
      const made = (await store.upsert(item({ dedupe_key: "while-down" }), { actor: "gen" })).item;
      await new Promise((r) => setTimeout(r, 2500)); // a few failed retries: still JSONL, no error surfaced
      expect(store.name).toBe("JsonlBacklogStore");
      resume();
      // Keep writing while the store switches: every acknowledged write must end up in Postgres.
      const acked: string[] = [];
      for (let i = 0; store.name !== "PostgresBacklogStore"; i++) {
        if (i > 2000) throw new Error("no recovery after 2000 writes");
        await Promise.all([0, 1, 2].map(async (k) => {
          const key = `during-switch-${i}-${k}`;
          await store.upsert(item({ dedupe_key: key }), { actor: "gen" });
          acked.push(key);
        }));
        await new Promise((r) => setTimeout(r, 5));
      }
      expect(acked.length).toBeGreaterThan(0);
      const inPg = await sql<{ dedupe_key: string }[]>`select dedupe_key from backlog_items where dedupe_key like 'during-switch-%'`;
      expect(new Set(inPg.map((r) => r.dedupe_key))).toEqual(new Set(acked));
      const [row] = await sql<{ id: string }[]>`select id from backlog_items where dedupe_key = 'while-down'`;
      expect(row?.id).toBe(made.id);
      expect(await store.get(made.id)).toMatchObject({ dedupe_key: "while-down" });
    } finally {
      resume();
    }
  }, TEST_MS);

  test("a write killed mid-flight is retried on JSONL and lands in Postgres once after recovery", async () => {
    const { dsn, sql } = await database();
    const dir = tempDir();
    const { log, lines } = capture();
    const store = await AutoBacklogStore.open({ pg: config(dsn), dir, retrySeconds: 1, log });
    cleanups.push(() => store.close());
    const first = (await store.upsert(item({ dedupe_key: "contended" }), { actor: "gen" })).item;

    // Hold the row lock so the store's upsert waits inside its transaction, then kill its connection.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const locked = new Promise<void>((ready) => {
      void sql.begin(async (tx) => {
        await tx`select 1 from backlog_items where dedupe_key = 'contended' for update`;
        ready();
        await held;
      });
    });
    await locked;
    const pending = store.upsert(item({ dedupe_key: "contended", title: "retitled while contended" }), { actor: "gen" });
    await waitFor("the upsert to block on the lock", async () => {
      const [r] = await sql<{ n: number }[]>`
        select count(*)::int as n from pg_stat_activity where application_name = 'backlog-bridge' and wait_event_type = 'Lock'`;
      return r!.n > 0;
    });
    await sql`select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'backlog-bridge'`;
    const result = await pending; // answered by JSONL, not an error
    expect(result.item.title).toBe("retitled while contended");
    expect(lines.find((l) => l.event === USING_JSONL)).toMatchObject({ level: "warn", degraded: true });
    release();

    await waitFor("recovery", () => store.name === "PostgresBacklogStore");
    const rows = await sql<{ id: string; title: string }[]>`select id, title from backlog_items where dedupe_key = 'contended'`;
    expect([...rows]).toEqual([{ id: first.id, title: "retitled while contended" }]);
  }, TEST_MS);

  test("a comment retried on JSONL after an ambiguous failure is stored once, even if Postgres had committed it", async () => {
    const { dsn, sql } = await database();
    const dir = tempDir();
    const { log } = capture();
    await pause();
    const store = await AutoBacklogStore.open({ pg: config(dsn), dir, retrySeconds: 1, log });
    cleanups.push(() => store.close());
    // Made during an outage, so JSONL knows the id Postgres will have after the replay.
    const it = (await store.upsert(item({ dedupe_key: "commented" }), { actor: "gen" })).item;
    const batch = await store.upsertMany([item({ dedupe_key: "batch-1" }), item({ dedupe_key: "batch-1", title: "again" })], { actor: "gen" });
    expect(batch.map((r) => [r.created, r.item.title])).toEqual([[true, "Rotate gateway TLS keys"], [false, "again"]]);
    resume();
    await waitFor("recovery", () => store.name === "PostgresBacklogStore");

    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    await new Promise<void>((ready) => {
      void sql.begin(async (tx) => {
        await tx`select 1 from backlog_items where id = ${it.id} for update`;
        ready();
        await held;
      });
    });
    const pending = store.addComment(it.id, "written twice?", { actor: "erin" });
    await waitFor("the comment to block on the lock", async () => {
      const [r] = await sql<{ n: number }[]>`
        select count(*)::int as n from pg_stat_activity where application_name = 'backlog-bridge' and wait_event_type = 'Lock'`;
      return r!.n > 0;
    });
    await sql`select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'backlog-bridge'`;
    const ev = await pending;
    expect(store.name).toBe("JsonlBacklogStore");
    release();
    // As if Postgres had committed the comment before the connection died.
    await sql`insert into backlog_events (id, item_id, ts, type, actor, message) values (${ev.id}, ${it.id}, ${ev.ts}, 'commented', 'erin', ${ev.message})`;
    await waitFor("recovery", () => store.name === "PostgresBacklogStore");
    const comments = (await store.events(it.id)).filter((e) => e.type === "commented");
    expect(comments.map((e) => [e.id, e.message])).toEqual([[ev.id, "written twice?"]]);
    expect((await store.getByDedupeKey("batch-1"))?.title).toBe("again");
  }, TEST_MS);

  test("replays never run side by side: a held replay lock keeps the store on JSONL until released", async () => {
    const { dsn, sql } = await database();
    const dir = tempDir();
    const { log } = capture();
    await pause();
    const store = await AutoBacklogStore.open({ pg: config(dsn), dir, retrySeconds: 1, log });
    cleanups.push(() => store.close());
    await store.upsert(item({ dedupe_key: "queued" }), { actor: "gen" });
    resume();
    const holder = await sql.reserve();
    await holder`select pg_advisory_lock(hashtext('backlog-bridge:replay'))`;
    await new Promise((r) => setTimeout(r, 2500));
    expect(store.name).toBe("JsonlBacklogStore"); // connected, but waiting for the lock
    const [before] = await sql<{ n: number }[]>`select count(*)::int as n from backlog_items`;
    expect(before!.n).toBe(0);
    await holder`select pg_advisory_unlock(hashtext('backlog-bridge:replay'))`;
    holder.release();
    await waitFor("recovery", () => store.name === "PostgresBacklogStore");
    const [after] = await sql<{ n: number }[]>`select count(*)::int as n from backlog_items`;
    expect(after!.n).toBe(1);
  }, TEST_MS);

  test("the retry timer does not keep a process alive: a script on the fallback exits without close()", async () => {
    const dir = tempDir();
    const script = join(dir, "probe.ts");
    writeFileSync(
      script,
      `import { openStore } from ${JSON.stringify(join(REPO, "lib/store/index.ts"))};\n` +
        `const s = await openStore();\n` +
        `await s.upsert({ env: "dev", service: "s", category: "c", title: "t", priority: "P3", dedupe_key: "k" }, { actor: "x" });\n` +
        `console.error(JSON.stringify({ probe: s.name, health: await s.health() }));\n`,
    );
    const res = await runScript(script, [], {
      cwd: dir,
      timeoutMs: 30_000,
      env: { BACKLOG_POSTGRES_DSN: "postgresql://u:pw@127.0.0.1:1/x", BACKLOG_JSONL_DIR: join(dir, "data"), BACKLOG_PG_RETRY_SECONDS: "1", BACKLOG_PG_CONNECT_TIMEOUT: "2" },
    });
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(`"event":"${USING_JSONL}"`);
    expect(res.stderr).toContain('"probe":"JsonlBacklogStore"');
    expect(res.stderr).toContain('"degraded":true');
    expect(res.ms).toBeLessThan(20_000);
  }, TEST_MS);
});
