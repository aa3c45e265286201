/**
 * The in-process scheduler and a deciding job (backlog_tool.auto_generate_weekly) while the auto store's
 * PRIVATE Postgres is stopped over the job's fire. The generation refuses on the JSONL fallback (503,
 * tests/tools/backlog-auto-outage.test.ts); claiming the fire anyway recorded it as failed and nothing
 * ran it again (catch-up: already ran), so the week was skipped. The fire is deferred instead, not
 * claimed, and asked again until Postgres serves: it then runs once, as it would have with Postgres up.
 * The cron runner's call over HTTP is not claimed either: 503 with claim_failed, which the runner asks again.
 */
import { expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { silentLogger } from "../../lib/core/log.ts";
import { parsePolicyText } from "../../lib/generation/policy.ts";
import { parseCron } from "../../lib/scheduler/cron-file.ts";
import { openRunLedger } from "../../lib/scheduler/ledger-open.ts";
import { createScheduler } from "../../lib/scheduler/scheduler.ts";
import { AutoBacklogStore } from "../../lib/store/auto/store.ts";
import * as v from "valibot";
import { createToolContext, dispatch, loadToolRegistry, resolveToolPaths } from "../../lib/tools/index.ts";
import { createRegistry } from "../../lib/tools/dispatch.ts";
import { defineAction, type Tool } from "../../lib/tools/types.ts";
import { autoHarness, pgConfig, waitFor } from "../store/auto-harness.ts";
import { auth, buildTestApp } from "../http/harness.ts";

setDefaultTimeout(90_000);
const { pause, resume, database, tempDir, cleanups } = autoHarness();
const POLICY = parsePolicyText("lifecycle:\n  mode: weekly\n", "sched.yml");
const svc = (service: string) => ({ service, pressure_score: 70, band: "high", signals: { churn_30d: 120 }, recommended_categories: ["security"], reasons: ["pressure"] });
const DIGESTS = [
  { week: "2026-W47", env: "prod", generated_at: "2026-11-16T06:00:00Z", services: [svc("gateway")] },
  { week: "2026-W48", env: "prod", generated_at: "2026-11-23T06:00:00Z", services: [svc("gateway")] },
];
const FIRE = new Date("2026-11-23T06:20:00.000Z"); // Monday of W48
const JOBS = parseCron(
  "20 6 * * 1 backlog bun run ops/scripts/run_governance_job.ts --job weekly_backlog_generate --tool backlog_tool --action auto_generate_weekly --params-json '{\"env\":\"prod\",\"week\":\"2026-W48\"}'",
).jobs;

test("a weekly generation fire while Postgres is down is deferred, not claimed, and runs once when Postgres is back", async () => {
  const { dsn, sql } = await database();
  const dir = tempDir();
  const reports = tempDir();
  mkdirSync(join(reports, "platform/prod"), { recursive: true });
  for (const d of DIGESTS) writeFileSync(join(reports, `platform/prod/${d.week}.json`), JSON.stringify(d));
  let now = new Date("2026-11-16T06:20:00Z");
  const store = await AutoBacklogStore.open({ pg: pgConfig(dsn), dir, retrySeconds: 1, clock: () => now, log: silentLogger });
  cleanups.push(() => store.close());
  expect(store.name).toBe("PostgresBacklogStore");
  const registry = await loadToolRegistry({ policy: POLICY, only: ["backlog_tool"] });
  const toolContext = (id: { agent: string; entitlements: readonly string[] }) =>
    createToolContext({ store, agent: id.agent, entitlements: id.entitlements, now: () => now, log: silentLogger, paths: { root: reports, reportsDir: reports, policyFile: "sched.yml" } });
  const identity = { agent: "scheduler", entitlements: ["tools.backlog.admin"], authenticated: true };
  await dispatch(registry, { tool: "backlog_tool", action: "auto_generate_weekly", params: { env: "prod", week: "2026-W47" } }, toolContext(identity));

  const scheduler = createScheduler({
    jobs: JOBS,
    catchUpMs: { weekly_backlog_generate: 12 * 3_600_000 },
    registry,
    ledger: openRunLedger(store, silentLogger),
    toolContext,
    identity,
    clock: () => now,
    log: silentLogger,
    claimRetryMs: 200,
  });
  cleanups.push(() => scheduler.stop());

  now = new Date(FIRE.getTime() + 20_000);
  await pause();
  await store.list(); // fails over to JSONL
  expect(store.name).toBe("JsonlBacklogStore");
  expect(await scheduler.runDue(FIRE)).toEqual([{ job: "weekly_backlog_generate", scheduled_at: FIRE.toISOString(), skipped: "store degraded" }]);

  resume();
  await waitFor("the switch back to Postgres", () => store.name === "PostgresBacklogStore");
  await waitFor("the deferred fire's run", async () => (await sql`select 1 from scheduler_runs where status = 'success'`).length === 1);
  const runs = await sql<{ scheduled_at: Date; status: string }[]>`select scheduled_at, status from scheduler_runs`;
  expect(runs.map((r) => [r.scheduled_at.toISOString(), r.status])).toEqual([[FIRE.toISOString(), "success"]]);
  // As with Postgres up: W48's item linked to W47's.
  const items = await sql<{ id: string; dedupe_key: string; meta: { prev_id?: string; next_id?: string } }[]>`select id, dedupe_key, meta from backlog_items order by dedupe_key`;
  expect(items.map((i) => i.dedupe_key)).toEqual(["platform_backlog:2026-W47:prod:gateway:security", "platform_backlog:2026-W48:prod:gateway:security"]);
  expect(items[1]!.meta.prev_id).toBe(items[0]!.id);
  expect(items[0]!.meta.next_id).toBe(items[1]!.id);
});

test("the cron runner's call for that fire while Postgres is down: 503 claim_failed, nothing claimed; asked again after the recovery it runs once", async () => {
  const { dsn, sql } = await database();
  const dir = tempDir();
  const at = new Date("2026-11-23T06:20:00.000Z");
  const store = await AutoBacklogStore.open({ pg: pgConfig(dsn), dir, retrySeconds: 1, log: silentLogger });
  cleanups.push(() => store.close());
  const { app } = buildTestApp(store, { ledger: openRunLedger(store, silentLogger), now: new Date(at.getTime() + 30_000) });
  const call = () =>
    app.request("/v1/tools/execute", {
      method: "POST",
      headers: { ...auth("scheduler"), "content-type": "application/json" },
      body: JSON.stringify({ tool: "backlog_tool", action: "auto_generate_weekly", env: "prod", job: "weekly_backlog_generate", scheduled_at: at.toISOString(), claim_token: "runner-token-0123456789" }),
    });
  await pause();
  await store.list(); // fails over to JSONL
  expect(store.name).toBe("JsonlBacklogStore");
  const refused = await call();
  const body = (await refused.json()) as { error: string; claim_failed?: boolean };
  expect({ status: refused.status, body }).toMatchObject({ status: 503 });
  expect(body.claim_failed).toBe(true);
  expect(body.error).toStartWith("store degraded: ");

  resume();
  await waitFor("the switch back to Postgres", () => store.name === "PostgresBacklogStore");
  expect(await sql`select 1 from scheduler_runs`).toHaveLength(0);
  const again = await call(); // the runner asks again with the same claim
  expect(again.status).toBe(200);
  const runs = await sql<{ status: string }[]>`select status from scheduler_runs`;
  expect(runs.map((r) => r.status)).toEqual(["success"]);
  expect((await sql`select 1 from backlog_items`).length).toBeGreaterThan(0);
});

test("run now of a deciding job while Postgres is down: 503 store degraded, nothing claimed or recorded (no failed run quieting BacklogJobMissedSchedule)", async () => {
  const { dsn, sql } = await database();
  const dir = tempDir();
  const now = new Date(FIRE.getTime() + 20_000);
  const store = await AutoBacklogStore.open({ pg: pgConfig(dsn), dir, retrySeconds: 1, clock: () => now, log: silentLogger });
  cleanups.push(() => store.close());
  const registry = await loadToolRegistry({ policy: POLICY, only: ["backlog_tool"] });
  const toolContext = (id: { agent: string; entitlements: readonly string[] }) =>
    createToolContext({ store, agent: id.agent, entitlements: id.entitlements, now: () => now, log: silentLogger, paths: { root: dir, reportsDir: dir, policyFile: "sched.yml" } });
  const jobs = [{ id: "weekly_backlog_generate", tool: "backlog_tool", action: "auto_generate_weekly", params: { env: "prod", week: "2026-W48" }, entitlement: "tools.backlog.admin", dry_run: true, suspend: false, description: "weekly" }];
  const ledger = openRunLedger(store, silentLogger);
  const scheduler = createScheduler({
    jobs: JOBS,
    taskRegistry: () => ({ jobs, suspended: new Map(), catchUpMs: {} }),
    registry,
    ledger,
    toolContext,
    identity: { agent: "scheduler", entitlements: ["tools.backlog.admin"], authenticated: true },
    clock: () => now,
    log: silentLogger,
  });
  cleanups.push(() => scheduler.stop());
  await pause();
  await store.list(); // fails over to JSONL
  expect(store.name).toBe("JsonlBacklogStore");
  const err = await scheduler.runNow!.run({ job: "weekly_backlog_generate", identity: { agent: "admin", entitlements: ["tools.backlog.admin"], authenticated: true }, actor: "admin" }).then(
    () => null,
    (e: { status?: number; message?: string }) => e,
  );
  expect(err?.status).toBe(503);
  expect(err?.message).toStartWith("store degraded: ");
  expect((await ledger.lastRuns()).size).toBe(0);
  resume();
  await waitFor("the switch back to Postgres", () => store.name === "PostgresBacklogStore");
  expect(await sql`select 1 from scheduler_runs`).toHaveLength(0);
});

test("fires deferred by one outage run in the order they were due: the digest's before the generation that reads it", async () => {
  // Two deciding jobs (needs_full_view) like the platform digest (06:00) and the weekly generation (06:20).
  const calls: string[] = [];
  const tool: Tool = {
    name: "order_tool",
    description: "records the order of deciding runs",
    actions: {
      decide: defineAction({
        description: "a deciding action that takes a while",
        params: v.strictObject({ tag: v.string() }),
        entitlement: "tools.backlog.write",
        writes: false,
        needs_full_view: true,
        async run(p) {
          calls.push(`${p.tag}:start`);
          await new Promise((r) => setTimeout(r, p.tag === "digest" ? 800 : 10));
          calls.push(`${p.tag}:end`);
          return {};
        },
      }),
    },
  };
  const jobs = parseCron(
    [
      "0 6 * * 1 x bun run ops/scripts/run_governance_job.ts --job digest_job --tool order_tool --action decide --params-json '{\"tag\":\"digest\"}'",
      "20 6 * * 1 x bun run ops/scripts/run_governance_job.ts --job generate_job --tool order_tool --action decide --params-json '{\"tag\":\"generate\"}'",
    ].join("\n"),
  ).jobs;
  const { dsn } = await database();
  const store = await AutoBacklogStore.open({ pg: pgConfig(dsn), dir: tempDir(), retrySeconds: 1, log: silentLogger });
  cleanups.push(() => store.close());
  let now = new Date("2026-11-23T06:20:30Z");
  const identity = { agent: "scheduler", entitlements: ["tools.backlog.write"], authenticated: true };
  const scheduler = createScheduler({
    jobs,
    catchUpMs: { digest_job: 12 * 3_600_000, generate_job: 12 * 3_600_000 },
    registry: createRegistry([tool]),
    ledger: openRunLedger(store, silentLogger),
    toolContext: (id) => createToolContext({ store, agent: id.agent, entitlements: id.entitlements, now: () => now, log: silentLogger, paths: resolveToolPaths({}) }),
    identity,
    clock: () => now,
    log: silentLogger,
    claimRetryMs: 100,
  });
  cleanups.push(() => scheduler.stop());

  await pause();
  await store.list(); // fails over to JSONL
  expect(await scheduler.runDue(new Date("2026-11-23T06:00:00Z"))).toMatchObject([{ job: "digest_job", skipped: "store degraded" }]);
  expect(await scheduler.runDue(new Date("2026-11-23T06:20:00Z"))).toMatchObject([{ job: "generate_job", skipped: "store degraded" }]);
  resume();
  await waitFor("both deferred fires run", () => calls.length === 4);
  // Without the order the generation's retry started while the digest was still running.
  expect(calls).toEqual(["digest:start", "digest:end", "generate:start", "generate:end"]);
});
