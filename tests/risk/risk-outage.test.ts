/**
 * Risk history on the auto backend through a real Postgres outage (a private cluster, stopped like a
 * crash): the hourly snapshot keeps working on JSONL, and once Postgres is back the outage's rows are
 * in the tables exactly once.
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
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

test("snapshot during an outage lands on JSONL; after recovery it is in Postgres once and the files are empty", async () => {
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
    expect(await call("snapshot", {})).toMatchObject({ inserted: 1, storage: "JsonlRiskHistory" });
    expect(readFileSync(join(dir, "risk_history.jsonl"), "utf8")).toContain('"hour":"2026-03-11T11:00:00.000Z"');

    cluster.resume();
    expect(await store.recover()).toBe(true);
    now = new Date("2026-03-11T11:30:00.000Z");
    // Same hour again: the replayed row is there, so nothing new.
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
    expect(readFileSync(join(dir, "risk_history.jsonl"), "utf8")).toBe("");
    expect(readFileSync(join(dir, "risk_signals.jsonl"), "utf8")).toBe("");
  } finally {
    await store.close();
    await sql.end({ timeout: 1 }).catch(() => {});
  }
});
