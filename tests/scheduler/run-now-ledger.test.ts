/**
 * The manual slot on every run ledger (contract style): a run started by hand (source `manual:<actor>`)
 * and the cron fire of the same minute are both claimed, in either order; the fire still runs once; the
 * manual run is the job's last run and counts in the statistics. Memory, JSONL, Postgres, and auto both
 * serving (Postgres + JSONL) and on its fallback (Postgres out of reach: the documented JSONL claim).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { silentLogger } from "../../lib/core/log.ts";
import { resolvePgConfig } from "../../lib/pg/db.ts";
import type { RunLedger } from "../../lib/scheduler/ledger.ts";
import { JsonlRunLedger } from "../../lib/scheduler/ledger-jsonl.ts";
import { MemoryRunLedger, openRunLedger } from "../../lib/scheduler/ledger-open.ts";
import { PostgresRunLedger } from "../../lib/scheduler/ledger-postgres.ts";
import { AutoBacklogStore } from "../../lib/store/auto/store.ts";
import { freshDatabase, type TestDb } from "../helpers/pg.ts";
import { tempDir } from "../helpers/tmp.ts";

const dbs: TestDb[] = [];
const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of closers) await c();
  for (const d of dbs) await d.drop();
});

async function auto(reachable: boolean): Promise<RunLedger> {
  let dsn = "postgres://nobody:x@127.0.0.1:9/none";
  if (reachable) {
    const db = await freshDatabase({ migrated: true });
    dbs.push(db);
    dsn = db.dsn;
  }
  const store = await AutoBacklogStore.open({ pg: resolvePgConfig({ dsn, connectTimeoutSeconds: 5 }, {})!, dir: tempDir("bb-runnow-auto-"), retrySeconds: 3600, log: silentLogger });
  closers.push(() => store.close());
  expect(store.name).toBe(reachable ? "PostgresBacklogStore" : "JsonlBacklogStore");
  return openRunLedger(store, silentLogger);
}

const LEDGERS: [string, () => Promise<RunLedger>][] = [
  ["memory", async () => new MemoryRunLedger()],
  ["jsonl", async () => new JsonlRunLedger(tempDir("bb-runnow-jsonl-"), silentLogger)],
  [
    "postgres",
    async () => {
      const db = await freshDatabase({ migrated: true });
      dbs.push(db);
      return new PostgresRunLedger(db.sql);
    },
  ],
  ["auto (Postgres serving)", () => auto(true)],
  ["auto (Postgres out of reach: JSONL fallback)", () => auto(false)],
];

const FIRE = "2026-11-23T03:40:00.000Z";
const at = (iso: string) => new Date(iso);

test("two processes on one JSONL dir: two manual claims at once, one is claimed", async () => {
  const dir = tempDir("bb-runnow-jsonl2-");
  const one = new JsonlRunLedger(dir, silentLogger);
  const two = new JsonlRunLedger(dir, silentLogger);
  const out = await Promise.all([
    one.claim("daily_backlog_cleanup", "2026-11-23T03:40:12.345Z", "manual:alice", at("2026-11-23T03:40:12.345Z")),
    two.claim("daily_backlog_cleanup", "2026-11-23T03:40:12.346Z", "manual:bob", at("2026-11-23T03:40:12.346Z")),
  ]);
  expect(out.filter((c) => c.claimed)).toHaveLength(1);
});

describe.each(LEDGERS)("manual runs beside the cron minute: %s", (_name, make) => {
  test("a manual run at the fire's minute does not take it, nor the fire the manual run's", async () => {
    const ledger = await make();
    // manual first, at 03:40:00.000 exactly: its slot is 03:40:00.001
    const manual = await ledger.claim("daily_backlog_cleanup", FIRE, "manual:alice", at(FIRE));
    expect(manual).toMatchObject({ claimed: true, run: { scheduled_at: "2026-11-23T03:40:00.001Z", source: "manual:alice" } });
    const fire = await ledger.claim("daily_backlog_cleanup", FIRE, "in-process", at(FIRE));
    expect(fire).toMatchObject({ claimed: true, run: { scheduled_at: FIRE } });
    // the fire is still exactly once
    expect((await ledger.claim("daily_backlog_cleanup", "2026-11-23T03:40:30.000Z", "http:scheduler", at("2026-11-23T03:40:30.000Z"))).claimed).toBe(false);
    if (!manual.claimed || !fire.claimed) throw new Error("not claimed");
    // while they run, another manual run is refused (busyRun), naming a running one
    const refused = await ledger.claim("daily_backlog_cleanup", "2026-11-23T03:40:05.000Z", "manual:bob", at("2026-11-23T03:40:05.000Z"));
    expect(refused).toMatchObject({ claimed: false, existing: { status: "running" } });
    await ledger.finish(fire.run.run_id, { status: "success", result: { ok: 1 } }, at("2026-11-23T03:40:10.000Z"));
    await ledger.finish(manual.run.run_id, { status: "success" }, at("2026-11-23T03:40:10.000Z"));
    // the fire first, then a manual run in the same minute
    const later = await ledger.claim("daily_backlog_cleanup", "2026-11-23T03:40:12.345Z", "manual:bob", at("2026-11-23T03:40:12.345Z"));
    expect(later).toMatchObject({ claimed: true, run: { scheduled_at: "2026-11-23T03:40:12.345Z" } });
    if (!later.claimed) throw new Error("not claimed");
    const end = at("2026-11-23T03:41:00.000Z");
    await ledger.finish(later.run.run_id, { status: "error", error: "boom" }, end);
    // the latest run is the later manual one, with its actor in the source
    expect((await ledger.lastRuns()).get("daily_backlog_cleanup")).toMatchObject({ run_id: later.run.run_id, source: "manual:bob", status: "error", scheduled_at: "2026-11-23T03:40:12.345Z" });
    const stats = (await ledger.stats(end)).get("daily_backlog_cleanup")!;
    expect(stats).toMatchObject({ runs: { running: 0, success: 2, error: 1 }, stuck: 0, last_run_at: "2026-11-23T03:40:12.345Z" });
  });

  test("two manual claims at once (two replicas' run-now): one is claimed, the other finds it running; a fire is not refused", async () => {
    const ledger = await make();
    const J = "daily_backlog_cleanup";
    const [a, b] = await Promise.all([
      ledger.claim(J, "2026-11-23T03:40:12.345Z", "manual:alice", at("2026-11-23T03:40:12.345Z")),
      ledger.claim(J, "2026-11-23T03:40:12.346Z", "manual:bob", at("2026-11-23T03:40:12.346Z")),
    ]);
    const won = a.claimed ? a : b;
    const lost = a.claimed ? b : a;
    if (!won.claimed || lost.claimed) throw new Error(`expected one claim, got ${a.claimed} and ${b.claimed}`);
    expect(lost.existing).toMatchObject({ run_id: won.run.run_id, status: "running" });
    // the cron minute's fire still claims its own slot beside the running manual run
    expect((await ledger.claim(J, FIRE, "in-process", at(FIRE))).claimed).toBe(true);
    // a stuck manual run does not refuse the next
    expect((await ledger.claim(J, "2026-11-23T04:20:00.100Z", "manual:carol", at("2026-11-23T04:20:00.100Z"))).claimed).toBe(true);
  });

  test("runningRuns lists every running run of the job, also one behind a later manual slot", async () => {
    const ledger = await make();
    const manual = await ledger.claim("daily_backlog_cleanup", "2026-11-23T03:40:00.200Z", "manual:alice", at(FIRE));
    const fire = await ledger.claim("daily_backlog_cleanup", FIRE, "http:scheduler", at("2026-11-23T03:40:01.000Z"));
    const other = await ledger.claim("hourly_risk_snapshot", FIRE, "in-process", at(FIRE));
    if (!manual.claimed || !fire.claimed || !other.claimed) throw new Error("not claimed");
    await ledger.finish(manual.run.run_id, { status: "success" }, at("2026-11-23T03:40:00.500Z"));
    expect((await ledger.lastRuns()).get("daily_backlog_cleanup")?.run_id).toBe(manual.run.run_id);
    expect((await ledger.runningRuns("daily_backlog_cleanup")).map((r) => r.run_id)).toEqual([fire.run.run_id]);
    await ledger.finish(fire.run.run_id, { status: "success" }, at("2026-11-23T03:40:30.000Z"));
    expect(await ledger.runningRuns("daily_backlog_cleanup")).toEqual([]);
  });
});

test("auto: a run-now Postgres refused (the job runs elsewhere) is no run: not pushed to Postgres by the replay, not counted as failing", async () => {
  const db = await freshDatabase({ migrated: true });
  dbs.push(db);
  const store = await AutoBacklogStore.open({ pg: resolvePgConfig({ dsn: db.dsn, connectTimeoutSeconds: 5 }, {})!, dir: tempDir("bb-runnow-refused-"), retrySeconds: 3600, log: silentLogger });
  closers.push(() => store.close());
  const ledger = openRunLedger(store, silentLogger);
  const J = "daily_backlog_cleanup";
  // Another host's run-now of the job is running: Postgres has it, this host's JSONL does not.
  const elsewhere = await new PostgresRunLedger(db.sql).claim(J, "2026-11-23T03:40:12.345Z", "manual:alice", at("2026-11-23T03:40:12.345Z"));
  expect(elsewhere.claimed).toBe(true);
  const mine = await ledger.claim(J, "2026-11-23T03:41:00.000Z", "manual:bob", at("2026-11-23T03:41:00.000Z"));
  expect(mine).toMatchObject({ claimed: false, existing: { source: "manual:alice", status: "running" } });
  // The replay runs at the next recovery: after a connection loss (simulated), it pushes the JSONL runs.
  store.router.fallBack(store.serving!, Object.assign(new Error("test: connection reset"), { code: "ECONNRESET" }));
  expect(await store.recover()).toBe(true);
  const rows = await db.sql<{ source: string; status: string }[]>`select source, status from scheduler_runs where job = ${J} order by scheduled_at`;
  expect([...rows]).toEqual([{ source: "manual:alice", status: "running" }]);
  expect((await ledger.stats(at("2026-11-23T03:42:00.000Z"))).get(J)).toMatchObject({ last_failed: 0, runs: { running: 1, error: 0 } });
});
