/**
 * /metrics for alerts: the counts every backend gives (memory, JSONL, Postgres agree, edges of overdue and
 * due soon), the run ledger's job statistics on every ledger, two replicas over one Postgres reporting the
 * same series, and one snapshot per cache period however many scrapes.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { countItems } from "../../lib/alerting/counts.ts";
import { isDueSoon } from "../../lib/alerting/due.ts";
import { takeSnapshot, type MetricsSnapshot } from "../../lib/alerting/snapshot.ts";
import { attentionSource } from "../../lib/alerting/source.ts";
import { resolvePgConfig } from "../../lib/pg/db.ts";
import { createMetrics } from "../../lib/http/metrics.ts";
import { silentLogger } from "../../lib/core/log.ts";
import { JsonlRunLedger } from "../../lib/scheduler/ledger-jsonl.ts";
import { MemoryRunLedger } from "../../lib/scheduler/ledger-open.ts";
import { PostgresRunLedger } from "../../lib/scheduler/ledger-postgres.ts";
import { NOT_RUN, type RunLedger } from "../../lib/scheduler/ledger.ts";
import { JsonlBacklogStore } from "../../lib/store/jsonl/store.ts";
import { MemoryBacklogStore } from "../../lib/store/memory.ts";
import { PostgresBacklogStore } from "../../lib/store/postgres/store.ts";
import type { BacklogStore, Status, UpsertInput } from "../../lib/store/types.ts";
import { freshDatabase, type TestDb } from "../helpers/pg.ts";

const NOW = new Date("2026-11-23T10:00:00.000Z"); // today = 2026-11-23
const dirs: string[] = [];
const dbs: TestDb[] = [];
const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of closers) await c();
  for (const d of dbs) await d.drop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), "bb-alert-metrics-"));
  dirs.push(d);
  return d;
};

async function openStores(): Promise<Record<string, BacklogStore>> {
  const db = await freshDatabase({ migrated: true });
  dbs.push(db);
  const pg = await PostgresBacklogStore.open({ config: resolvePgConfig({ dsn: db.dsn }, {})!, clock: () => NOW, log: silentLogger });
  const jsonl = new JsonlBacklogStore({ dir: tmp(), clock: () => NOW, log: silentLogger });
  const memory = new MemoryBacklogStore({ clock: () => NOW });
  closers.push(() => pg.close(), () => jsonl.close());
  return { memory, jsonl, postgres: pg };
}

let n = 0;
const item = (over: Partial<UpsertInput> & { status?: Status }): UpsertInput => ({
  env: "prod",
  service: `svc-${n % 3}`,
  category: "security",
  title: `item ${n}`,
  priority: "P1",
  dedupe_key: `k:${n++}`,
  owner: "team-a",
  due_date: null,
  ...over,
});

/** The edges: yesterday is overdue, today and today+3 are due soon, today+4 is neither; closed items never count. */
const EDGE_ITEMS: UpsertInput[] = [
  item({ due_date: "2026-11-22", priority: "P0" }), // overdue
  item({ due_date: "2026-11-01", priority: "P0", status: "blocked" }), // overdue
  item({ due_date: "2026-11-22", priority: "P0", status: "done" }), // closed: nothing
  item({ due_date: "2026-11-23", priority: "P1" }), // due soon (today)
  item({ due_date: "2026-11-26", priority: "P1", status: "in_progress" }), // due soon (edge)
  item({ due_date: "2026-11-27", priority: "P1" }), // beyond the horizon
  item({ due_date: "2026-11-25", priority: "P2", status: "canceled" }), // closed
  item({ due_date: null, priority: "P3" }),
  item({ env: "staging", due_date: "2026-11-20", priority: "P2" }), // overdue, staging
];

describe("alert counts", () => {
  test("due soon is [today, today + warn_days] and unfinished; overdue is before today", () => {
    expect(isDueSoon({ status: "open", due_date: "2026-11-23" }, "2026-11-23", 3)).toBe(true);
    expect(isDueSoon({ status: "open", due_date: "2026-11-26" }, "2026-11-23", 3)).toBe(true);
    expect(isDueSoon({ status: "open", due_date: "2026-11-27" }, "2026-11-23", 3)).toBe(false);
    expect(isDueSoon({ status: "open", due_date: "2026-11-22" }, "2026-11-23", 3)).toBe(false);
    expect(isDueSoon({ status: "done", due_date: "2026-11-24" }, "2026-11-23", 3)).toBe(false);
    expect(isDueSoon({ status: "open", due_date: "2026-11-23" }, "2026-11-23", 0)).toBe(true);
  });

  test("memory, JSONL and Postgres give the same counts, with the edges where they belong", async () => {
    const stores = await openStores();
    for (const s of Object.values(stores)) {
      for (const it of EDGE_ITEMS) {
        const { status, ...rest } = it as UpsertInput & { status?: Status };
        const r = await s.upsert(rest, { actor: "t" });
        if (status) await s.setStatus(r.item.id, status, { actor: "t" });
      }
    }
    const results = await Promise.all(Object.values(stores).map((s) => attentionSource(s).counts(NOW, 3, ["prod", "staging", "dev"])));
    for (const r of results) expect(r).toEqual(results[0]!);
    const prod = results[0]!.envs.prod!;
    expect(prod.overdue).toEqual({ P0: 2, P1: 0, P2: 0, P3: 0 });
    expect(prod.due_soon).toEqual({ P0: 0, P1: 2, P2: 0, P3: 0 });
    expect(prod.items.done.P0).toBe(1);
    expect(prod.items.open.P1).toBe(2);
    expect(results[0]!.envs.staging!.overdue.P2).toBe(1);
    expect(results[0]!.envs.dev!.items.open.P0).toBe(0); // listed envs are present even when empty
    // the same as folding the items in memory
    const all = await stores.memory!.list({ limit: 1000 });
    expect(countItems(all.items, NOW, 3, ["prod", "staging", "dev"])).toEqual(results[0]!);
    // the notifier's items: overdue + due soon only, every backend the same ids
    const ids = await Promise.all(Object.values(stores).map(async (s) => (await attentionSource(s).attentionItems(NOW, 3)).map((i) => `${i.env}:${i.title}`)));
    for (const x of ids) expect(x).toEqual(ids[0]!);
    expect(ids[0]!.length).toBe(5);
  });
});

describe("job statistics from the run ledger", () => {
  async function fill(ledger: RunLedger) {
    const at = (h: number) => new Date(NOW.getTime() - h * 3_600_000);
    for (const [h, status] of [[3, "success"], [2, "error"], [1, "success"]] as const) {
      const c = await ledger.claim("hourly", at(h).toISOString(), "t", at(h));
      if (c.claimed) await ledger.finish(c.run.run_id, { status }, new Date(at(h).getTime() + 5000));
    }
    await ledger.claim("hourly", NOW.toISOString(), "t", NOW); // still running
    const d = await ledger.claim("daily", at(30).toISOString(), "t", at(30));
    if (d.claimed) await ledger.finish(d.run.run_id, { status: "error", error: "boom" }, at(30));
    // never finished: started 2 h ago (stuck at NOW) and 29 min ago (not yet)
    await ledger.claim("weekly", at(2).toISOString(), "t", at(2));
    await ledger.claim("weekly", at(29 / 60).toISOString(), "t", at(29 / 60));
    // A claim refused before anything ran (NOT_RUN) after a failure, and after a success: no run, either way.
    for (const [job, before] of [["failing", "error"], ["fine", "success"]] as const) {
      const ran = await ledger.claim(job, at(3).toISOString(), "t", at(3));
      if (ran.claimed) await ledger.finish(ran.run.run_id, { status: before, ...(before === "error" ? { error: "boom" } : {}) }, at(3));
      const refused = await ledger.claim(job, at(1).toISOString(), "t", at(1));
      if (refused.claimed) await ledger.finish(refused.run.run_id, { status: "error", error: `${NOT_RUN}Postgres already has this minute` }, at(1));
    }
  }

  test("memory, JSONL and Postgres ledgers report the same per-job numbers", async () => {
    const db = await freshDatabase({ migrated: true });
    dbs.push(db);
    const ledgers: RunLedger[] = [new MemoryRunLedger(), new JsonlRunLedger(tmp()), new PostgresRunLedger(db.sql)];
    const stats = [];
    for (const l of ledgers) {
      await fill(l);
      stats.push(Object.fromEntries(await l.stats(NOW)));
    }
    for (const s of stats) expect(s).toEqual(stats[0]!);
    expect(stats[0]!.hourly).toEqual({ job: "hourly", runs: { running: 1, success: 2, error: 1 }, stuck: 0, last_run_at: NOW.toISOString(), last_success_at: "2026-11-23T09:00:05.000Z", last_failed: 0 });
    expect(stats[0]!.daily).toEqual({ job: "daily", runs: { running: 0, success: 0, error: 1 }, stuck: 0, last_run_at: "2026-11-22T04:00:00.000Z", last_success_at: null, last_failed: 1 });
    expect(stats[0]!.failing).toMatchObject({ runs: { error: 2 }, last_failed: 1 });
    expect(stats[0]!.fine).toMatchObject({ runs: { success: 1, error: 1 }, last_failed: 0 });
    expect(stats[0]!.weekly).toMatchObject({ runs: { running: 2, success: 0, error: 0 }, stuck: 0 }); // its latest run is 29 min old
    // the stuck run is the latest: a job whose only run started 2 h ago
    for (const l of ledgers) await l.claim("monthly", new Date(NOW.getTime() - 7_200_000).toISOString(), "t", new Date(NOW.getTime() - 7_200_000));
    for (const l of ledgers) expect((await l.stats(NOW)).get("monthly")).toMatchObject({ runs: { running: 1 }, stuck: 1 });
  });
});

function gaugeLines(text: string): string[] {
  return text.split("\n").filter((l) => /^backlog_(items|overdue|due_soon|store|job)/.test(l));
}

describe("scrapes", () => {
  test("two replicas over one Postgres store and ledger report identical series", async () => {
    const db = await freshDatabase({ migrated: true });
    dbs.push(db);
    const replicas = [0, 1].map(() => new PostgresBacklogStore({ config: resolvePgConfig({ dsn: db.dsn }, {})!, clock: () => NOW, log: silentLogger }));
    closers.push(...replicas.map((r) => () => r.close()));
    await replicas[0]!.upsert(item({ due_date: "2026-11-20", priority: "P0" }), { actor: "t" });
    await replicas[1]!.upsert(item({ due_date: "2026-11-24", priority: "P2" }), { actor: "t" });
    const jobs = [{ id: "hourly", schedule: "0 * * * *", catchUpMs: 0 }];
    const ledger = new PostgresRunLedger(db.sql);
    const c = await ledger.claim("hourly", "2026-11-23T09:00:00.000Z", "replica-0", NOW);
    if (c.claimed) await ledger.finish(c.run.run_id, { status: "success" }, NOW);
    const texts = await Promise.all(
      replicas.map((store) =>
        createMetrics((now) => takeSnapshot({ source: attentionSource(store), health: () => store.health(), ledger: new PostgresRunLedger(store.sql), jobs, envs: ["prod"], warnDays: 3 }, now), { clock: () => NOW })
          .registry.metrics(),
      ),
    );
    expect(gaugeLines(texts[0]!)).toEqual(gaugeLines(texts[1]!));
    const t = texts[0]!;
    expect(t).toContain('backlog_overdue_items{env="prod",priority="P0"} 1');
    expect(t).toContain('backlog_due_soon_items{env="prod",priority="P2"} 1');
    expect(t).toContain('backlog_items{env="prod",status="open",priority="P0"} 1');
    expect(t).toContain("backlog_store_degraded 0");
    expect(t).toContain("backlog_store_replay_quarantined 0");
    expect(t).toContain(`backlog_job_last_success_timestamp_seconds{task="hourly"} ${NOW.getTime() / 1000}`);
    expect(t).toContain(`backlog_job_last_run_timestamp_seconds{task="hourly"} ${Date.parse("2026-11-23T09:00:00Z") / 1000}`);
    expect(t).toContain(`backlog_job_previous_fire_timestamp_seconds{task="hourly"} ${Date.parse("2026-11-23T10:00:00Z") / 1000}`);
    expect(t).toContain(`backlog_job_next_fire_timestamp_seconds{task="hourly"} ${Date.parse("2026-11-23T11:00:00Z") / 1000}`);
    expect(t).toContain('backlog_job_runs{task="hourly",status="success"} 1');
    expect(t).toContain('backlog_job_catch_up_window_seconds{task="hourly"} 0');
  });

  test("previous and next fire move exactly at the fire (the fires are remembered between snapshots)", async () => {
    const store = new MemoryBacklogStore({ clock: () => NOW });
    const deps = { source: attentionSource(store), health: () => store.health(), ledger: new MemoryRunLedger(), jobs: [{ id: "hourly", schedule: "0 * * * *", catchUpMs: 0 }], envs: [], warnDays: 3 };
    const fires = async (iso: string) => {
      const j = (await takeSnapshot(deps, new Date(iso))).jobs[0]!;
      return [j.previous_fire, j.next_fire].map((x) => new Date(x! * 1000).toISOString().slice(11, 16));
    };
    expect(await fires("2026-11-23T10:30:00Z")).toEqual(["10:00", "11:00"]);
    expect(await fires("2026-11-23T10:59:59.999Z")).toEqual(["10:00", "11:00"]);
    expect(await fires("2026-11-23T11:00:00Z")).toEqual(["11:00", "12:00"]);
    expect(await fires("2026-11-23T09:15:00Z")).toEqual(["09:00", "10:00"]); // a clock going back is recomputed too
  });

  test("one snapshot per cache period, shared by concurrent scrapes; a failed one is not kept", async () => {
    let calls = 0;
    let fail = false;
    const empty: MetricsSnapshot = { counts: { today: "2026-11-23", warn_days: 3, envs: {} }, store: { degraded: true, quarantined: 2 }, jobs: [] };
    const m = createMetrics(
      async () => {
        calls++;
        if (fail) throw new Error("store down");
        return empty;
      },
      { cacheMs: 60_000 },
    );
    const [a, b] = await Promise.all([m.registry.metrics(), m.registry.metrics()]);
    await m.registry.metrics();
    expect(calls).toBe(1);
    expect(a).toEqual(b);
    expect(a).toContain("backlog_store_degraded 1");
    expect(a).toContain("backlog_store_replay_quarantined 2");
    const m2 = createMetrics(async () => {
      calls++;
      if (fail) throw new Error("store down");
      return empty;
    }, { cacheMs: 60_000 });
    fail = true;
    calls = 0;
    await expect(m2.registry.metrics()).rejects.toThrow("store down");
    fail = false;
    await m2.registry.metrics();
    expect(calls).toBe(2);
  });
});
