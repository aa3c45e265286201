import { afterAll, describe, expect, test } from "bun:test";
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as v from "valibot";
import { createLogger, silentLogger } from "../lib/log.ts";
import { cronFileCheck, runChecks } from "../lib/scheduler/checks.ts";
import { diffCron, parseCron, renderCron, shellWords } from "../lib/scheduler/cron-file.ts";
import { renderCronJobs } from "../lib/scheduler/k8s-cronjobs.ts";
import { scheduledMinute, type RunLedger } from "../lib/scheduler/ledger.ts";
import { JsonlRunLedger } from "../lib/scheduler/ledger-jsonl.ts";
import { MemoryRunLedger } from "../lib/scheduler/ledger-open.ts";
import { PostgresRunLedger } from "../lib/scheduler/ledger-postgres.ts";
import { loadRegistry, parseRegistry } from "../lib/scheduler/registry.ts";
import { createScheduler, firesAt, latestFire } from "../lib/scheduler/scheduler.ts";
import { MemoryBacklogStore } from "../lib/store/memory.ts";
import { createRegistry } from "../lib/tools/dispatch.ts";
import { createToolContext, resolveToolPaths } from "../lib/tools/index.ts";
import { defineAction, type Tool } from "../lib/tools/types.ts";
import { freshDatabase, type TestDb } from "./helpers/pg.ts";
import { REPO, runScript } from "./helpers/run.ts";

const REGISTRY = join(REPO, "ops/task_registry.yml");
const CRON = join(REPO, "ops/cron/jobs.cron");
const tmp = (p: string) => mkdtempSync(join(tmpdir(), p));

describe("registry ↔ cron file drift", () => {
  test("the shipped files are in sync (bun run check exits 0)", async () => {
    const r = await runScript("scripts/check.ts");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("ok   cron file ops/cron/jobs.cron: 6 jobs match the registry");
    expect(r.stdout).toContain("ok   Kubernetes CronJobs ops/k8s/governance-cronjobs.yml: 6 jobs match the registry");
  });

  test("the cron file is exactly what render_cron.ts produces", () => {
    expect(readFileSync(CRON, "utf8")).toBe(renderCron(loadRegistry()));
  });

  test("an edited cron file fails the check with a readable diff, both directions", async () => {
    const dir = tmp("bb-cron-");
    const text = readFileSync(CRON, "utf8");
    const edited = text
      .replace("20 6 * * 1 backlog", "25 6 * * 1 backlog") // schedule
      .replace(`--params-json '{"env":"prod"}' >> /var/log/daarion/risk_digest.log`, `--params-json '{"env":"dev"}' >> /var/log/daarion/risk_digest.log`) // params
      .split("\n")
      .filter((l) => !l.includes("--job daily_backlog_cleanup")) // a job missing
      .join("\n")
      .concat(`\n5 5 * * * backlog bun run ops/scripts/run_governance_job.ts --job rogue_job --tool backlog_tool --action cleanup\n`);
    writeFileSync(join(dir, "jobs.cron"), edited);
    const r = await runScript("scripts/check.ts", ["--cron", join(dir, "jobs.cron")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('weekly_backlog_generate: schedule is "20 6 * * 1" in the registry but "25 6 * * 1" in the cron file');
    expect(r.stderr).toContain('daily_risk_digest: params is {"env":"prod"} in the registry but {"env":"dev"} in the cron file');
    expect(r.stderr).toContain("daily_backlog_cleanup: in the registry but missing from the cron file");
    expect(r.stderr).toMatch(/rogue_job: in the cron file \(line \d+\) but not in the registry/);
    expect(r.stderr).toContain("fix: bun run ops/scripts/render_cron.ts");
  });

  test("an edited registry fails against the shipped cron file (tool, action, new job)", () => {
    const reg = loadRegistry();
    reg[0] = { ...reg[0]!, tool: "other_tool", action: "other_action" };
    reg.push({ ...reg[1]!, id: "brand_new_job" });
    const problems = diffCron(reg, parseCron(readFileSync(CRON, "utf8")));
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining("hourly_risk_snapshot: tool is other_tool in the registry but risk_history_tool"),
        expect.stringContaining("hourly_risk_snapshot: action is other_action"),
        "brand_new_job: in the registry but missing from the cron file",
      ]),
    );
    const report = runChecks(REGISTRY, [cronFileCheck(CRON)]);
    expect(report.ok).toBe(true);
  });

  test("the Kubernetes CronJobs are exactly what render_cron.ts produces, and drift fails the check", async () => {
    const file = join(REPO, "ops/k8s/governance-cronjobs.yml");
    const text = readFileSync(file, "utf8");
    expect(text).toBe(renderCronJobs(loadRegistry()));
    const dir = tmp("bb-cronjobs-");
    const edited = text.replace("schedule: 20 6 * * 1", "schedule: 30 6 * * 1").replace("timeZone: UTC", "timeZone: Europe/Kyiv");
    expect(edited).not.toBe(text);
    writeFileSync(join(dir, "cj.yml"), edited.split("---\n").slice(0, -1).join("---\n"));
    const r = await runScript("scripts/check.ts", ["--cronjobs", join(dir, "cj.yml")]);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toContain("ok   cron file");
    expect(r.stderr).toContain('weekly_backlog_generate: schedule is "20 6 * * 1" in the registry but "30 6 * * 1" in CronJob governance-weekly-backlog-generate');
    expect(r.stderr).toContain('hourly_risk_snapshot: timeZone is "UTC" in the registry but "Europe/Kyiv"');
    expect(r.stderr).toContain("daily_backlog_cleanup: in the registry but no CronJob governance-daily-backlog-cleanup");
  });

  test("registry validation names the job and the field", () => {
    const good = { jobs: { a_job: { schedule: "0 * * * *", tool: "backlog_tool", action: "cleanup", entitlement: "tools.backlog.admin", log: "a.log", description: "x" } } };
    expect(parseRegistry(good)[0]).toMatchObject({ id: "a_job", params: {}, catchUpMs: 0, dry_run: false });
    const bad = (job: object) => () => parseRegistry({ jobs: { a_job: { ...good.jobs.a_job, ...job } } });
    expect(bad({ schedule: "61 * * * *" })).toThrow(/jobs.a_job.schedule: must be a 5-field cron expression/);
    expect(bad({ entitlement: "admin" })).toThrow(/jobs.a_job.entitlement: must look like tools/);
    expect(bad({ catch_up: "3 days" })).toThrow(/jobs.a_job.catch_up/);
    expect(bad({ typo: 1 })).toThrow(/typo/);
    expect(() => parseRegistry({ timezone: "Europe/Kyiv", jobs: good.jobs })).toThrow(/timezone: must be "UTC"/);
  });
});

describe("cron file parsing", () => {
  test("comments, env lines and quoted JSON params", () => {
    const text = [
      "# comment",
      "SHELL=/bin/bash",
      'ROUTER_URL="http://router:8000"',
      "",
      `*/5 * * * * backlog cd "$REPO_ROOT" && bun run ops/scripts/run_governance_job.ts --job j1 --tool t --action a --params-json '{"env":"prod","note":"it'\\''s fine"}' >> /var/log/daarion/j1.log 2>&1`,
      "   # indented comment",
      "0 1 * * 1-5 root bun run ops/scripts/run_governance_job.ts --job j2 --tool t --action b",
    ].join("\n");
    const f = parseCron(text);
    expect(f.env).toEqual({ SHELL: "/bin/bash", ROUTER_URL: "http://router:8000" });
    expect(f.jobs).toEqual([
      { id: "j1", schedule: "*/5 * * * *", user: "backlog", tool: "t", action: "a", params: { env: "prod", note: "it's fine" }, log: "j1.log", line: 5 },
      { id: "j2", schedule: "0 1 * * 1-5", user: "root", tool: "t", action: "b", params: {}, log: null, line: 7 },
    ]);
    expect(shellWords(`a 'b c' "d \\"e\\"" f\\ g`)).toEqual(["a", "b c", 'd "e"', "f g"]);
  });

  test("bad lines name the line and what is wrong", () => {
    const run = "bun run ops/scripts/run_governance_job.ts";
    const err = (line: string) => () => parseCron(`# x\n${line}`, "jobs.cron");
    expect(err(`@daily backlog ${run} --job j --tool t --action a`)).toThrow("jobs.cron line 2: @-schedules");
    expect(err(`0 25 * * * backlog ${run} --job j --tool t --action a`)).toThrow('jobs.cron line 2: invalid schedule "0 25 * * *"');
    expect(err(`0 * * * * backlog ${run} --tool t --action a`)).toThrow("jobs.cron line 2: the runner needs --job, --tool and --action");
    expect(err(`0 * * * * backlog ${run} --job j --tool t --action a --params-json '{bad'`)).toThrow("jobs.cron line 2: --params-json is not valid JSON");
    expect(err(`0 * * * * backlog ${run} --job j --tool t --action a --params-json '{"x":1}`)).toThrow("unterminated single quote");
    expect(err(`0 * * * * backlog echo hi there`)).toThrow("does not run ops/scripts/run_governance_job.ts");
    expect(err(`0 * * * *`)).toThrow("expected 5 schedule fields, a user and a command");
    expect(() => parseCron(`0 * * * * u ${run} --job j --tool t --action a\n1 * * * * u ${run} --job j --tool t --action a`)).toThrow("line 2: job j appears twice");
  });
});

/** A real tool for scheduler tests: counts its runs, can be slow. */
function countingTool(calls: string[], delayMs = 0): Tool {
  return {
    name: "test_tool",
    description: "counts",
    actions: {
      count: defineAction({
        description: "records a call",
        params: v.strictObject({ tag: v.optional(v.string()) }),
        entitlement: "tools.backlog.write",
        writes: false,
        async run(p) {
          calls.push(p.tag ?? "");
          if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
          return { counted: calls.length };
        },
      }),
    },
  };
}

const JOBS_TEXT = [
  "0 * * * * backlog bun run ops/scripts/run_governance_job.ts --job hourly_count --tool test_tool --action count --params-json '{\"tag\":\"hourly\"}'",
  "40 3 * * * backlog bun run ops/scripts/run_governance_job.ts --job daily_count --tool test_tool --action count --params-json '{\"tag\":\"daily\"}'",
  "20 6 * * 1 backlog bun run ops/scripts/run_governance_job.ts --job weekly_count --tool test_tool --action count --params-json '{\"tag\":\"weekly\"}'",
].join("\n");

function scheduler(ledger: RunLedger, calls: string[], opts: { now?: () => Date; delayMs?: number; catchUpMs?: Record<string, number> } = {}) {
  const store = new MemoryBacklogStore();
  return createScheduler({
    jobs: parseCron(JOBS_TEXT).jobs,
    catchUpMs: opts.catchUpMs,
    registry: createRegistry([countingTool(calls, opts.delayMs)]),
    ledger,
    toolContext: (id) => createToolContext({ store, paths: resolveToolPaths({}), agent: id.agent, entitlements: id.entitlements, log: silentLogger }),
    identity: { agent: "scheduler", entitlements: ["tools.backlog.admin"], authenticated: true },
    clock: opts.now,
    log: silentLogger,
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
      for (let i = 0; i < 120 && calls.length === 0; i++) await new Promise((r) => setTimeout(r, 25));
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
      for (let i = 0; i < 200 && calls.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
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
});
