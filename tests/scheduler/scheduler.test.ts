/** The in-process scheduler and the run ledgers: exactly once on Postgres and JSONL, catch-up, overrun. */
import { afterAll, describe, expect, test } from "bun:test";
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createLogger, silentLogger, type Logger } from "../../lib/core/log.ts";
import { parseCron } from "../../lib/scheduler/cron-file.ts";
import { scheduledMinute, type RunLedger } from "../../lib/scheduler/ledger.ts";
import { JsonlRunLedger } from "../../lib/scheduler/ledger-jsonl.ts";
import { MemoryRunLedger } from "../../lib/scheduler/ledger-open.ts";
import { PostgresRunLedger } from "../../lib/scheduler/ledger-postgres.ts";
import { createScheduler, firesAt, latestFire } from "../../lib/scheduler/scheduler.ts";
import { MemoryBacklogStore } from "../../lib/store/memory.ts";
import { createRegistry } from "../../lib/tools/dispatch.ts";
import { createToolContext, resolveToolPaths } from "../../lib/tools/index.ts";
import { countingTool } from "../helpers/counting-tool.ts";
import { freshDatabase, type TestDb } from "../helpers/pg.ts";
import { REPO, runScript } from "../helpers/run.ts";
import { tempDir } from "../helpers/tmp.ts";

const tmp = tempDir;


const JOBS_TEXT = [
  "0 * * * * backlog bun run ops/scripts/run_governance_job.ts --job hourly_count --tool test_tool --action count --params-json '{\"tag\":\"hourly\"}'",
  "40 3 * * * backlog bun run ops/scripts/run_governance_job.ts --job daily_count --tool test_tool --action count --params-json '{\"tag\":\"daily\"}'",
  "20 6 * * 1 backlog bun run ops/scripts/run_governance_job.ts --job weekly_count --tool test_tool --action count --params-json '{\"tag\":\"weekly\"}'",
].join("\n");

function scheduler(ledger: RunLedger, calls: string[], opts: { now?: () => Date; delayMs?: number; catchUpMs?: Record<string, number>; log?: Logger } = {}) {
  const store = new MemoryBacklogStore();
  return createScheduler({
    jobs: parseCron(JOBS_TEXT).jobs,
    catchUpMs: opts.catchUpMs,
    registry: createRegistry([countingTool(calls, opts.delayMs)]),
    ledger,
    toolContext: (id) => createToolContext({ store, paths: resolveToolPaths({}), agent: id.agent, entitlements: id.entitlements, log: silentLogger }),
    identity: { agent: "scheduler", entitlements: ["tools.backlog.admin"], authenticated: true },
    clock: opts.now,
    log: opts.log ?? silentLogger,
  });
}

describe("schedule maths (UTC)", () => {
  test("firesAt and latestFire", () => {
    expect(firesAt("20 6 * * 1", new Date("2026-11-23T06:20:30Z"))).toBe(true); // a Monday
    expect(firesAt("20 6 * * 1", new Date("2026-11-24T06:20:00Z"))).toBe(false);
    expect(latestFire("40 3 * * *", new Date("2026-11-23T05:00:00Z"))?.toISOString()).toBe("2026-11-23T03:40:00.000Z");
    expect(latestFire("20 6 * * 1", new Date("2026-11-23T05:00:00Z"))?.toISOString()).toBe("2026-11-16T06:20:00.000Z");
    // the fire's own minute counts (a timer callback that ran late, a restart during the fire minute)
    expect(latestFire("40 3 * * *", new Date("2026-11-23T03:40:00.000Z"))?.toISOString()).toBe("2026-11-23T03:40:00.000Z");
    expect(latestFire("40 3 * * *", new Date("2026-11-23T03:40:59.999Z"))?.toISOString()).toBe("2026-11-23T03:40:00.000Z");
    expect(latestFire("40 3 * * *", new Date("2026-11-23T03:39:59.999Z"))?.toISOString()).toBe("2026-11-22T03:40:00.000Z");
    expect(latestFire("0 * * * *", new Date("2026-11-23T07:01:10Z"))?.toISOString()).toBe("2026-11-23T07:00:00.000Z");
    expect(scheduledMinute(new Date("2026-11-23T06:20:59.999Z"))).toBe("2026-11-23T06:20:00.000Z");
  });
});

describe("exactly once", () => {
  const dbs: TestDb[] = [];
  afterAll(async () => {
    for (const d of dbs) await d.drop();
  });

  async function raceFor(makeLedger: () => Promise<{ ledger: RunLedger }>) {
    const calls: string[] = [];
    const at = new Date("2026-11-23T06:20:00Z"); // Monday: hourly? no (minute 20); weekly yes
    const a = scheduler((await makeLedger()).ledger, calls);
    const b = scheduler((await makeLedger()).ledger, calls);
    const runner = (await makeLedger()).ledger;
    const [ra, rb, rc] = await Promise.all([a.runDue(at), b.runDue(at), runner.claim("weekly_count", at.toISOString(), "http:scheduler", at)]);
    const outcomes = [...ra, ...rb];
    expect(outcomes).toHaveLength(2);
    const ran = outcomes.filter((o) => "status" in o && o.status === "success").length + (rc.claimed ? 1 : 0);
    expect(ran).toBe(1);
    expect(outcomes.filter((o) => "skipped" in o && o.skipped === "already ran").length).toBe(rc.claimed ? 2 : 1);
    expect(calls).toEqual(rc.claimed ? [] : ["weekly"]);
    // the same minute again, from anyone: already ran
    expect(await a.runDue(at)).toEqual([{ job: "weekly_count", scheduled_at: "2026-11-23T06:20:00.000Z", skipped: "already ran" }]);
    // the next fire runs
    const next = await b.runDue(new Date("2026-11-30T06:20:00Z"));
    expect(next[0]).toMatchObject({ status: "success" });
    const views = await a.jobs();
    expect(views.find((j) => j.id === "weekly_count")?.last_run).toMatchObject({ scheduled_at: "2026-11-30T06:20:00.000Z", status: "success" });
  }

  test("on Postgres: two schedulers and a runner claim for the same minute → one run", async () => {
    const d = await freshDatabase({ migrated: true });
    dbs.push(d);
    const { default: postgres } = await import("postgres");
    await raceFor(async () => ({ ledger: new PostgresRunLedger(postgres(d.dsn, { max: 2, onnotice: () => {} }) as never) }));
    const rows = await d.sql`select job, scheduled_at, status from scheduler_runs order by scheduled_at`;
    expect(rows.length).toBe(2);
  });

  test("on an un-migrated Postgres: the claim fails naming the migration, and nothing runs", async () => {
    const d = await freshDatabase({ migrated: false });
    dbs.push(d);
    const calls: string[] = [];
    const { default: postgres } = await import("postgres");
    const sql = postgres(d.dsn, { max: 1, onnotice: () => {} });
    try {
      const out = await scheduler(new PostgresRunLedger(sql as never), calls).runDue(new Date("2026-11-23T03:40:00Z"));
      expect(out).toEqual([expect.objectContaining({ job: "daily_count", status: "error", error: expect.stringContaining("the table scheduler_runs does not exist. Run the migrations (npx bun run migrate") })]);
      expect(calls).toEqual([]);
    } finally {
      await sql.end();
    }
  });

  test("on JSONL: two schedulers and a runner claim for the same minute → one run", async () => {
    const dir = tmp("bb-ledger-");
    await raceFor(async () => ({ ledger: new JsonlRunLedger(dir, silentLogger) }));
    const lines = readFileSync(join(dir, "scheduler_runs.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(new Set(lines.map((l) => l.run_id)).size).toBe(2);
  });

  test("on JSONL across processes: 4 processes claim the same minute, one wins", async () => {
    const dir = tmp("bb-ledger-proc-");
    const script = join(dir, "claim.ts");
    writeFileSync(
      script,
      `import { JsonlRunLedger } from ${JSON.stringify(join(REPO, "lib/scheduler/ledger-jsonl.ts"))};
       const r = await new JsonlRunLedger(process.argv[2]).claim("daily_count", "2026-11-23T03:40:00Z", "proc", new Date());
       console.log(JSON.stringify({ claimed: r.claimed }));`,
    );
    const results = await Promise.all([0, 1, 2, 3].map(() => runScript(script, [dir])));
    const claimed = results.map((r) => JSON.parse(r.stdout.trim()).claimed);
    expect(claimed.filter(Boolean)).toHaveLength(1);
  });

  test("on JSONL after a crashed writer: the torn last line is cut off, the next claim still counts", async () => {
    const dir = tmp("bb-ledger-torn-");
    const logs: { event: string }[] = [];
    const ledger = new JsonlRunLedger(dir, createLogger({ write: (l) => logs.push(JSON.parse(l)) }));
    const at = "2026-11-23T03:40:00.000Z";
    expect((await ledger.claim("hourly_count", "2026-11-23T03:00:00Z", "in-process", new Date(at))).claimed).toBe(true);
    appendFileSync(join(dir, "scheduler_runs.jsonl"), '{"run_id":"run_torn","job":"daily_co'); // killed mid-write
    const first = await ledger.claim("daily_count", at, "in-process", new Date(at));
    expect(first.claimed).toBe(true);
    // glued to the fragment, this claim would be unreadable and the minute claimable again
    expect((await ledger.claim("daily_count", at, "http:scheduler", new Date(at))).claimed).toBe(false);
    const lines = readFileSync(join(dir, "scheduler_runs.jsonl"), "utf8").split("\n").filter(Boolean);
    expect(lines.map((l) => JSON.parse(l).job)).toEqual(["hourly_count", "daily_count"]);
    expect(logs.map((l) => l.event)).toContain("backlog_jsonl_torn_line_repaired");
    if (first.claimed) await ledger.finish(first.run.run_id, { status: "success", result: { ok: 1 } }, new Date(at));
    expect((await ledger.lastRuns()).get("daily_count")).toMatchObject({ status: "success", result: { ok: 1 }, source: "in-process" });
  });

  test("on JSONL the file is compacted once long: old runs go, recent claims and each job's latest stay", async () => {
    const dir = tmp("bb-ledger-compact-");
    const logs: { event: string; runs_kept?: number }[] = [];
    const ledger = new JsonlRunLedger(dir, createLogger({ write: (l) => logs.push(JSON.parse(l)) }), { compactAtLines: 13, retainDays: 2 });
    const now = new Date("2026-11-23T06:00:00Z");
    const hoursAgo = (h: number) => new Date(now.getTime() - h * 3_600_000).toISOString();
    const claimAndFinish = async (job: string, at: string) => {
      const c = await ledger.claim(job, at, "in-process", now);
      if (!c.claimed) throw new Error(`expected to claim ${job} ${at}`);
      await ledger.finish(c.run.run_id, { status: "success" }, now);
    };
    await claimAndFinish("weekly_count", hoursAgo(24 * 7)); // old, but the job's latest run
    for (const h of [100, 99, 98]) await claimAndFinish("hourly_count", hoursAgo(h)); // old
    for (const h of [2, 1]) await claimAndFinish("hourly_count", hoursAgo(h)); // recent: 12 lines so far
    expect(logs.some((l) => l.event === "scheduler_runs_compacted")).toBe(false);
    const c = await ledger.claim("hourly_count", hoursAgo(0), "in-process", now); // the 13th line: compaction
    expect(c.claimed).toBe(true);
    expect(logs.find((l) => l.event === "scheduler_runs_compacted")).toMatchObject({ runs_kept: 4 });
    const lines = readFileSync(join(dir, "scheduler_runs.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.job, l.scheduled_at])).toEqual([
      ["weekly_count", hoursAgo(24 * 7)],
      ["hourly_count", hoursAgo(2)],
      ["hourly_count", hoursAgo(1)],
      ["hourly_count", hoursAgo(0)],
    ]);
    // after the rewrite: recent minutes are still taken, the open run can still finish
    expect((await ledger.claim("hourly_count", hoursAgo(1), "http:scheduler", now)).claimed).toBe(false);
    if (c.claimed) expect(await ledger.finish(c.run.run_id, { status: "error", error: "boom" }, now)).toMatchObject({ status: "error", error: "boom" });
    expect((await ledger.lastRuns()).get("weekly_count")?.scheduled_at).toBe(hoursAgo(24 * 7));
  });
});

describe("catch-up and overrun", () => {
  test("after downtime: the most recent missed fire within the window runs once; older or hourly ones never", async () => {
    const calls: string[] = [];
    const now = new Date("2026-11-23T05:00:00Z");
    const ledger = new MemoryRunLedger();
    const s = scheduler(ledger, calls, { now: () => now, catchUpMs: { hourly_count: 0, daily_count: 6 * 3_600_000, weekly_count: 12 * 3_600_000 } });
    const out = await s.catchUp(now);
    expect(out).toEqual([expect.objectContaining({ job: "daily_count", scheduled_at: "2026-11-23T03:40:00.000Z", status: "success" })]);
    expect(calls).toEqual(["daily"]); // weekly's last fire (Nov 16) is older than 12h; hourly never catches up
    expect(await s.catchUp(now)).toEqual([{ job: "daily_count", scheduled_at: "2026-11-23T03:40:00.000Z", skipped: "already ran" }]);
    const late = new Date("2026-11-23T10:00:00Z"); // 6h20m after 03:40: outside the window
    expect(await scheduler(new MemoryRunLedger(), calls, { catchUpMs: { daily_count: 6 * 3_600_000 } }).catchUp(late)).toEqual([]);
  });

  test("a restart during the fire minute catches that fire up (croner would wait for the next one)", async () => {
    const calls: string[] = [];
    const now = new Date("2026-11-23T03:40:30Z");
    const s = scheduler(new MemoryRunLedger(), calls, { now: () => now, catchUpMs: { hourly_count: 0, daily_count: 6 * 3_600_000 } });
    s.start(); // start() runs the catch-up in the background
    try {
      for (let i = 0; i < 1200 && calls.length === 0; i++) await new Promise((r) => setTimeout(r, 25));
      expect(calls).toEqual(["daily"]);
      expect((await s.jobs()).find((j) => j.id === "daily_count")?.last_run).toMatchObject({ scheduled_at: "2026-11-23T03:40:00.000Z", source: "catch-up" });
    } finally {
      await s.stop();
    }
  });

  test("the tool's outcome stands when recording it fails; the claim is kept", async () => {
    const d = await freshDatabase({ migrated: true });
    const { default: postgres } = await import("postgres");
    const sql = postgres(d.dsn, { max: 1, onnotice: () => {} });
    try {
      const calls: string[] = [];
      const logs: { event: string; error?: string }[] = [];
      const s = createScheduler({
        jobs: parseCron(JOBS_TEXT).jobs,
        registry: createRegistry([countingTool(calls, 300)]),
        ledger: new PostgresRunLedger(sql as never),
        toolContext: (id) => createToolContext({ store: new MemoryBacklogStore(), paths: resolveToolPaths({}), agent: id.agent, entitlements: id.entitlements, log: silentLogger }),
        identity: { agent: "scheduler", entitlements: ["tools.backlog.admin"], authenticated: true },
        log: createLogger({ write: (l) => logs.push(JSON.parse(l)) }),
      });
      const job = parseCron(JOBS_TEXT).jobs[1]!;
      const running = s.runJob(job, new Date("2026-11-23T03:40:00Z"));
      for (let i = 0; i < 3000 && calls.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      await sql.end(); // the ledger's connection is gone before the run ends
      expect(await running).toMatchObject({ job: "daily_count", status: "success", result: { counted: 1 } });
      expect(logs.find((l) => l.event === "scheduler: could not record the outcome")).toBeDefined();
      expect(logs.find((l) => l.event === "scheduler: job finished")).toMatchObject({ outcome: "success" });
      const rows = await d.sql`select status from scheduler_runs where job = 'daily_count'`;
      expect(rows.map((r) => r.status)).toEqual(["running"]); // claimed: nobody runs this minute again
    } finally {
      await sql.end().catch(() => {});
      await d.drop();
    }
  });

  test("a slow job is not started twice while it runs", async () => {
    const calls: string[] = [];
    const s = scheduler(new MemoryRunLedger(), calls, { delayMs: 300 });
    const job = parseCron(JOBS_TEXT).jobs[0]!;
    const [first, second] = await Promise.all([s.runJob(job, new Date("2026-11-23T05:00:00Z")), s.runJob(job, new Date("2026-11-23T06:00:00Z"))]);
    expect(first).toMatchObject({ status: "success" });
    expect(second).toEqual({ job: "hourly_count", scheduled_at: "2026-11-23T06:00:00.000Z", skipped: "still running" });
    expect(calls).toEqual(["hourly"]);
  });

  test("stop() waits for a running job, but not forever", async () => {
    const calls: string[] = [];
    const logs: { event: string; jobs?: string[] }[] = [];
    const job = parseCron(JOBS_TEXT).jobs[0]!;
    const s = scheduler(new MemoryRunLedger(), calls, { delayMs: 400, log: createLogger({ write: (l) => logs.push(JSON.parse(l)) }) });
    const running = s.runJob(job, new Date("2026-11-23T05:00:00Z"));
    await s.stop(50); // gives up on the 400 ms job
    expect(logs.find((l) => l.event === "scheduler: stopped with jobs still running")).toMatchObject({ jobs: ["hourly_count"] });
    expect(await running).toMatchObject({ status: "success" });
    const s2 = scheduler(new MemoryRunLedger(), calls, { delayMs: 100 });
    const done = s2.runJob(job, new Date("2026-11-23T05:00:00Z"));
    let finished = false;
    void done.then(() => (finished = true));
    await s2.stop(); // waits for the 100 ms job
    expect(finished).toBe(true);
  });

  test("claimMinute maps a late request onto the fire it is late for", () => {
    const s = scheduler(new MemoryRunLedger(), []);
    expect(s.claimMinute("daily_count", new Date("2026-11-23T03:47:12Z"))).toBe("2026-11-23T03:40:00.000Z");
    expect(s.claimMinute("hourly_count", new Date("2026-11-23T07:00:59Z"))).toBe("2026-11-23T07:00:00.000Z");
    // far from any fire (cron in local time): its own minute, never an old fire that already ran
    expect(s.claimMinute("daily_count", new Date("2026-11-23T05:40:00Z"))).toBe("2026-11-23T05:40:00.000Z");
    expect(s.claimMinute("daily_count", new Date("2026-11-23T03:50:00Z"))).toBe("2026-11-23T03:40:00.000Z"); // 10 min: still late
    expect(s.claimMinute("daily_count", new Date("2026-11-23T03:51:00Z"))).toBe("2026-11-23T03:51:00.000Z");
    expect(s.claimMinute("not_a_job", new Date("2026-11-23T03:47:12Z"))).toBe("2026-11-23T03:47:00.000Z");
  });

  test("jobs() lists schedule, next run in UTC and last run", async () => {
    const now = new Date("2026-11-23T05:00:00Z");
    const s = scheduler(new MemoryRunLedger(), [], { now: () => now });
    const views = await s.jobs();
    expect(views.map((j) => [j.id, j.next_run, j.last_run])).toEqual([
      ["hourly_count", "2026-11-23T06:00:00.000Z", null],
      ["daily_count", "2026-11-24T03:40:00.000Z", null],
      ["weekly_count", "2026-11-23T06:20:00.000Z", null],
    ]);
  });

  test("jobs() marks a run still `running` 30 min after it started as stuck (its owner is gone), not one younger", async () => {
    let now = new Date("2026-11-23T03:40:00Z");
    const ledger = new MemoryRunLedger();
    const s = scheduler(ledger, [], { now: () => now });
    const c = await ledger.claim("daily_count", now.toISOString(), "in-process", now); // never finished
    if (!c.claimed) throw new Error("first claim must win");
    now = new Date("2026-11-23T04:10:00Z");
    expect((await s.jobs()).find((j) => j.id === "daily_count")?.last_run).not.toHaveProperty("stuck");
    now = new Date("2026-11-23T04:11:00Z");
    const last = (await s.jobs()).find((j) => j.id === "daily_count")?.last_run;
    expect(last).toMatchObject({ status: "running" });
    expect(last?.stuck).toContain(`run ${c.run.run_id} has been running for 31 min`);
    expect(last?.stuck).toContain("run the job by hand");
    await ledger.finish(c.run.run_id, { status: "success" }, now);
    expect((await s.jobs()).find((j) => j.id === "daily_count")?.last_run).not.toHaveProperty("stuck");
  });
});
