/** ops/scripts/run_governance_job.ts against the real server on loopback, as cron runs it. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { buildAccess } from "../../lib/access/config.ts";
import { silentLogger } from "../../lib/core/log.ts";
import { loadRegistry } from "../../lib/scheduler/registry.ts";
import { firesAt, latestFire } from "../../lib/scheduler/scheduler.ts";
import { MemoryBacklogStore } from "../../lib/store/memory.ts";
import { startServer, type RunningServer } from "../../server.ts";
import { freePort } from "../helpers/pg-cluster.ts";
import { REPO, runScript } from "../helpers/run.ts";
import { tempDir } from "../helpers/tmp.ts";
import { expectExit } from "../helpers/exit.ts";

const KEY = "sched-key-4711-secret";
const RUNNER = "ops/scripts/run_governance_job.ts";
let server: RunningServer;
/** The server's clock: real time unless a test pins it (claims are only taken for a recent fire). */
let pinned: Date | null = null;

beforeAll(async () => {
  const access = buildAccess({ agents: { scheduler: { key_env: "K", entitlements: ["tools.backlog.admin", "tools.pressure.write", "tools.risk.write"] } } }, { K: KEY });
  const reports = tempDir("bb-empty-reports-");
  server = await startServer({ store: new MemoryBacklogStore(), access, port: 0, log: silentLogger, env: { BACKLOG_REPORTS_DIR: reports }, clock: () => pinned ?? new Date() });
});
afterAll(() => server.stop());

const run = (args: string[], env: Record<string, string> = {}) => runScript(RUNNER, args, { env: { ROUTER_URL: server.url, SCHEDULER_API_KEY: KEY, ...env } });

/** A cron runner's call as the server sees it: daily_backlog_cleanup claiming `scheduled_at`. */
const postCleanupClaim = (scheduled_at: string) =>
  fetch(`${server.url}/v1/tools/execute`, {
    method: "POST",
    headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
    body: JSON.stringify({ tool: "backlog_tool", action: "cleanup", job: "daily_backlog_cleanup", scheduled_at }),
  }).then(async (r) => ({ status: r.status, body: await r.json() }));

describe("run_governance_job", () => {
  test("success prints the JSON result and exits 0", async () => {
    const r = await run(["--tool", "backlog_tool", "--action", "cleanup", "--params-json", '{"retention_days": 180}']);
    expectExit(r, 0);
    expect(JSON.parse(r.stdout)).toMatchObject({ removed: 0, retention_days: 180 });
    expect(r.stdout + r.stderr).not.toContain(KEY);
  });

  test("--job makes the run exactly-once per minute: the second call is `already ran`, exit 0", async () => {
    pinned = new Date("2026-11-23T03:41:10Z"); // the fire is a minute old
    const args = ["--job", "daily_backlog_cleanup", "--scheduled-at", "2026-11-23T03:40:00Z", "--tool", "backlog_tool", "--action", "cleanup", "--params-json", "{}"];
    const first = await run(args);
    const second = await run(args);
    expect([first.code, second.code]).toEqual([0, 0]);
    expect(JSON.parse(first.stdout).removed).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ skipped: "already ran", job: "daily_backlog_cleanup", scheduled_at: "2026-11-23T03:40:00.000Z" });
    const jobs = await (await fetch(`${server.url}/v1/scheduler/jobs`, { headers: { authorization: `Bearer ${KEY}` } })).json();
    expect(jobs.jobs.find((j: { id: string }) => j.id === "daily_backlog_cleanup").last_run).toMatchObject({ status: "success", scheduled_at: "2026-11-23T03:40:00.000Z" });
    pinned = null;
  });

  test("GET /v1/scheduler/jobs lists the six registry jobs with their next UTC fire", async () => {
    const body = await (await fetch(`${server.url}/v1/scheduler/jobs`, { headers: { authorization: `Bearer ${KEY}` } })).json();
    expect(body.enabled).toBe(false); // listed even when the in-process scheduler is off
    expect(body.jobs.map((j: { id: string }) => j.id)).toEqual(loadRegistry().map((j) => j.id));
    const now = Date.now();
    for (const j of body.jobs as { schedule: string; next_run: string; timezone: string }[]) {
      expect(j.timezone).toBe("UTC");
      const next = new Date(j.next_run);
      expect(next.getTime()).toBeGreaterThan(now - 60_000);
      expect(firesAt(j.schedule, next)).toBe(true);
    }
    const weekly = body.jobs.find((j: { id: string }) => j.id === "weekly_backlog_generate");
    expect(new Date(weekly.next_run).getUTCDay()).toBe(1); // a Monday
    expect(weekly.next_run).toMatch(/T06:20:00\.000Z$/);
  });

  test("the server claims the job's scheduled fire: a call 3 minutes late claims the same minute", async () => {
    const post = (scheduled_at: string) => postCleanupClaim(scheduled_at).then((r) => r.body);
    pinned = new Date("2026-11-25T03:43:20Z");
    const late = await post("2026-11-25T03:43:00Z");
    expect(late.removed).toBe(0);
    expect(await post("2026-11-25T03:40:00Z")).toMatchObject({ skipped: "already ran", scheduled_at: "2026-11-25T03:40:00.000Z" });
    // A fire in the future, or long past its catch-up window (6 h), is refused and claims nothing.
    expect(await post("2026-11-26T03:40:00Z")).toMatchObject({ error: expect.stringContaining("is in the future") });
    pinned = new Date("2026-11-25T12:00:00Z");
    expect(await post("2026-11-25T03:40:00Z")).toMatchObject({ error: expect.stringContaining("older than its catch-up window") });
    pinned = null;
  });

  test("a runner started off its UTC schedule claims its own minute on the server: two such runners run once", async () => {
    // The server must accept what the runner sends off-schedule (docs/scheduler.md, Runner), else the job never runs.
    const post = postCleanupClaim;
    pinned = new Date("2026-11-26T12:00:20Z"); // 8 h after 03:40: not late, off-schedule
    const [a, b] = await Promise.all([post("2026-11-26T12:00:00Z"), post("2026-11-26T12:00:00Z")]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect([a.body, b.body].filter((x) => x.skipped === "already ran")).toHaveLength(1);
    expect([a.body, b.body].find((x) => x.skipped !== "already ran")).toMatchObject({ removed: 0 });
    // an old minute that is no fire stays refused
    expect((await post("2026-11-26T11:40:00Z")).body).toMatchObject({ error: expect.stringContaining("is not a scheduled fire") });
    pinned = null;
    // end to end: two runner processes for the same real minute, as two cron hosts would fire them
    const args = ["--job", "daily_backlog_cleanup", "--tool", "backlog_tool", "--action", "cleanup", "--params-json", "{}"];
    const skippedOf = (rs: { stdout: string }[]) => rs.filter((r) => JSON.parse(r.stdout || "{}").skipped === "already ran").length;
    let runs = await Promise.all([run(args), run(args)]);
    if (runs.every((r) => r.code === 0) && skippedOf(runs) === 0) runs = await Promise.all([run(args), run(args)]); // a minute boundary fell between them
    for (const r of runs) expectExit(r, 0);
    expect(skippedOf(runs)).toBe(1);
  });

  test("the key may come from SCHEDULER_API_KEY_FILE", async () => {
    const file = join(tempDir("bb-key-"), "key");
    writeFileSync(file, KEY + "\n");
    const r = await runScript(RUNNER, ["--tool", "backlog_tool", "--action", "dashboard", "--params-json", '{"env":"prod"}'], {
      env: { ROUTER_URL: server.url, SCHEDULER_API_KEY_FILE: file },
    });
    expectExit(r, 0);
    expect(JSON.parse(r.stdout).total).toBe(0);
  });

  test("a wrong or missing key is the runbook's HTTP 401 message", async () => {
    const wrong = await run(["--tool", "backlog_tool", "--action", "dashboard"], { SCHEDULER_API_KEY: "nope-wrong" });
    expectExit(wrong, 1);
    expect(wrong.stderr).toContain("HTTP 401 from /v1/tools/execute");
    expect(wrong.stderr).toContain("SCHEDULER_API_KEY");
    expect(wrong.stderr).not.toContain("nope-wrong");
    const missing = await runScript(RUNNER, ["--tool", "backlog_tool", "--action", "dashboard"], { env: { ROUTER_URL: server.url } });
    expect(missing.stderr).toContain("HTTP 401 from /v1/tools/execute: SCHEDULER_API_KEY is not set");
  });

  test("an unreachable router is `Cannot reach <url>`", async () => {
    const port = await freePort();
    const r = await run(["--tool", "backlog_tool", "--action", "dashboard"], { ROUTER_URL: `http://127.0.0.1:${port}` });
    expectExit(r, 1);
    expect(r.stderr).toContain(`Cannot reach http://127.0.0.1:${port}`);
    const dflt = await runScript(RUNNER, ["--tool", "backlog_tool", "--action", "dashboard"], { env: { SCHEDULER_API_KEY: KEY, ROUTER_URL: `http://localhost:${port}` } });
    expect(dflt.stderr).toContain(`Cannot reach http://localhost:${port}`);
  });

  test("a router that accepts but never answers is `Cannot reach` after RUNNER_TIMEOUT_SECONDS", async () => {
    const silent = createServer(() => {}); // reads the request, never responds
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
    try {
      const r = await run(["--tool", "backlog_tool", "--action", "dashboard"], { ROUTER_URL: url, RUNNER_TIMEOUT_SECONDS: "1" });
      expectExit(r, 1);
      expect(r.stderr).toContain(`error: Cannot reach ${url} (no answer within 1s (RUNNER_TIMEOUT_SECONDS))`);
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });

  test("the tool's own error is printed (missing digest)", async () => {
    const r = await run(["--tool", "backlog_tool", "--action", "auto_generate_weekly", "--params-json", '{"env":"prod"}']);
    expectExit(r, 1);
    expect(r.stderr).toContain("error: No platform digest found. Run architecture_pressure_tool.digest first. (HTTP 404 from /v1/tools/execute)");
  });

  describe("against a server that records what it is sent", () => {
    let counter: Server;
    let hits = 0;
    const bodies: Record<string, unknown>[] = [];
    let url = "";
    beforeAll(async () => {
      counter = createServer((req, res) => {
        hits++;
        let text = "";
        req.on("data", (c) => (text += c));
        req.on("end", () => {
          bodies.push(JSON.parse(text));
          res.end("{}");
        });
      });
      await new Promise<void>((r) => counter.listen(0, "127.0.0.1", r));
      url = `http://127.0.0.1:${(counter.address() as { port: number }).port}`;
    });
    afterAll(() => counter.close());

    test("invalid input is refused before any request: bad --params-json, missing --tool, bad --job", async () => {
      const cases = [
        ["--tool", "backlog_tool", "--action", "cleanup", "--params-json", "{not json"],
        ["--tool", "backlog_tool", "--action", "cleanup", "--params-json", "[1,2]"],
        ["--action", "cleanup"],
        ["--tool", "backlog_tool", "--action", "cleanup", "--job", "Bad Job"],
        ["--tool", "backlog_tool", "--action", "cleanup", "--params-json", '{"tool":"risk_history_tool","job":"x"}'],
        ["--tool", "backlog_tool", "--action", "cleanup", "--scheduled-at", "2026-11-23T03:40:00Z"],
      ];
      const errors: string[] = [];
      for (const args of cases) {
        const r = await run(args, { ROUTER_URL: url });
        expectExit(r, 1);
        expect(r.stderr).toMatch(/--params-json|tool|job/);
        errors.push(r.stderr);
      }
      expect(errors[4]).toContain("--params-json must not set tool, job: use --tool, --action, --job and --scheduled-at for those; nothing was sent.");
      expect(errors[5]).toContain("--scheduled-at needs --job");
      expect(hits).toBe(0);
      // the same server does count a valid call: the zero above is not a dead counter
      expectExit(await run(["--tool", "backlog_tool", "--action", "cleanup"], { ROUTER_URL: url }), 0);
      expect(hits).toBe(1);
    });

    test("--job claims the scheduled fire it is late for from the registry, not the minute cron started it", async () => {
      const dir = tempDir("bb-runner-reg-");
      // fired 3 minutes ago, so the wall-clock minute would be wrong
      const fired = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 3 * 60_000);
      const schedule = `${fired.getUTCMinutes()} ${fired.getUTCHours()} * * *`;
      const reg = readFileSync(join(REPO, "ops/task_registry.yml"), "utf8").replace(/(daily_backlog_cleanup:\s+schedule: )"40 3 \* \* \*"/, `$1"${schedule}"`);
      writeFileSync(join(dir, "reg.yml"), reg);
      const args = ["--job", "daily_backlog_cleanup", "--tool", "backlog_tool", "--action", "cleanup"];
      bodies.length = 0;
      const before = Date.now();
      const r = await run(args, { ROUTER_URL: url, BACKLOG_TASK_REGISTRY_FILE: join(dir, "reg.yml") });
      expectExit(r, 0);
      // claim_token: this run's own claim, so asking again after a failed claim is the same claim (runner-claim-retry.test.ts)
      expect(bodies[0]).toEqual({ tool: "backlog_tool", action: "cleanup", job: "daily_backlog_cleanup", scheduled_at: latestFire(schedule, new Date())!.toISOString(), claim_token: expect.stringMatching(/^[0-9a-f-]{36}$/) });
      expect(r.stderr).not.toContain("claiming the current minute");
      // a job the registry does not know: the current minute, and a warning saying so
      const unknown = await run(["--job", "adhoc_job", "--tool", "backlog_tool", "--action", "cleanup"], { ROUTER_URL: url });
      expectExit(unknown, 0);
      expect(unknown.stderr).toContain("job adhoc_job is not in");
      const at = Date.parse(bodies[1]!.scheduled_at as string);
      expect(at).toBeGreaterThanOrEqual(Math.floor(before / 60_000) * 60_000);
      expect(at).toBeLessThanOrEqual(Date.now());
      // started far off its schedule (cron in local time): the current minute and a warning, not an old fire
      const offSchedule = `${fired.getUTCMinutes()} ${(fired.getUTCHours() + 12) % 24} * * *`;
      writeFileSync(join(dir, "reg2.yml"), reg.replace(`"${schedule}"`, `"${offSchedule}"`));
      const off = await run(args, { ROUTER_URL: url, BACKLOG_TASK_REGISTRY_FILE: join(dir, "reg2.yml") });
      const warning = JSON.parse(off.stderr.trim().split("\n")[0]!).warning as string;
      expect(warning).toStartWith(`started off its UTC schedule "${offSchedule}"`);
      expect(warning).toContain("Is cron running in UTC?");
      expect(Date.parse(bodies[2]!.scheduled_at as string)).toBeGreaterThan(fired.getTime());
      bodies.splice(2, 1);
      // an explicit --scheduled-at wins
      await run([...args, "--scheduled-at", "2026-11-23T03:40:42Z"], { ROUTER_URL: url });
      expect(bodies[2]!.scheduled_at).toBe("2026-11-23T03:40:00.000Z");
    });
  });
});
