/**
 * The whole governance chain on real Postgres: through the dispatcher, through POST /v1/tools/execute
 * of a real server on loopback with the scheduler's key (the runbook's cron path), and through the
 * scripts with BACKLOG_BACKEND=postgres.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildAccess } from "../../lib/access/config.ts";
import { silentLogger } from "../../lib/core/log.ts";
import { REPO_ROOT } from "../../lib/config/index.ts";
import { loadPolicy } from "../../lib/generation/policy.ts";
import { PostgresBacklogStore } from "../../lib/store/postgres/store.ts";
import { dispatch } from "../../lib/tools/dispatch.ts";
import { loadToolRegistry } from "../../lib/tools/index.ts";
import { startServer } from "../../server.ts";
import { expectItemsMatchDigest, NOW, runChain, SCHEDULER } from "./chain-helpers.ts";
import { freshDatabase, type TestDb } from "../helpers/pg.ts";
import { runScript } from "../helpers/run.ts";
import { expectExit } from "../helpers/exit.ts";

const dirs: string[] = [];
const temp = () => {
  const d = mkdtempSync(join(tmpdir(), "bb-chain-pg-"));
  dirs.push(d);
  return d;
};
const dbs: TestDb[] = [];
afterAll(async () => {
  for (const db of dbs) await db.drop();
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});
async function db(): Promise<TestDb> {
  const d = await freshDatabase({ migrated: true });
  dbs.push(d);
  return d;
}

describe("chain on Postgres", () => {
  let d: TestDb;
  beforeAll(async () => {
    d = await db();
  });

  test("through the dispatcher: history in the risk tables, digests valid, items match the digest", async () => {
    const reportsDir = temp();
    const store = new PostgresBacklogStore({ sql: d.sql, log: silentLogger, clock: () => NOW });
    const registry = await loadToolRegistry({ policy: loadPolicy(undefined, {}) });
    const ctx = { store, agent: "scheduler", entitlements: SCHEDULER, now: () => NOW, log: silentLogger, paths: { root: REPO_ROOT, reportsDir, policyFile: join(REPO_ROOT, "config/backlog_policy.yml") } };
    const call = (tool: string, action: string, params: Record<string, unknown> = {}) => dispatch(registry, { tool, action, params }, ctx) as Promise<any>;

    const { platform, generated } = await runChain(call, reportsDir);
    await expectItemsMatchDigest(store, platform, generated);
    const [counts] = await d.sql`select (select count(*) from risk_signals)::int as signals, (select count(*) from risk_history)::int as history`;
    expect(counts).toEqual({ signals: 40, history: 40 });

    // Retention: the policy's 90 days keep everything; 3 days drop the older rows in both tables.
    expect(await call("risk_history_tool", "cleanup", {})).toMatchObject({ removed: { signals: 0, history: 0 } });
    const trimmed = await call("risk_history_tool", "cleanup", { retention_days: 3 });
    expect(trimmed.removed.history).toBeGreaterThan(0);
    const [after] = await d.sql`select count(*)::int as n, min(hour) as first from risk_history`;
    expect(after!.n).toBe(40 - trimmed.removed.history);
    expect(new Date(after!.first as Date).getTime()).toBeGreaterThanOrEqual(NOW.getTime() - 3 * 86_400_000);
  });
});

describe("through POST /v1/tools/execute with the scheduler's key", () => {
  test("the cron jobs' calls run the chain on a real server; a reader may not run them", async () => {
    const d = await db();
    const reportsDir = temp();
    const store = new PostgresBacklogStore({ sql: d.sql, log: silentLogger, clock: () => NOW });
    const access = buildAccess(
      {
        agents: {
          scheduler: { key_env: "SCHEDULER_API_KEY", entitlements: ["tools.backlog.admin", "tools.pressure.write", "tools.risk.write"] },
          reader: { key_env: "READER_KEY", entitlements: ["tools.backlog.read", "tools.risk.read", "tools.pressure.read"] },
        },
      },
      { SCHEDULER_API_KEY: "sched-key-0123456789", READER_KEY: "reader-key-0123456789" },
    );
    const server = await startServer({ store, access, port: 0, host: "127.0.0.1", clock: () => NOW, log: silentLogger, env: { BACKLOG_REPORTS_DIR: reportsDir } });
    try {
      const post = async (key: string, body: Record<string, unknown>) => {
        const res = await fetch(`${server.url}/v1/tools/execute`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify(body) });
        return { status: res.status, body: (await res.json()) as any };
      };
      const call = async (tool: string, action: string, params: Record<string, unknown> = {}) => {
        const r = await post("sched-key-0123456789", { tool, action, ...params });
        if (r.status !== 200) throw new Error(`${tool}.${action} → ${r.status} ${JSON.stringify(r.body)}`);
        return r.body;
      };
      const { platform, generated } = await runChain(call, reportsDir);
      await expectItemsMatchDigest(store, platform, generated);

      const denied = await post("reader-key-0123456789", { tool: "architecture_pressure_tool", action: "digest", env: "prod" });
      expect(denied).toMatchObject({ status: 403, body: { required: "tools.pressure.write" } });
      const badParams = await post("sched-key-0123456789", { tool: "risk_history_tool", action: "record", service: "gw", signals: { slo_burn_rate: -1 } });
      expect(badParams.status).toBe(400);
      expect(badParams.body.error).toContain("signals.slo_burn_rate: must be a number from 0 to 1000");
    } finally {
      await server.stop();
    }
  });
});

describe("through the scripts with BACKLOG_BACKEND=postgres", () => {
  test("risk.ts imports into risk_signals; tool.ts snapshots; a missing history is a clear error and no file", async () => {
    const d = await db();
    const dir = temp();
    const env = { BACKLOG_BACKEND: "postgres", BACKLOG_POSTGRES_DSN: d.dsn, BACKLOG_REPORTS_DIR: join(dir, "reports") };
    const missing = await runScript("scripts/tool.ts", ["architecture_pressure_tool", "digest", "--params-json", '{"env":"prod"}'], { env });
    expectExit(missing, 1);
    expect(missing.stderr).toContain("No risk history for prod between");
    expect(missing.stderr).toContain("No platform digest was written.");
    expect(existsSync(join(dir, "reports"))).toBe(false);

    const file = join(dir, "signals.json");
    writeFileSync(file, JSON.stringify([{ env: "prod", service: "gateway", signals: { incidents_sev1_30d: 2, slo_burn_rate: 3 } }]));
    const imported = await runScript("scripts/risk.ts", ["--from-file", file], { env });
    expect({ code: imported.code, stderr: imported.code === 0 ? "" : imported.stderr }).toEqual({ code: 0, stderr: "" });
    expect(JSON.parse(imported.stdout)).toMatchObject({ recorded: 1, storage: "PostgresRiskHistory" });
    const snap = await runScript("scripts/tool.ts", ["risk_history_tool", "snapshot", "--params-json", '{"env":"prod"}'], { env });
    expect(JSON.parse(snap.stdout)).toMatchObject({ inserted: 1, storage: "PostgresRiskHistory", services: [{ service: "gateway", score: 31.7, band: "medium" }] });
    const [row] = await d.sql`select service, score, band from risk_history`;
    expect(row).toEqual({ service: "gateway", score: 31.7, band: "medium" });
  });
});
