/**
 * POST /v1/scheduler/jobs/:job/run through app.request(): the shipped registry and tools, each auth cell,
 * the manual run in the jobs list, refusals (404 listing jobs, 400, 409 running / suspended / repeated
 * key) and a Postgres ledger out of reach (503, never a 5xx of another kind).
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { silentLogger } from "../../lib/core/log.ts";
import type { Sql } from "../../lib/pg/db.ts";
import { parseCron } from "../../lib/scheduler/cron-file.ts";
import type { RunLedger } from "../../lib/scheduler/ledger.ts";
import { MemoryRunLedger } from "../../lib/scheduler/ledger-open.ts";
import { PostgresRunLedger } from "../../lib/scheduler/ledger-postgres.ts";
import { loadRegistry, suspendedJobs } from "../../lib/scheduler/registry.ts";
import { createScheduler } from "../../lib/scheduler/scheduler.ts";
import { loadPolicy } from "../../lib/generation/policy.ts";
import { MemoryBacklogStore } from "../../lib/store/memory.ts";
import { createToolContext, loadToolRegistry, resolveToolPaths } from "../../lib/tools/index.ts";
import { REPO } from "../helpers/run.ts";
import { auth, buildTestApp, reportsWithFixture } from "./harness.ts";

const NOW = new Date("2026-11-23T10:00:00.000Z");
const TOOLS = await loadToolRegistry({ policy: loadPolicy() });
const CRON = parseCron(readFileSync(join(REPO, "ops/cron/jobs.cron"), "utf8")).jobs;

/** The app with the shipped registry, weekly_backlog_generate suspended (INC-7), over `ledger`. */
function setup(ledger: RunLedger = new MemoryRunLedger()) {
  const store = new MemoryBacklogStore({ clock: () => NOW });
  const reportsDir = reportsWithFixture();
  const jobs = loadRegistry().map((j) => (j.id === "weekly_backlog_generate" ? { ...j, suspend: true, suspend_reason: "INC-7" } : j));
  const scheduler = createScheduler({
    jobs: CRON,
    taskRegistry: () => ({ jobs, suspended: suspendedJobs(jobs), catchUpMs: Object.fromEntries(jobs.map((j) => [j.id, j.catchUpMs])) }),
    registry: TOOLS,
    ledger,
    toolContext: (id) => createToolContext({ store, paths: { ...resolveToolPaths({}), reportsDir }, agent: id.agent, entitlements: id.entitlements, now: () => NOW, log: silentLogger }),
    identity: { agent: "scheduler", entitlements: ["tools.backlog.admin"], authenticated: true },
    clock: () => NOW,
    log: silentLogger,
  });
  const { app } = buildTestApp(store, { now: NOW, reportsDir, ledger, scheduler: { enabled: false, jobs: () => scheduler.jobs(), runNow: scheduler.runNow } });
  const post = (path: string, who: Parameters<typeof auth>[0], headers: Record<string, string> = {}) => app.request(path, { method: "POST", headers: { ...auth(who), ...headers } });
  return { app, ledger, post };
}

const RUN = "/v1/scheduler/jobs/daily_backlog_cleanup/run";

describe("POST /v1/scheduler/jobs/:job/run", () => {
  test("admin runs a job by hand: 200, recorded as manual with the actor, shown in the jobs list", async () => {
    const { app, post } = setup();
    const res = await post(RUN, "admin");
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ job: "daily_backlog_cleanup", source: "manual", actor: "admin", status: "success", run_id: expect.stringMatching(/^run_/) });
    const jobs = (await (await app.request("/v1/scheduler/jobs", { headers: auth("reader") })).json()).jobs as { id: string; last_run: unknown; description: string; run_by_hand: string }[];
    const view = jobs.find((j) => j.id === "daily_backlog_cleanup")!;
    expect(view).toMatchObject({ description: expect.stringContaining("retention_days"), run_by_hand: "tools.backlog.admin" });
    expect(view.last_run).toMatchObject({ run_id: body.run_id, source: "manual", actor: "admin", status: "success", scheduled_at: "2026-11-23T10:00:00.001Z" });
    // and the metrics read it from the same ledger
    const metrics = await (await app.request("/metrics", { headers: auth("reader") })).text();
    expect(metrics).toContain(`backlog_job_last_success_timestamp_seconds{task="daily_backlog_cleanup"} ${NOW.getTime() / 1000}`);
  });

  test("auth cells: writer and reader 403 naming the right, no key and a wrong key 401; the scheduler agent lacks tools.risk.admin", async () => {
    const { post } = setup();
    for (const who of ["writer", "reader"] as const) {
      const res = await post(RUN, who);
      expect([who, res.status, (await res.json()).required]).toEqual([who, 403, "tools.backlog.admin"]);
    }
    for (const who of ["none", "bad"] as const) expect([who, (await post(RUN, who)).status]).toEqual([who, 401]);
    // the access answer comes before any 400: a bad query tells a caller without the right nothing
    for (const q of ["dry_run=yes", "bogus=1"]) {
      for (const who of ["writer", "reader"] as const) expect([q, who, (await post(`${RUN}?${q}`, who)).status]).toEqual([q, who, 403]);
      expect([q, (await post(`${RUN}?${q}`, "none")).status]).toEqual([q, 401]);
    }
    const risk = await post("/v1/scheduler/jobs/hourly_risk_snapshot/run", "scheduler");
    expect([risk.status, (await risk.json()).required]).toEqual([403, "tools.risk.admin"]);
    expect((await post(RUN, "scheduler")).status).toBe(200);
  });

  test("an unknown job is a 404 listing the known jobs; bad flags and keys are 400 naming them", async () => {
    const { post } = setup();
    const res = await post("/v1/scheduler/jobs/weekly_nope/run", "admin");
    const body = await res.json();
    expect(res.status).toBe(404);
    expect(body.error).toContain("known jobs: ");
    expect(body.known_jobs).toContain("weekly_backlog_generate");
    expect([(await post(`${RUN}?dry_run=yes`, "admin")).status, (await post(`${RUN}?even_if_suspended=1`, "admin")).status]).toEqual([400, 400]);
    const key = await post(RUN, "admin", { "idempotency-key": "short" });
    expect([key.status, (await key.json()).error]).toEqual([400, expect.stringContaining("Idempotency-Key")]);
  });

  test("an unknown or repeated query parameter is a 400 naming it, and nothing runs (?dryrun=true is not a real run)", async () => {
    const { post, ledger } = setup();
    for (const q of ["dryrun=true", "dry-run=true", "bogus=1", "dry_run=false&dry_run=true", "dry_run=true&dry_run=false", "even_if_suspended=false&even_if_suspended=true"]) {
      const res = await post(`${RUN}?${q}`, "admin");
      const body = await res.json();
      expect([q, res.status]).toEqual([q, 400]);
      expect(body.error).toMatch(/^Invalid query for POST \/v1\/scheduler\/jobs\/:job\/run:\n {2}(dryrun|dry-run|bogus|dry_run|even_if_suspended): /);
    }
    expect((await ledger.lastRuns()).size).toBe(0);
  });

  test("dry_run=true runs the job's dry run and records nothing", async () => {
    const { post, ledger } = setup();
    const res = await post(`${RUN}?dry_run=true`, "admin");
    expect([res.status, (await res.json()).dry_run]).toEqual([200, true]);
    expect((await ledger.lastRuns()).size).toBe(0);
  });

  test("409: a suspended job unless even_if_suspended; a running run, named; the same Idempotency-Key again", async () => {
    const { post, ledger } = setup();
    const sus = await post("/v1/scheduler/jobs/weekly_backlog_generate/run", "admin");
    expect([sus.status, (await sus.json()).error]).toEqual([409, expect.stringContaining("suspended in ops/task_registry.yml (INC-7)")]);
    const anyway = await post("/v1/scheduler/jobs/weekly_backlog_generate/run?even_if_suspended=true", "admin");
    expect([anyway.status, (await anyway.json()).source]).toEqual([200, "manual"]);
    const fire = await ledger.claim("daily_backlog_cleanup", "2026-11-23T03:40:00.000Z", "in-process", new Date("2026-11-23T09:55:00Z"));
    if (!fire.claimed) throw new Error("not claimed");
    const busy = await post(RUN, "admin");
    expect([busy.status, (await busy.json()).run_id]).toEqual([409, fire.run.run_id]);
    await ledger.finish(fire.run.run_id, { status: "success" }, NOW);
    const first = await post(RUN, "admin", { "idempotency-key": "click-0123456789" });
    expect(first.status).toBe(200);
    const again = await post(RUN, "admin", { "idempotency-key": "click-0123456789" });
    expect([again.status, (await again.json()).run_id]).toEqual([409, (await first.json()).run_id]);
  });

  test("another method is 405 with Allow: POST", async () => {
    const { app } = setup();
    const res = await app.request(RUN, { headers: auth("admin") });
    expect([res.status, res.headers.get("allow")]).toEqual([405, "POST"]);
  });

  test("the Postgres ledger out of reach: 503 saying nothing was started, never another 5xx", async () => {
    const sql = postgres("postgres://nobody:x@127.0.0.1:9/none", { max: 1, connect_timeout: 2, onnotice: () => {} }) as unknown as Sql;
    try {
      const { post } = setup(new PostgresRunLedger(sql));
      const res = await post(RUN, "admin");
      const body = await res.json();
      expect([res.status, body.error]).toEqual([503, expect.stringContaining("Nothing was started")]);
      expect(body.error).not.toContain("nobody:x");
    } finally {
      await sql.end({ timeout: 1 });
    }
  });
});
