/**
 * The risk, pressure and trends jobs on the auto store while its PRIVATE Postgres cluster is stopped. The
 * JSONL fallback holds only what was recorded during the outage, so a snapshot scored from it, a digest
 * read from it or a day's counts taken from it would be wrong and would stay: a risk or platform digest
 * listing only the outage's services (the generations then act on it: the weekly one auto-resolves the
 * items of every service missing from it), a false dip in a trend chart. They refuse with the store's
 * `degraded` error (503) and write nothing; recording signals goes on.
 */
import { expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { silentLogger } from "../../lib/core/log.ts";
import { parsePolicyText } from "../../lib/generation/policy.ts";
import { AutoBacklogStore } from "../../lib/store/auto/store.ts";
import { createToolContext, dispatch, loadToolRegistry } from "../../lib/tools/index.ts";
import { autoHarness, pgConfig, waitFor } from "../store/auto-harness.ts";

setDefaultTimeout(90_000);
const { pause, resume, database, tempDir, cleanups } = autoHarness();
const TOOLS = await loadToolRegistry({ policy: parsePolicyText("envs: [prod]\n", "outage.yml"), only: ["risk_history_tool", "architecture_pressure_tool", "trends_tool"] });

test("risk snapshot, risk digest, platform digest and trends snapshot with Postgres down: 503, nothing written; signals are still recorded; after the recovery all run on the full view", async () => {
  const { dsn, sql } = await database();
  const reports = tempDir();
  let now = new Date("2026-11-23T05:10:00Z");
  const store = await AutoBacklogStore.open({ pg: pgConfig(dsn), dir: tempDir(), retrySeconds: 1, clock: () => now, log: silentLogger });
  cleanups.push(() => store.close());
  const ctx = createToolContext({ store, agent: "scheduler", entitlements: ["tools.risk.write", "tools.pressure.write", "tools.backlog.write"], now: () => now, log: silentLogger, paths: { root: reports, reportsDir: reports, policyFile: "outage.yml" } });
  const call = (tool: string, action: string, params: Record<string, unknown> = {}) => dispatch(TOOLS, { tool, action, params }, ctx) as Promise<any>;

  // Postgres serving: two services report, the 05:00 snapshot scores both.
  await call("risk_history_tool", "record", { env: "prod", service: "gateway", signals: { incidents_sev1_30d: 3, slo_burn_rate: 4 } });
  await call("risk_history_tool", "record", { env: "prod", service: "ledger", signals: { critical_vulns: 5 } });
  expect(await call("risk_history_tool", "snapshot", { env: "prod" })).toMatchObject({ inserted: 2 });

  // The outage: ledger reports again (accepted, on the fallback); the deciding calls refuse.
  now = new Date("2026-11-23T06:10:00Z");
  await pause();
  // The first call finds Postgres gone in the middle of its read and finishes that read on the fallback
  // (no history there): refused as degraded after the read, not "No risk history".
  expect(store.name).toBe("PostgresBacklogStore");
  await expect(call("architecture_pressure_tool", "digest", { env: "prod" })).rejects.toMatchObject({ code: "degraded", status: 503 });
  expect(store.name).toBe("JsonlBacklogStore");
  expect(await call("risk_history_tool", "record", { env: "prod", service: "ledger", signals: { critical_vulns: 4 } })).toMatchObject({ recorded: 1 });
  for (const dry_run of [false, true]) {
    for (const [tool, action, params] of [
      ["risk_history_tool", "snapshot", { env: "prod" }],
      ["risk_history_tool", "digest", { env: "prod" }],
      ["architecture_pressure_tool", "digest", { env: "prod" }],
      ["trends_tool", "snapshot", {}],
    ] as const) {
      await expect(call(tool, action, { ...params, dry_run }), `${tool}.${action} dry_run=${dry_run}`).rejects.toMatchObject({ code: "degraded", status: 503 });
    }
  }
  expect(existsSync(reports) ? readdirSync(reports, { recursive: true }) : []).toEqual([]);

  resume();
  await waitFor("the switch back to Postgres", () => store.name === "PostgresBacklogStore");
  // Nothing of the refused calls reached Postgres; the signal recorded in the outage did.
  expect([...(await sql`select hour from risk_history`)].length).toBe(2);
  expect([...(await sql`select 1 from backlog_trends`)].length).toBe(0);
  expect((await sql<{ n: number }[]>`select count(*)::int as n from risk_signals where service = 'ledger'`)[0]!.n).toBe(2);
  // On the full view: the 06:00 snapshot scores both services, the digest lists both.
  expect(await call("risk_history_tool", "snapshot", { env: "prod" })).toMatchObject({ inserted: 2 });
  expect(await call("risk_history_tool", "digest", { env: "prod" })).toMatchObject({ written: true, services: 2 });
  expect(await call("architecture_pressure_tool", "digest", { env: "prod" })).toMatchObject({ written: true, services: 2 });
  expect((await call("trends_tool", "snapshot", {})).rows).toHaveLength(1);

  // The risk digest, too, when the switch comes during its read.
  await pause();
  expect(store.name).toBe("PostgresBacklogStore");
  await expect(call("risk_history_tool", "digest", { env: "prod" })).rejects.toMatchObject({ code: "degraded", status: 503 });
  expect(store.name).toBe("JsonlBacklogStore");
  resume();
});
