/**
 * AutoBacklogStore against a PRIVATE Postgres cluster that the tests stop (pause) and start (resume):
 * fallback to JSONL with the runbook's log lines, refusal of Postgres-only writes, recovery with
 * replay (every outage write in Postgres once), restarts that replay nothing twice, a lost ledger,
 * a query killed mid-flight, and the advisory lock that keeps replays from running side by side.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { copyFileSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Sql } from "../../lib/pg/db.ts";
import { AutoBacklogStore, USING_JSONL, USING_POSTGRES } from "../../lib/store/auto/store.ts";
import { JOURNAL_FILE } from "../../lib/store/auto/journal.ts";
import { openStore } from "../../lib/store/index.ts";
import { REPO, runScript } from "../helpers/run.ts";
import { autoHarness, capture, pgConfig, waitFor } from "./auto-harness.ts";
import { item } from "./contract.ts";
import { expectExit } from "../helpers/exit.ts";

// Hooks too: starting the private cluster (initdb) can take longer than bun's default 5 s.
setDefaultTimeout(60_000);

const { pause, resume, database, tempDir, cleanups } = autoHarness();
const config = pgConfig;

/** Each test stops and starts a server and waits for retries: more than bun's default 5 s. */
const TEST_MS = 60_000;

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
    // The store still believes in Postgres: this read fails mid-flight and is answered by JSONL, which
    // cannot know whether the item exists: degraded (503), not "no such item".
    await expect(store.get(pgOnly.id)).rejects.toMatchObject({ code: "degraded", status: 503 });
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
    expect(refused.message).toBe(`store degraded: Postgres is unavailable and item ${pgOnly.id} is not in the JSONL fallback (it may exist only in Postgres); retry when readyz reports ready`);
    await expect(store.addComment(pgOnly.id, "hello", { actor: "erin" })).rejects.toMatchObject({ code: "degraded" });
    expect((await store.list()).total).toBe(3);
    const journalCopy = join(tempDir(), "journal-copy.jsonl");
    copyFileSync(join(dir, JOURNAL_FILE), journalCopy);

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
    // Replayed as Postgres would have taken them: an upsert with an explicit owner changes the owner,
    // leaves status (in_progress) and the tags it did not send alone.
    expect(by["shared-a"]).toMatchObject({ id: sharedA.id, title: "shared-a refreshed", status: "in_progress", owner: "team-generator", tags: ["auto"] });
    expect(by["shared-b"]).toMatchObject({ id: sharedB.id, status: "done", owner: "team-night" });
    // Events: outage history re-pointed to the surviving ids, none twice.
    // (Sorted: events written within one millisecond have no defined order, see docs/storage.md.)
    expect((await store.events(o1.id)).map((e) => e.type).sort()).toEqual(["commented", "created", "status_changed", "updated"]);
    // The fallback's copy of shared-b was an ordinary upsert on replay: one `created`, and its id is an alias.
    expect((await store.events(sharedB.id)).map((e) => `${e.type}:${e.actor}`).sort()).toEqual(["created:gen", "owner_changed:dave", "status_changed:dave"]);
    expect(await store.get(bCopy.id)).toMatchObject({ id: sharedB.id, status: "done" });
    expect((await store.events(bCopy.id)).length).toBe(3);
    expect(existsSync(join(dir, JOURNAL_FILE))).toBe(false); // pruned after the full replay
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

    // A crash between Postgres' commit and the prune: the same journal is replayed again, changing nothing.
    copyFileSync(journalCopy, join(dir, JOURNAL_FILE));
    const lost = capture();
    const store3 = await AutoBacklogStore.open({ pg: config(dsn), dir, retrySeconds: 1, log: lost.log });
    const replayed = lost.lines.find((l) => l.event === "backlog_store_replayed")!;
    expect(replayed).toMatchObject({ applied: 0, quarantined: 0 });
    expect(Number(replayed.duplicates)).toBe(Number(replayed.ops));
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

  test("two processes replaying one journal at once apply each operation once, in order", async () => {
    const { dsn, sql } = await database();
    const dir = tempDir();
    await pause();
    const a = await AutoBacklogStore.open({ pg: config(dsn), dir, retrySeconds: 1, log: capture().log });
    const b = await AutoBacklogStore.open({ pg: config(dsn), dir, retrySeconds: 1, log: capture().log });
    cleanups.push(() => a.close(), () => b.close());
    const made = (await a.upsert(item({ dedupe_key: "shared-journal" }), { actor: "gen" })).item;
    for (let i = 0; i < 30; i++) {
      await (i % 2 ? a : b).setStatus(made.id, i % 3 ? "in_progress" : "blocked", { actor: `w${i}` });
      await (i % 2 ? b : a).addComment(made.id, `note ${i}`, { actor: `w${i}` });
    }
    await b.setStatus(made.id, "done", { actor: "last" });
    resume();
    await Promise.all([a.recover(), b.recover()]);
    expect([a.name, b.name]).toEqual(["PostgresBacklogStore", "PostgresBacklogStore"]);
    const [row] = await sql<{ status: string }[]>`select status from backlog_items where id = ${made.id}`;
    expect(row!.status).toBe("done"); // the last write wins: applied in journal order
    const [n] = await sql<{ comments: number; distinct: number; ops: number }[]>`
      select (select count(*)::int from backlog_events where type = 'commented') as comments,
             (select count(distinct message)::int from backlog_events where type = 'commented') as distinct,
             (select count(*)::int from backlog_replayed_ops) as ops`;
    expect(n).toEqual({ comments: 30, distinct: 30, ops: 62 });
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
    expectExit(res, 0);
    expect(res.stdout).toContain(`"event":"${USING_JSONL}"`);
    expect(res.stderr).toContain('"probe":"JsonlBacklogStore"');
    expect(res.stderr).toContain('"degraded":true');
    // A retry timer that kept the process alive would run until runScript kills it at timeoutMs, and
    // expectExit(res, 0) above fails then (exit code null): no wall-clock assertion needed.
  }, TEST_MS);
});
