/**
 * A suspend written to ops/task_registry.yml while the server runs takes effect without a restart
 * (lib/scheduler/registry-watch.ts): the real server on loopback, its claim path, its in-process
 * scheduler's fires, /metrics and GET /v1/scheduler/jobs, with the registry file rewritten under it.
 * Before: the server read the registry only at start, so the suspended job still ran.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildAccess } from "../../lib/access/config.ts";
import { createLogger, silentLogger } from "../../lib/core/log.ts";
import { MemoryRunLedger } from "../../lib/scheduler/ledger-open.ts";
import { parseCron } from "../../lib/scheduler/cron-file.ts";
import { watchRegistry } from "../../lib/scheduler/registry-watch.ts";
import { createScheduler } from "../../lib/scheduler/scheduler.ts";
import { MemoryBacklogStore } from "../../lib/store/memory.ts";
import { createRegistry } from "../../lib/tools/dispatch.ts";
import { createToolContext, resolveToolPaths } from "../../lib/tools/index.ts";
import { startServer, type RunningServer } from "../../server.ts";
import { countingTool } from "../helpers/counting-tool.ts";
import { REPO } from "../helpers/run.ts";
import { tempDir } from "../helpers/tmp.ts";

const KEY = "sched-key-watch-4242-secret";
const JOB = "daily_backlog_cleanup";
const SHIPPED = readFileSync(join(REPO, "ops/task_registry.yml"), "utf8");
const suspendedText = (reason: string) => SHIPPED.replace(/(  daily_backlog_cleanup:\n(?: {4}.*\n)+)/, (b) => `${b}    suspend: true\n    suspend_reason: ${reason}\n`);
const dir = tempDir("bb-registry-watch-");
const FILE = join(dir, "task_registry.yml");
/** As an editor or `cp` does: the whole file at once (atomic rename), so no read sees half of it. */
const writeRegistry = (text: string) => {
  writeFileSync(`${FILE}.tmp`, text);
  renameSync(`${FILE}.tmp`, FILE);
};
writeRegistry(SHIPPED);

const lines: string[] = [];
const log = createLogger({ level: "info", write: (l) => lines.push(l) });
let server: RunningServer;
let now = new Date("2026-11-23T03:41:10Z");

beforeAll(async () => {
  const access = buildAccess({ agents: { scheduler: { key_env: "K", entitlements: ["tools.backlog.admin"] } } }, { K: KEY });
  server = await startServer({
    store: new MemoryBacklogStore(),
    access,
    port: 0,
    log,
    env: { BACKLOG_REPORTS_DIR: tempDir("bb-empty-reports-"), BACKLOG_TASK_REGISTRY_FILE: FILE },
    clock: () => now,
  });
});
afterAll(() => server.stop());

const auth = { authorization: `Bearer ${KEY}` };
const claim = (scheduled_at: string) =>
  fetch(`${server.url}/v1/tools/execute`, {
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    body: JSON.stringify({ tool: "backlog_tool", action: "cleanup", job: JOB, scheduled_at }),
  }).then(async (r) => ({ status: r.status, body: await r.json() }));
const metrics = async () => (await fetch(`${server.url}/metrics`, { headers: auth })).text();
const jobView = async () => ((await (await fetch(`${server.url}/v1/scheduler/jobs`, { headers: auth })).json()).jobs as { id: string; suspended: boolean; suspend_reason?: string }[]).find((j) => j.id === JOB)!;

describe("task registry changed while the server runs", () => {
  test("suspend, a bad file, resume: each takes effect at the next claim, without a restart", async () => {
    // running: the fire runs
    expect(await claim("2026-11-23T03:40:00Z")).toMatchObject({ status: 200, body: { removed: 0 } });

    // suspended on disk: the next day's fire is refused, the views and the metric say so
    writeRegistry(suspendedText("INC-77 retention migration"));
    now = new Date("2026-11-24T03:41:10Z");
    const refused = await claim("2026-11-24T03:40:00Z");
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ suspended: true, suspend_reason: "INC-77 retention migration" });
    // The file as configured (BACKLOG_TASK_REGISTRY_FILE), not the default path, in the claim's and Run now's 409.
    expect(refused.body.error).toContain(`is suspended in ${FILE} (INC-77 retention migration)`);
    const runNow = await fetch(`${server.url}/v1/scheduler/jobs/${JOB}/run`, { method: "POST", headers: auth });
    expect(runNow.status).toBe(409);
    expect((await runNow.json()).error).toContain(`is suspended in ${FILE} (INC-77 retention migration)`);
    expect(await jobView()).toMatchObject({ suspended: true, suspend_reason: "INC-77 retention migration" });
    expect(await metrics()).toContain(`backlog_job_suspended{task="${JOB}"} 1`);
    expect(lines.some((l) => l.includes('"task registry reloaded"') && l.includes(`"suspended":["${JOB}"]`))).toBe(true);

    // a broken file: the last good registry (suspended) stays, the error names the line, once
    writeRegistry(suspendedText("INC-77").replace("    suspend: true\n", "    suspend: maybe\n"));
    now = new Date("2026-11-25T03:41:10Z");
    expect((await claim("2026-11-25T03:40:00Z")).status).toBe(409);
    expect((await claim("2026-11-25T03:40:00Z")).status).toBe(409);
    const errors = lines.filter((l) => l.includes("task registry changed but does not load"));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(`jobs.${JOB}.suspend: must be true or false`);
    expect(errors[0]).toMatch(/\(line \d+\)/);
    const m = await metrics();
    expect(m).toContain("backlog_task_registry_valid 0");
    expect(m).toContain("backlog_task_registry_load_failures_total 1");

    // resumed: the next fire runs again, and the metric is back
    writeRegistry(SHIPPED);
    now = new Date("2026-11-26T03:41:10Z");
    expect(await claim("2026-11-26T03:40:00Z")).toMatchObject({ status: 200, body: { removed: 0 } });
    expect(await jobView()).toMatchObject({ suspended: false });
    // (backlog_job_suspended comes from the metrics snapshot, kept 10 s: it follows at the next one)
    expect(await metrics()).toContain("backlog_task_registry_valid 1");
  });

  test("the in-process scheduler's next fire of a job suspended meanwhile is skipped, and runs again once resumed", async () => {
    const file = join(dir, "scheduler-registry.yml");
    writeFileSync(file, SHIPPED);
    const watch = watchRegistry(file, { log: silentLogger });
    const calls: string[] = [];
    const job = parseCron("40 3 * * * backlog bun run ops/scripts/run_governance_job.ts --job daily_backlog_cleanup --tool test_tool --action count --params-json '{\"tag\":\"daily\"}'").jobs[0]!;
    const store = new MemoryBacklogStore();
    const s = createScheduler({
      jobs: [job],
      taskRegistry: () => watch.current(),
      registry: createRegistry([countingTool(calls)]),
      ledger: new MemoryRunLedger(),
      toolContext: (id) => createToolContext({ store, paths: resolveToolPaths({}), agent: id.agent, entitlements: id.entitlements, log: silentLogger }),
      identity: { agent: "scheduler", entitlements: ["tools.backlog.write"], authenticated: true },
      log: silentLogger,
    });
    expect(await s.runDue(new Date("2026-11-23T03:40:00Z"))).toEqual([expect.objectContaining({ status: "success" })]);
    writeFileSync(file, suspendedText("INC-78"));
    expect(await s.runDue(new Date("2026-11-24T03:40:00Z"))).toEqual([expect.objectContaining({ skipped: "suspended" })]);
    writeFileSync(file, SHIPPED);
    expect(await s.runDue(new Date("2026-11-25T03:40:00Z"))).toEqual([expect.objectContaining({ status: "success" })]);
    expect(calls).toHaveLength(2);
  });
});
