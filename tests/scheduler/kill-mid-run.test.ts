/**
 * kill -9 of the process running a job, between its claim and its finish, on the default `auto` backend:
 * the real server.ts (spawned, as operators run it) claims weekly_backlog_generate for the runner and then
 * hangs in the job (its digest is a FIFO nobody writes), and is SIGKILLed. A server started afterwards
 * never runs that minute again (the runner's next call is `already ran`), and shows it as `running`, then
 * `stuck` 30 minutes after it started (GET /v1/scheduler/jobs, backlog_job_last_run_stuck).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import process from "node:process";
import { silentLogger } from "../../lib/core/log.ts";
import { scheduledMinute } from "../../lib/scheduler/ledger.ts";
import { startServer as startInProcess, type RunningServer } from "../../server.ts";
import { startServer as spawnServer, type SpawnedServer } from "../http/server-spawn.ts";
import { freshDatabase, type TestDb } from "../helpers/pg.ts";
import { REPO, runScript } from "../helpers/run.ts";
import { tempDir } from "../helpers/tmp.ts";

const KEY = "sched-key-kill-9-secret";
const JOB = "weekly_backlog_generate";
let db: TestDb;
let env: Record<string, string>;
let a: SpawnedServer | undefined;
let b: RunningServer | undefined;
let FIFO = "";

beforeAll(async () => {
  db = await freshDatabase({ migrated: true });
  const dir = tempDir("bb-kill-mid-run-");
  // The job fires every minute here (so the test needs no particular day), with its 12h catch-up window.
  writeFileSync(join(dir, "jobs.cron"), readFileSync(join(REPO, "ops/cron/jobs.cron"), "utf8").replace("20 6 * * 1 backlog", "* * * * * backlog"));
  writeFileSync(join(dir, "registry.yml"), readFileSync(join(REPO, "ops/task_registry.yml"), "utf8").replace('schedule: "20 6 * * 1"', 'schedule: "* * * * *"'));
  // The job's digest is a FIFO: reading it waits for a writer that never comes, after the claim.
  const reports = join(dir, "reports");
  mkdirSync(join(reports, "platform", "prod"), { recursive: true });
  FIFO = join(reports, "platform", "prod", "2026-W01.json");
  execFileSync("mkfifo", [FIFO]);
  env = {
    BACKLOG_BACKEND: "auto",
    BACKLOG_POSTGRES_DSN: db.dsn,
    BACKLOG_JSONL_DIR: join(dir, "backlog"),
    BACKLOG_REPORTS_DIR: reports,
    SCHEDULER_CRON_FILE: join(dir, "jobs.cron"),
    BACKLOG_TASK_REGISTRY_FILE: join(dir, "registry.yml"),
    SCHEDULER_API_KEY: KEY,
    PORT: "0",
  };
});
afterAll(async () => {
  a?.child.kill("SIGKILL");
  await b?.stop();
  await db.drop();
});

async function until(ok: () => Promise<boolean>): Promise<void> {
  for (let i = 0; !(await ok()); i++) {
    if (i > 300) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 100));
  }
}

const rows = (minute: string) => db.sql<{ run_id: string; status: string }[]>`select run_id, status from scheduler_runs where job = ${JOB} and scheduled_at = ${minute}`;

describe("kill -9 between claim and finish", () => {
  test("the minute stays claimed: never run twice, shown running and then stuck", async () => {
    a = await spawnServer(env);
    const minute = scheduledMinute(new Date());
    const args = ["--job", JOB, "--scheduled-at", minute, "--tool", "backlog_tool", "--action", "auto_generate_weekly", "--params-json", '{"env":"prod"}'];
    // The runner's call: claimed, then the job hangs in the server.
    const first = spawn(process.execPath, ["run", "ops/scripts/run_governance_job.ts", ...args], { cwd: REPO, env: { PATH: process.env.PATH ?? "", ROUTER_URL: a.url, SCHEDULER_API_KEY: KEY } });
    const firstExit = new Promise<number | null>((r) => first.on("close", r));
    await until(async () => (await rows(minute)).length > 0);
    expect([...(await rows(minute))]).toEqual([expect.objectContaining({ status: "running" })]);
    a.child.kill("SIGKILL");
    await a.exited;
    expect(await firstExit).toBe(1); // the runner lost its connection: reported, not repeated

    // A new server (31 minutes later): the minute is not run again, and it is shown as stuck.
    const later = new Date(Date.parse(minute) + 31 * 60_000);
    b = await startInProcess({ env: { ...env }, port: 0, log: silentLogger, clock: () => later });
    const again = await runScript("ops/scripts/run_governance_job.ts", args, { env: { ROUTER_URL: b.url, SCHEDULER_API_KEY: KEY } });
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ skipped: "already ran", run: { status: "running" } });
    const auth = { authorization: `Bearer ${KEY}` };
    const jobs = (await (await fetch(`${b.url}/v1/scheduler/jobs`, { headers: auth })).json()).jobs as { id: string; last_run: { status: string; stuck?: string } }[];
    const view = jobs.find((j) => j.id === JOB)!;
    expect(view.last_run).toMatchObject({ scheduled_at: minute, status: "running" });
    expect(view.last_run.stuck).toContain("nobody will run this minute");
    expect(await (await fetch(`${b.url}/metrics`, { headers: auth })).text()).toContain(`backlog_job_last_run_stuck{task="${JOB}"} 1`);
    expect([...(await rows(minute))]).toEqual([expect.objectContaining({ status: "running" })]);

    // kill -9 of the runner alone (cron's process), mid-run: the server runs the job to its end and
    // records it; that minute is not run again either.
    const minute2 = scheduledMinute(new Date(Date.parse(minute) + 60_000));
    const args2 = args.map((x) => (x === minute ? minute2 : x));
    const runner = spawn(process.execPath, ["run", "ops/scripts/run_governance_job.ts", ...args2], { cwd: REPO, env: { PATH: process.env.PATH ?? "", ROUTER_URL: b.url, SCHEDULER_API_KEY: KEY } });
    const runnerExit = new Promise((r) => runner.on("close", r));
    await until(async () => (await rows(minute2)).length > 0);
    runner.kill("SIGKILL");
    await runnerExit;
    // Let the job go on: its digest arrives (not JSON), so it ends with an error, recorded.
    await writeFile(FIFO, "not json");
    await until(async () => (await rows(minute2))[0]?.status !== "running");
    expect([...(await rows(minute2))]).toEqual([expect.objectContaining({ status: "error" })]);
    const third = await runScript("ops/scripts/run_governance_job.ts", args2, { env: { ROUTER_URL: b.url, SCHEDULER_API_KEY: KEY } });
    expect(JSON.parse(third.stdout)).toMatchObject({ skipped: "already ran", run: { status: "error" } });
  }, 90_000);
});
