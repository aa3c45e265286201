/**
 * Issue 14's cases on the default backend `auto`, each against a real Postgres that is stopped and
 * started mid-test: a no-op outage write still reaches Postgres, a Postgres-only id is 503 (not 404),
 * a bad record is quarantined instead of blocking recovery, writes racing the switch all arrive, ids
 * handed out during an outage stay valid, and readiness answers while a write waits on a stale lock.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { AutoBacklogStore } from "../../lib/store/auto/store.ts";
import { JOURNAL_FILE, QUARANTINE_FILE } from "../../lib/store/auto/journal.ts";
import { buildTestApp, auth } from "../http/harness.ts";
import { autoHarness, capture, pgConfig, waitFor } from "./auto-harness.ts";
import { item } from "./contract.ts";

setDefaultTimeout(60_000);
const { pause, resume, database, tempDir, cleanups } = autoHarness();

async function openAuto(dsn: string, dir: string, over: { lockStaleMs?: number } = {}) {
  const cap = capture();
  const store = await AutoBacklogStore.open({ pg: pgConfig(dsn), dir, retrySeconds: 1, log: cap.log, ...over });
  cleanups.push(() => store.close());
  return { store, lines: cap.lines };
}

describe("auto backend: issue 14 cases", () => {
  test("case 1: a status write that is a no-op on the stale JSONL copy still reaches Postgres", async () => {
    const { dsn, sql } = await database();
    const { store } = await openAuto(dsn, tempDir());
    const made = (await store.upsert(item({ dedupe_key: "case-1" }), { actor: "gen" })).item;
    await store.setStatus(made.id, "in_progress", { actor: "bob" });
    await pause();
    // JSONL has no copy: the upsert makes one with status open; then the caller sets open.
    const copy = await store.upsert(item({ dedupe_key: "case-1" }), { actor: "gen" });
    expect(store.name).toBe("JsonlBacklogStore");
    const answer = await store.setStatus(copy.item.id, "open", { actor: "carol" });
    expect(answer.status).toBe("open"); // acknowledged
    resume();
    await waitFor("recovery", () => store.recover());
    const [row] = await sql<{ status: string }[]>`select status from backlog_items where dedupe_key = 'case-1'`;
    expect(row!.status).toBe("open");
    const types = (await store.events(made.id)).map((e) => `${e.type}:${e.actor}`);
    expect(types).toEqual(["created:gen", "status_changed:bob", "status_changed:carol"]);
  });

  test("case 2: a Postgres-only id during an outage answers 503 store degraded over HTTP, never 404", async () => {
    const { dsn } = await database();
    const { store } = await openAuto(dsn, tempDir());
    const made = (await store.upsert(item({ dedupe_key: "case-2" }), { actor: "gen" })).item;
    await pause();
    const { app } = buildTestApp(store);
    const call = (action: string, params: object) =>
      app.request("/v1/tools/execute", { method: "POST", headers: { ...auth("writer"), "content-type": "application/json" }, body: JSON.stringify({ tool: "backlog_tool", action, ...params }) });
    for (const [action, params] of [
      ["set_status", { id: made.id, status: "done" }],
      ["add_comment", { id: made.id, message: "hi" }],
      ["get", { id: made.id }],
    ] as const) {
      const res = await call(action, params);
      expect({ action, status: res.status }).toEqual({ action, status: 503 });
      expect(((await res.json()) as { error: string }).error).toStartWith("store degraded: ");
    }
    resume();
  });

  test("case 4: an impossible date is a 400 on Postgres, and on the fallback it is quarantined at replay while the rest arrives", async () => {
    const { dsn, sql } = await database();
    const dir = tempDir();
    const { store, lines } = await openAuto(dsn, dir);
    const onPg = await store.upsert(item({ dedupe_key: "bad-date-pg", due_date: "2026-02-30" }), { actor: "gen" }).catch((e) => e);
    expect(onPg).toMatchObject({ code: "invalid_input", status: 400 });
    expect(onPg.message).toContain("due_date");
    await pause();
    await store.upsert(item({ dedupe_key: "before-bad" }), { actor: "gen" });
    // Refused at the boundary (one calendar-checked DateString) on the fallback too …
    await expect(store.upsert(item({ dedupe_key: "bad-date", due_date: "2026-02-30" }), { actor: "gen" })).rejects.toMatchObject({ code: "invalid_input" });
    // … but a journal written by an older version (whose date check was a regex) may hold one.
    const old = { op_id: "op_from_an_older_version", ts: "2026-11-23T10:00:00.000Z", actor: "gen", kind: "upsert", local_id: "bl_old0000000000", input: { ...item({ dedupe_key: "bad-date" }), due_date: "2026-02-30", source: "weekly_digest", description: "" } };
    appendFileSync(join(dir, JOURNAL_FILE), JSON.stringify(old) + "\n");
    await store.upsert(item({ dedupe_key: "after-bad" }), { actor: "gen" });
    resume();
    await waitFor("recovery", () => store.recover());
    const keys = (await sql<{ dedupe_key: string }[]>`select dedupe_key from backlog_items order by dedupe_key`).map((r) => r.dedupe_key);
    expect(keys).toEqual(["after-bad", "before-bad"]);
    expect(store.quarantined()).toBe(1);
    const q = readFileSync(join(dir, QUARANTINE_FILE), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(q).toHaveLength(1);
    expect(q[0].record).toMatchObject({ op_id: "op_from_an_older_version", kind: "upsert", input: { dedupe_key: "bad-date" } });
    expect(q[0].reason).toContain("due_date");
    expect(lines.find((l) => l.event === "backlog_replay_quarantined")).toMatchObject({ level: "warn", kind: "upsert", op_id: "op_from_an_older_version" });
    expect((await store.health()).detail).toContain("1 journal record(s) quarantined");
    expect(existsSync(join(dir, JOURNAL_FILE))).toBe(false);
  });

  test("case 6: writes acknowledged while the switch runs all reach Postgres (titles, statuses, comments)", async () => {
    const { dsn, sql } = await database();
    const { store } = await openAuto(dsn, tempDir());
    await pause();
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push((await store.upsert(item({ dedupe_key: `race-${i}` }), { actor: "gen" })).item.id);
    const last = new Map<string, { title: string; status: string; comments: number }>();
    const STATUSES = ["open", "in_progress", "blocked", "done"] as const;
    resume();
    const recovery = store.recover();
    let round = 0;
    // Six writers keep writing until the switch is done, and one round more.
    let afterSwitch = 2;
    while (afterSwitch > 0) {
      if (store.name === "PostgresBacklogStore") afterSwitch--;
      await Promise.all(
        ids.map(async (id, k) => {
          const title = `title ${round}-${k}`;
          const status = STATUSES[(round + k) % 4]!;
          await store.upsert(item({ dedupe_key: `race-${k}`, title }), { actor: "w" });
          await store.setStatus(id, status, { actor: "w" });
          await store.addComment(id, `c ${round}`, { actor: "w" });
          const prev = last.get(id);
          last.set(id, { title, status, comments: (prev?.comments ?? 0) + 1 });
        }),
      );
      round++;
      if (round > 3000) throw new Error("no recovery");
    }
    expect(await recovery).toBe(true);
    const rows = await sql<{ id: string; title: string; status: string; comments: number }[]>`
      select i.id, i.title, i.status, (select count(*)::int from backlog_events e where e.item_id = i.id and e.type = 'commented') as comments
        from backlog_items i`;
    expect(rows).toHaveLength(6);
    for (const r of rows) expect({ id: r.id, title: r.title, status: r.status, comments: r.comments }).toEqual({ id: r.id, ...last.get(r.id)! });
    const [created] = await sql<{ n: number }[]>`select count(*)::int as n from backlog_events where type = 'created'`;
    expect(created!.n).toBe(6);
  });

  test("case 7: an id handed out during an outage for a key Postgres has stays valid, with one created event", async () => {
    const { dsn, sql } = await database();
    const { store } = await openAuto(dsn, tempDir());
    const original = (await store.upsert(item({ dedupe_key: "case-7" }), { actor: "gen" })).item;
    await pause();
    const outage = await store.upsert(item({ dedupe_key: "case-7", title: "retitled in the outage" }), { actor: "gen" });
    expect(outage.created).toBe(true); // the fallback had no copy
    expect(outage.item.id).not.toBe(original.id);
    resume();
    await waitFor("recovery", () => store.recover());
    expect(await store.get(outage.item.id)).toMatchObject({ id: original.id, title: "retitled in the outage" });
    await store.setStatus(outage.item.id, "blocked", { actor: "dave" });
    await store.addComment(outage.item.id, "still valid", { actor: "dave" });
    const types = (await store.events(outage.item.id)).map((e) => e.type);
    expect(types).toEqual(["created", "updated", "status_changed", "commented"]);
    const [n] = await sql<{ n: number }[]>`select count(*)::int as n from backlog_items`;
    expect(n!.n).toBe(1);
  });

  test("case 8: readiness answers while a write waits on a stale JSONL lock", async () => {
    const { dsn } = await database();
    const dir = tempDir();
    await pause();
    const { store } = await openAuto(dsn, dir, { lockStaleMs: 4000 });
    await store.upsert(item({ dedupe_key: "case-8" }), { actor: "gen" });
    // A lock left by a killed process: taken over only once stale.
    mkdirSync(join(dir, ".lock"));
    let settled = false;
    const write = store.upsert(item({ dedupe_key: "case-8", title: "waits for the lock" }), { actor: "gen" }).finally(() => (settled = true));
    await new Promise((r) => setTimeout(r, 300));
    const { app } = buildTestApp(store);
    const res = await app.request("/readyz");
    expect(settled).toBe(false); // the write is still waiting on the lock …
    expect(res.status).toBe(200); // … and the probe answered anyway
    expect(await res.json()).toMatchObject({ ready: true, backend: "JsonlBacklogStore", degraded: true });
    await write;
    rmSync(join(dir, ".lock"), { recursive: true, force: true });
    resume();
  });
});
