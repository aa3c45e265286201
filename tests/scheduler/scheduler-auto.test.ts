/**
 * The run ledger on the default backend `auto` (issue 14 case 3) and the one claim path (case 5),
 * against a private Postgres that is stopped and started: a (job, minute) claimed while on the JSONL
 * fallback is in scheduler_runs before Postgres serves again, and is never claimed again — by the same
 * ledger, by two in-process schedulers, by the cron runner over HTTP, by another process, or by a
 * Postgres-only replica. HTTP claims are checked against the job's own tool/action, schedule and window.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { silentLogger } from "../../lib/core/log.ts";
import { parseCron } from "../../lib/scheduler/cron-file.ts";
import type { RunLedger } from "../../lib/scheduler/ledger.ts";
import { openRunLedger } from "../../lib/scheduler/ledger-open.ts";
import { PostgresRunLedger } from "../../lib/scheduler/ledger-postgres.ts";
import { createScheduler } from "../../lib/scheduler/scheduler.ts";
import { AutoBacklogStore } from "../../lib/store/auto/store.ts";
import { MemoryBacklogStore } from "../../lib/store/memory.ts";
import { createRegistry } from "../../lib/tools/dispatch.ts";
import { createToolContext, resolveToolPaths } from "../../lib/tools/index.ts";
import { countingTool } from "../helpers/counting-tool.ts";
import { autoHarness, pgConfig } from "../store/auto-harness.ts";
import { auth, buildTestApp } from "../http/harness.ts";
import { MemoryRunLedger } from "../../lib/scheduler/ledger-open.ts";

setDefaultTimeout(60_000);
const { pause, resume, database, tempDir, cleanups } = autoHarness();


const JOBS = parseCron(
  "20 6 * * 1 backlog bun run ops/scripts/run_governance_job.ts --job weekly_count --tool test_tool --action count --params-json '{\"tag\":\"weekly\"}'",
).jobs;

function scheduler(ledger: RunLedger, calls: string[], now: () => Date) {
  const store = new MemoryBacklogStore();
  return createScheduler({
    jobs: JOBS,
    catchUpMs: { weekly_count: 6 * 3_600_000 },
    registry: createRegistry([countingTool(calls)]),
    ledger,
    toolContext: (id) => createToolContext({ store, paths: resolveToolPaths({}), agent: id.agent, entitlements: id.entitlements, log: silentLogger }),
    identity: { agent: "scheduler", entitlements: ["tools.backlog.admin"], authenticated: true },
    clock: now,
    log: silentLogger,
  });
}

const FIRE = new Date("2026-11-23T06:20:00.000Z"); // a Monday
const NEXT = new Date("2026-11-30T06:20:00.000Z");

describe("run ledger on auto (issue 14 case 3)", () => {
  test("a minute claimed on the fallback reaches scheduler_runs before the switch and is never claimed again", async () => {
    const { dsn, sql } = await database();
    const dir = tempDir();
    const open = async () => {
      const store = await AutoBacklogStore.open({ pg: pgConfig(dsn), dir, retrySeconds: 3600, log: silentLogger });
      cleanups.push(() => store.close());
      return { store, ledger: openRunLedger(store, silentLogger) };
    };
    const a = await open();
    await pause();
    const calls: string[] = [];
    const now = () => new Date(FIRE.getTime() + 30_000);
    // On the fallback: the scheduler runs the fire (JSONL claim only).
    await a.store.health(); // notices the outage
    expect(a.store.name).toBe("JsonlBacklogStore");
    expect(await scheduler(a.ledger, calls, now).runDue(FIRE)).toEqual([expect.objectContaining({ status: "success" })]);
    resume();
    expect(await a.store.recover()).toBe(true);
    // Pushed with its outcome before Postgres served again.
    const rows = await sql<{ job: string; status: string }[]>`select job, status from scheduler_runs`;
    expect([...rows]).toEqual([{ job: "weekly_count", status: "success" }]);

    // Nobody claims it again: two schedulers on this process, another process on the same host, the
    // runner over HTTP, a replica on BACKLOG_BACKEND=postgres.
    const b = await open();
    const sched1 = scheduler(a.ledger, calls, now);
    const sched2 = scheduler(b.ledger, calls, now);
    const { app } = buildTestApp(a.store, { ledger: a.ledger });
    const httpCall = app.request("/v1/tools/execute", {
      method: "POST",
      headers: { ...auth("scheduler"), "content-type": "application/json" },
      body: JSON.stringify({ tool: "backlog_tool", action: "dashboard", job: "weekly_count", scheduled_at: FIRE.toISOString() }),
    });
    const outcomes = await Promise.all([sched1.runDue(FIRE), sched2.runDue(FIRE), Promise.resolve(httpCall).then((r) => r.json())]);
    expect(outcomes[0]).toEqual([{ job: "weekly_count", scheduled_at: FIRE.toISOString(), skipped: "already ran" }]);
    expect(outcomes[1]).toEqual([{ job: "weekly_count", scheduled_at: FIRE.toISOString(), skipped: "already ran" }]);
    expect(outcomes[2]).toMatchObject({ skipped: "already ran" });
    const replica = new PostgresRunLedger(sql);
    expect(await replica.claim("weekly_count", FIRE.toISOString(), "replica", now())).toMatchObject({ claimed: false });
    expect(calls).toEqual(["weekly"]);

    // While Postgres serves, a claim is taken on both sides: the next fire, raced by everyone, runs once.
    const later = () => new Date(NEXT.getTime() + 30_000);
    const raced = await Promise.all([scheduler(a.ledger, calls, later).runDue(NEXT), scheduler(b.ledger, calls, later).runDue(NEXT)]);
    expect(raced.flat().filter((o) => "status" in o && o.status === "success")).toHaveLength(1);
    expect(calls).toEqual(["weekly", "weekly"]);
    const [n] = await sql<{ n: number }[]>`select count(*)::int as n from scheduler_runs`;
    expect(n!.n).toBe(2);
    // And a process that lost its Postgres view still finds the claim in the shared JSONL ledger.
    await pause();
    const c = await open();
    expect(c.store.name).toBe("JsonlBacklogStore");
    expect(await c.ledger.claim("weekly_count", NEXT.toISOString(), "late-runner", later())).toMatchObject({ claimed: false });
    resume();
  });
});

describe("one claim path over HTTP (issue 14 case 5)", () => {
  const WEEKLY = { id: "weekly_backlog_generate", schedule: "20 6 * * 1", tool: "backlog_tool", action: "auto_generate_weekly", catchUpMs: 6 * 3_600_000 };
  const now = new Date("2026-11-23T06:20:40.000Z");
  function app(ledger: RunLedger) {
    return buildTestApp(new MemoryBacklogStore({ clock: () => now }), {
      ledger,
      now,
      scheduler: {
        enabled: false,
        jobs: async () => [],
        claimable: (job, at, at2) => {
          const s = createScheduler({
            jobs: [{ id: WEEKLY.id, schedule: WEEKLY.schedule, tool: WEEKLY.tool, action: WEEKLY.action, params: {} } as never],
            catchUpMs: { [WEEKLY.id]: WEEKLY.catchUpMs },
            registry: createRegistry([]),
            ledger,
            toolContext: () => ({}) as never,
            identity: { agent: "scheduler", entitlements: [], authenticated: true },
            clock: () => now,
            log: silentLogger,
          });
          return s.claimable(job, at, at2);
        },
      },
    }).app;
  }
  const call = (a: ReturnType<typeof app>, body: object, who: "scheduler" | "writer" | "reader" = "scheduler") =>
    a.request("/v1/tools/execute", { method: "POST", headers: { ...auth(who), "content-type": "application/json" }, body: JSON.stringify(body) });
  const base = { tool: "backlog_tool", action: "auto_generate_weekly", env: "prod", job: WEEKLY.id };

  test("a future minute, year 9999, a minute that is no fire, a fire past its window, another job's action: 4xx, nothing recorded", async () => {
    const ledger = new MemoryRunLedger();
    const a = app(ledger);
    for (const [why, body, who, status] of [
      ["future fire", { ...base, scheduled_at: "2026-11-30T06:20:00Z" }, "scheduler", 400],
      ["year 9999", { ...base, scheduled_at: "9999-12-27T06:20:00Z" }, "scheduler", 400],
      ["not a fire", { ...base, scheduled_at: "2026-11-23T05:00:00Z" }, "scheduler", 400],
      ["past the window", { ...base, scheduled_at: "2026-11-16T06:20:00Z" }, "scheduler", 400],
      ["unknown job", { ...base, job: "no_such_job", scheduled_at: "2026-11-23T06:20:00Z" }, "scheduler", 400],
      // The action sent decides nothing: a reader cannot claim the job by sending a read action.
      ["another action", { ...base, action: "dashboard", scheduled_at: "2026-11-23T06:20:00Z" }, "reader", 400],
      ["not entitled to the job's action", { ...base, scheduled_at: "2026-11-23T06:20:00Z" }, "reader", 403],
    ] as const) {
      const res = await call(a, body, who);
      expect({ why, status: res.status }).toEqual({ why, status });
    }
    expect(ledger.runs.size).toBe(0);
    const ok = await call(a, { ...base, scheduled_at: "2026-11-23T06:21:00Z" }); // a minute late: the 06:20 fire
    expect(ok.status).toBe(200);
    expect([...ledger.runs.values()].map((r) => [r.scheduled_at, r.status])).toEqual([["2026-11-23T06:20:00.000Z", "success"]]);
  });

  test("a failed outcome write is logged and never turns a success into an error", async () => {
    const ledger = new MemoryRunLedger();
    ledger.finish = async () => {
      throw new Error("disk full");
    };
    const res = await call(app(ledger), { ...base, scheduled_at: "2026-11-23T06:20:00Z" });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ dry_run: false });
    expect([...ledger.runs.values()].map((r) => r.status)).toEqual(["running"]); // claim kept: not repeated
    expect(await (await call(app(ledger), { ...base, scheduled_at: "2026-11-23T06:20:00Z" })).json()).toMatchObject({ skipped: "already ran" });
  });
});
