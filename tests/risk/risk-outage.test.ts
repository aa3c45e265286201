/**
 * Risk history on the auto backend through a real Postgres outage (a private cluster, stopped like a
 * crash): signals keep being recorded on JSONL, the hourly snapshot (which scores from every service's
 * signals, most of them only in Postgres) refuses with 503 instead of scoring from the fallback, and once
 * Postgres is back the outage's signals are in the tables exactly once and the hour's snapshot uses them.
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { silentLogger } from "../../lib/core/log.ts";
import { loadMigrations, migrate } from "../../lib/pg/migrate.ts";
import { REPO_ROOT } from "../../lib/config/index.ts";
import { loadPolicy } from "../../lib/generation/policy.ts";
import { AutoBacklogStore } from "../../lib/store/auto/store.ts";
import { dispatch } from "../../lib/tools/dispatch.ts";
import { loadToolRegistry } from "../../lib/tools/index.ts";
import { startCluster, type Cluster } from "../helpers/pg-cluster.ts";
import { pgConfig } from "../store/auto-harness.ts";

setDefaultTimeout(60_000);

let cluster: Cluster;
let dir: string;
beforeAll(async () => {
  cluster = await startCluster();
  dir = mkdtempSync(join(tmpdir(), "bb-risk-outage-"));
});
afterAll(() => {
  cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test("signals recorded during an outage land on JSONL, the snapshot is refused; after recovery they are in Postgres once and the hour is scored with them", async () => {
  const sql = postgres(cluster.dsn, { max: 1, onnotice: () => {} });
  await migrate(sql as never, await loadMigrations());
  let now = new Date("2026-03-11T10:05:00.000Z");
  const store = await AutoBacklogStore.open({ pg: pgConfig(cluster.dsn), dir, retrySeconds: 3600, log: silentLogger, clock: () => now });
  const registry = await loadToolRegistry({ policy: loadPolicy(undefined, {}) });
  const ctx = {
    store,
    agent: "scheduler",
    entitlements: ["tools.risk.write", "tools.pressure.write", "tools.backlog.admin"],
    now: () => now,
    log: silentLogger,
    paths: { root: REPO_ROOT, reportsDir: join(dir, "reports"), policyFile: join(REPO_ROOT, "config/backlog_policy.yml") },
  };
  const call = (action: string, params: Record<string, unknown>) => dispatch(registry, { tool: "risk_history_tool", action, params }, ctx) as Promise<any>;
  try {
    expect(await call("record", { service: "gw", signals: { slo_burn_rate: 2 }, ts: "2026-03-11T10:00:00Z" })).toMatchObject({ storage: "PostgresRiskHistory" });
    expect(await call("snapshot", {})).toMatchObject({ inserted: 1, storage: "PostgresRiskHistory" });

    await sql`checkpoint`;
    cluster.pause();
    now = new Date("2026-03-11T11:05:00.000Z");
    // Postgres died under the store: the call notices, the auto store falls back, JSONL answers.
    const during = await call("record", { service: "gw", signals: { slo_burn_rate: 3 }, ts: "2026-03-11T11:00:00Z" });
    expect(during.storage).toBe("JsonlRiskHistory");
    expect(store.name).toBe("JsonlBacklogStore");
    await expect(call("snapshot", {})).rejects.toMatchObject({ code: "degraded", status: 503 });

    cluster.resume();
    expect(await store.recover()).toBe(true);
    now = new Date("2026-03-11T11:30:00.000Z");
    // The same hour, on the full view: scored with the signal recorded in the outage; a second run adds nothing.
    expect(await call("snapshot", {})).toMatchObject({ inserted: 1, storage: "PostgresRiskHistory" });
    expect(await call("snapshot", {})).toMatchObject({ inserted: 0, existing: 1, storage: "PostgresRiskHistory" });
    const digest = await call("digest", {});
    expect(digest.digest.services[0]).toMatchObject({ service: "gw", risk_score: 15, delta_24h: 0 });
    const check = postgres(cluster.dsn, { max: 1, onnotice: () => {} });
    try {
      const rows = await check`select to_char(hour at time zone 'UTC', 'HH24') as h, score from risk_history order by hour`;
      expect(rows.map((r) => [r.h, r.score])).toEqual([
        ["10", 10],
        ["11", 15],
      ]);
      expect((await check`select count(*)::int as n from risk_signals`)[0]!.n).toBe(2);
    } finally {
      await check.end();
    }
    const left = (name: string) => (existsSync(join(dir, name)) ? readFileSync(join(dir, name), "utf8") : "");
    expect(left("risk_history.jsonl")).toBe("");
    expect(left("risk_signals.jsonl")).toBe("");
  } finally {
    await store.close();
    await sql.end({ timeout: 1 }).catch(() => {});
  }
});
