/**
 * Two in-process schedulers on the default backend `auto` (two auto stores sharing one JSONL directory:
 * two server processes on one host) fire the same every-minute job for the same minutes, back to back,
 * while Postgres is hard-stopped twice (pg_ctl stop -m immediate) and started again: every minute runs
 * exactly once — none twice, none lost (on one host the JSONL claim decides while Postgres is away).
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { silentLogger } from "../../lib/core/log.ts";
import { parseCron } from "../../lib/scheduler/cron-file.ts";
import { openRunLedger } from "../../lib/scheduler/ledger-open.ts";
import { createScheduler, type RunOutcome } from "../../lib/scheduler/scheduler.ts";
import { AutoBacklogStore } from "../../lib/store/auto/store.ts";
import { MemoryBacklogStore } from "../../lib/store/memory.ts";
import { createRegistry } from "../../lib/tools/dispatch.ts";
import { createToolContext, resolveToolPaths } from "../../lib/tools/index.ts";
import { countingTool } from "../helpers/counting-tool.ts";
import { autoHarness, pgConfig, waitFor } from "../store/auto-harness.ts";

setDefaultTimeout(120_000);
const { pause, resume, database, tempDir, cleanups } = autoHarness();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const JOB = parseCron("* * * * * backlog bun run ops/scripts/run_governance_job.ts --job minutely_count --tool test_tool --action count --params-json '{\"tag\":\"m\"}'").jobs;

describe("two schedulers on auto, Postgres restarted under them", () => {
  test("every minute runs exactly once", async () => {
    const { dsn, sql } = await database();
    await sql.unsafe(`alter database ${new URL(dsn).pathname.slice(1)} set synchronous_commit = on`);
    const dir = tempDir();
    const stores = await Promise.all([0, 1].map(() => AutoBacklogStore.open({ pg: pgConfig(dsn), dir, retrySeconds: 1, log: silentLogger })));
    cleanups.push(...stores.map((s) => () => s.close()));
    const calls: string[] = [];
    const schedulers = stores.map((store) => {
      const tools = new MemoryBacklogStore();
      return createScheduler({
        jobs: JOB,
        registry: createRegistry([countingTool(calls)]),
        ledger: openRunLedger(store, silentLogger),
        toolContext: (id) => createToolContext({ store: tools, paths: resolveToolPaths({}), agent: id.agent, entitlements: id.entitlements, log: silentLogger }),
        identity: { agent: "scheduler", entitlements: ["tools.backlog.write"], authenticated: true },
        log: silentLogger,
      });
    });

    let running = true;
    const outcomes: RunOutcome[][] = [];
    const fire = (async () => {
      for (let m = 0; running; m++) {
        const at = new Date(Date.UTC(2026, 10, 23, 0, m));
        outcomes.push((await Promise.all(schedulers.map((s) => s.runDue(at)))).flat());
        await sleep(5);
      }
    })();
    // Each phase lasts `ms` and at least `minutes` fired minutes: a slow machine gets as many minutes
    // before, during and after each outage as a fast one gets in the time (never fewer than the check below).
    const phase = async (ms: number, minutes: number) => {
      const target = outcomes.length + minutes;
      await sleep(ms);
      await waitFor(`${minutes} minutes fired in this phase`, () => outcomes.length >= target, 60_000);
    };
    try {
      for (let round = 0; round < 2; round++) {
        await phase(1500, 15);
        await pause();
        await phase(2000, 15);
        resume();
        await waitFor("both stores back on Postgres", async () => (await Promise.all(stores.map((s) => s.recover()))).every(Boolean), 60_000);
      }
      await phase(500, 5);
    } finally {
      running = false;
      await fire;
    }

    const ran = outcomes.map((o) => o.filter((r) => "status" in r && r.status === "success").length);
    const failed = outcomes.flat().filter((r) => "status" in r && r.status === "error");
    const summary = { minutes: outcomes.length, doubled: ran.filter((n) => n > 1).length, lost: ran.filter((n) => n === 0).length, claim_errors: failed.length };
    console.log("two schedulers on auto:", JSON.stringify(summary), failed.slice(0, 3).map((r) => ("error" in r ? r.error : "")));
    expect(summary.minutes).toBeGreaterThan(50);
    expect(summary).toMatchObject({ doubled: 0, lost: 0, claim_errors: 0 });
    expect(calls.length).toBe(outcomes.length);
    // Postgres holds every minute once, after both replays.
    const [row] = await sql<{ n: number; minutes: number }[]>`select count(*)::int as n, count(distinct scheduled_at)::int as minutes from scheduler_runs where job = 'minutely_count'`;
    expect(row).toEqual({ n: outcomes.length, minutes: outcomes.length });
  });
});
