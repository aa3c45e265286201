/**
 * A suspended job on the HTTP side, with the real server on loopback and the real runner script:
 * GET /v1/scheduler/jobs, the claim path's 409, /metrics, and run_governance_job.ts (exit 0, nothing sent).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildAccess } from "../../lib/access/config.ts";
import { silentLogger } from "../../lib/core/log.ts";
import { MemoryBacklogStore } from "../../lib/store/memory.ts";
import { startServer, type RunningServer } from "../../server.ts";
import { freePort } from "../helpers/pg-cluster.ts";
import { REPO, runScript } from "../helpers/run.ts";
import { tempDir } from "../helpers/tmp.ts";
import { expectExit } from "../helpers/exit.ts";

const KEY = "sched-key-5150-secret";
const REASON = "migration to the new retention, INC-42";
const JOB = "daily_backlog_cleanup";
const dir = tempDir("bb-suspend-http-");
/** The shipped registry with daily_backlog_cleanup suspended. */
const SUSPENDED_REGISTRY = join(dir, "registry.yml");
writeFileSync(
  SUSPENDED_REGISTRY,
  readFileSync(join(REPO, "ops/task_registry.yml"), "utf8").replace(/(  daily_backlog_cleanup:\n(?: {4}.*\n)+)/, (b) => `${b}    suspend: true\n    suspend_reason: ${REASON}\n`),
);
const FIRE = "2026-11-23T03:40:00Z";
let server: RunningServer;

beforeAll(async () => {
  const access = buildAccess({ agents: { scheduler: { key_env: "K", entitlements: ["tools.backlog.admin", "tools.pressure.write", "tools.risk.write"] } } }, { K: KEY });
  server = await startServer({
    store: new MemoryBacklogStore(),
    access,
    port: 0,
    log: silentLogger,
    env: { BACKLOG_REPORTS_DIR: tempDir("bb-empty-reports-"), BACKLOG_TASK_REGISTRY_FILE: SUSPENDED_REGISTRY },
    clock: () => new Date("2026-11-23T03:41:10Z"), // a minute after the job's fire
  });
});
afterAll(() => server.stop());

const auth = { authorization: `Bearer ${KEY}` };
const claim = (extra: object = {}) =>
  fetch(`${server.url}/v1/tools/execute`, {
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    body: JSON.stringify({ tool: "backlog_tool", action: "cleanup", job: JOB, scheduled_at: FIRE, ...extra }),
  }).then(async (r) => ({ status: r.status, body: await r.json() }));
const jobView = async () => ((await (await fetch(`${server.url}/v1/scheduler/jobs`, { headers: auth })).json()).jobs as { id: string; suspended: boolean; suspend_reason?: string; last_run: unknown }[]).find((j) => j.id === JOB)!;
const runner = (args: string[], env: Record<string, string>) => runScript("ops/scripts/run_governance_job.ts", args, { env: { SCHEDULER_API_KEY: KEY, ...env } });
const runnerArgs = ["--job", JOB, "--scheduled-at", FIRE, "--tool", "backlog_tool", "--action", "cleanup", "--params-json", "{}"];

describe("suspended job over HTTP", () => {
  test("GET /v1/scheduler/jobs shows suspended and the reason; /metrics says backlog_job_suspended 1 for it only", async () => {
    expect(await jobView()).toMatchObject({ suspended: true, suspend_reason: REASON, last_run: null });
    const metrics = await (await fetch(`${server.url}/metrics`, { headers: auth })).text();
    expect(metrics).toContain(`backlog_job_suspended{task="${JOB}"} 1`);
    expect(metrics).toContain('backlog_job_suspended{task="hourly_risk_snapshot"} 0');
  });

  test("a claim is refused with 409 naming the job, the reason and the way out; nothing is recorded", async () => {
    const r = await claim();
    expect(r.status).toBe(409);
    expect(r.body).toEqual({
      error: `job: ${JOB} is suspended in ${SUSPENDED_REGISTRY} (${REASON}); nothing was claimed or run. Resume it by removing suspend, or run it once by hand with the runner's --even-if-suspended.`,
      suspended: true,
      job: JOB,
      suspend_reason: REASON,
    });
    expect((await jobView()).last_run).toBeNull();
    // a malformed override is a 400, not a way around the check
    expect((await claim({ even_if_suspended: "yes" })).status).toBe(400);
  });

  test("the runner for a suspended job sends nothing, says `job suspended` with the reason, exits 0", async () => {
    const closed = `http://127.0.0.1:${await freePort()}`; // no server: a request would fail with exit 1
    const r = await runner(runnerArgs, { ROUTER_URL: closed, BACKLOG_TASK_REGISTRY_FILE: SUSPENDED_REGISTRY });
    expectExit(r, 0);
    expect(JSON.parse(r.stdout)).toEqual({ skipped: "suspended", job: JOB, suspend_reason: REASON });
    const line = r.stderr.split("\n").find((l) => l.includes('"job suspended"'))!;
    expect(JSON.parse(line)).toMatchObject({ level: "info", event: "job suspended", job: JOB, reason: REASON });
  });

  test("when only the server's registry suspends the job, its 409 is `job suspended` too, exit 0", async () => {
    const r = await runner(runnerArgs, { ROUTER_URL: server.url }); // the shipped registry: not suspended here
    expectExit(r, 0);
    expect(JSON.parse(r.stdout)).toEqual({ skipped: "suspended", job: JOB, suspend_reason: REASON });
    expect(r.stderr).toContain('"by":"server"');
    expect((await jobView()).last_run).toBeNull();
  });

  test("--even-if-suspended runs it once, claimed like any fire; --even-if-suspended without --job is refused", async () => {
    const env = { ROUTER_URL: server.url, BACKLOG_TASK_REGISTRY_FILE: SUSPENDED_REGISTRY };
    const first = await runner([...runnerArgs, "--even-if-suspended"], env);
    expectExit(first, 0);
    expect(JSON.parse(first.stdout)).toMatchObject({ removed: 0 });
    expect((await jobView()).last_run).toMatchObject({ status: "success", scheduled_at: "2026-11-23T03:40:00.000Z" });
    const again = await runner([...runnerArgs, "--even-if-suspended"], env);
    expect(JSON.parse(again.stdout)).toMatchObject({ skipped: "already ran" });
    const noJob = await runner(["--tool", "backlog_tool", "--action", "cleanup", "--even-if-suspended"], env);
    expectExit(noJob, 1);
    expect(noJob.stderr).toContain("--even-if-suspended needs --job");
  });
});
