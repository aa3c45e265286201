/**
 * One contract for every risk history backend (memory, JSONL, Postgres), plus which backend
 * riskHistoryFor picks for each backlog store.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../../lib/core/log.ts";
import type { HistoryRow, RiskHistoryStore } from "../../lib/risk/history-store.ts";
import { JsonlRiskHistory } from "../../lib/risk/jsonl.ts";
import { MemoryRiskHistory } from "../../lib/risk/memory.ts";
import { PostgresRiskHistory } from "../../lib/risk/postgres.ts";
import type { SignalRecord } from "../../lib/risk/signals.ts";
import { riskHistoryFor } from "../../lib/risk/storage.ts";
import { AutoBacklogStore } from "../../lib/store/auto/store.ts";
import { JsonlBacklogStore } from "../../lib/store/jsonl/store.ts";
import { MemoryBacklogStore } from "../../lib/store/memory.ts";
import { PostgresBacklogStore } from "../../lib/store/postgres/store.ts";
import { freshDatabase, type TestDb } from "../helpers/pg.ts";

const sig = (id: string, env: string, service: string, ts: string, recorded_at = ts): SignalRecord => ({
  id,
  env,
  service,
  ts,
  signals: { slo_burn_rate: 1.5, critical_vulns: 2 },
  source: "test",
  actor: "tester",
  recorded_at,
});

const hist = (env: string, service: string, hour: string, score = 10): HistoryRow => ({
  env,
  service,
  hour,
  score,
  band: "low",
  contributions: { slo_burn_rate: score },
  signals: { slo_burn_rate: 1 },
  created_at: "2026-03-01T00:00:00.000Z",
});

const H = (d: number, h = 0) => new Date(Date.UTC(2026, 2, d, h)).toISOString();

function contract(label: string, open: () => Promise<RiskHistoryStore>) {
  describe(`risk history contract: ${label}`, () => {
    test("signals: filtered by env and window, oldest first", async () => {
      const s = await open();
      await s.addSignals([sig("a", "prod", "gw", H(3)), sig("b", "prod", "gw", H(1)), sig("c", "staging", "gw", H(2)), sig("d", "prod", "db", H(9))]);
      const got = await s.signals("prod", H(1), H(5));
      expect(got.map((r) => r.id)).toEqual(["b", "a"]);
      expect(got[0]).toEqual(sig("b", "prod", "gw", H(1)));
      expect(await s.signals("dev", H(0), H(30))).toEqual([]);
    });

    test("snapshots: one row per (env, service, hour); repeats inside a batch and across calls insert nothing", async () => {
      const s = await open();
      const first = await s.addSnapshots([hist("prod", "gw", H(1, 5)), hist("prod", "db", H(1, 5)), hist("prod", "gw", H(1, 5), 99)]);
      expect(first.map((r) => [r.service, r.score])).toEqual([
        ["gw", 10],
        ["db", 10],
      ]);
      const again = await s.addSnapshots([hist("prod", "gw", H(1, 5), 50), hist("prod", "gw", H(1, 6), 20), hist("staging", "gw", H(1, 5))]);
      expect(again.map((r) => [r.env, r.service, r.hour])).toEqual([
        ["prod", "gw", H(1, 6)],
        ["staging", "gw", H(1, 5)],
      ]);
      const rows = await s.history("prod", H(1), H(2));
      expect(rows.map((r) => [r.service, r.hour, r.score])).toEqual([
        ["db", H(1, 5), 10],
        ["gw", H(1, 5), 10],
        ["gw", H(1, 6), 20],
      ]);
      expect(rows[0]).toEqual(hist("prod", "db", H(1, 5)));
    });

    test("concurrent snapshot runs for the same hour store each row once", async () => {
      const s = await open();
      const batch = ["a", "b", "c"].map((svc) => hist("prod", svc, H(4, 1)));
      const results = await Promise.all([s.addSnapshots(batch), s.addSnapshots(batch), s.addSnapshots(batch)]);
      expect(results.reduce((n, r) => n + r.length, 0)).toBe(3);
      expect((await s.history("prod", H(4), H(5))).length).toBe(3);
    });

    test("cleanup: dry run counts, the real run removes exactly the old rows", async () => {
      const s = await open();
      await s.addSignals([sig("old", "prod", "gw", H(1)), sig("new", "prod", "gw", H(10))]);
      await s.addSnapshots([hist("prod", "gw", H(1)), hist("prod", "gw", H(2)), hist("prod", "gw", H(10))]);
      expect(await s.cleanup(H(5), true)).toEqual({ signals: 1, history: 2 });
      expect((await s.history("prod", H(0), H(20))).length).toBe(3);
      expect(await s.cleanup(H(5), false)).toEqual({ signals: 1, history: 2 });
      expect((await s.signals("prod", H(0), H(20))).map((r) => r.id)).toEqual(["new"]);
      expect((await s.history("prod", H(0), H(20))).map((r) => r.hour)).toEqual([H(10)]);
      expect(await s.cleanup(H(5), false)).toEqual({ signals: 0, history: 0 });
    });

    test("cleanup of one env leaves the others", async () => {
      const s = await open();
      await s.addSignals([sig("p", "prod", "gw", H(1)), sig("s", "staging", "gw", H(1))]);
      await s.addSnapshots([hist("prod", "gw", H(1)), hist("staging", "gw", H(1))]);
      expect(await s.cleanup(H(5), true, "staging")).toEqual({ signals: 1, history: 1 });
      expect(await s.cleanup(H(5), false, "staging")).toEqual({ signals: 1, history: 1 });
      expect((await s.signals("prod", H(0), H(9))).length).toBe(1);
      expect((await s.history("prod", H(0), H(9))).length).toBe(1);
      expect(await s.history("staging", H(0), H(9))).toEqual([]);
    });
  });
}

contract("memory", async () => new MemoryRiskHistory());

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "bb-risk-"));
  dirs.push(d);
  return d;
};

contract("jsonl", async () => new JsonlRiskHistory({ dir: tempDir(), log: silentLogger }));

let db: TestDb;
beforeAll(async () => {
  db = await freshDatabase({ migrated: true });
});
afterAll(async () => {
  await db?.drop();
});
contract("postgres", async () => {
  await db.sql`truncate risk_signals, risk_history`;
  return new PostgresRiskHistory(db.sql);
});

describe("JSONL specifics", () => {
  test("another instance (another process) sees the same rows; a torn last line is cut off before the next append", async () => {
    const dir = tempDir();
    const a = new JsonlRiskHistory({ dir, log: silentLogger });
    await a.addSnapshots([hist("prod", "gw", H(1))]);
    const { appendFileSync } = await import("node:fs");
    appendFileSync(join(dir, "risk_history.jsonl"), '{"env":"prod","serv'); // a writer killed mid-line
    const b = new JsonlRiskHistory({ dir, log: silentLogger });
    expect((await b.addSnapshots([hist("prod", "gw", H(1)), hist("prod", "gw", H(2))])).length).toBe(1);
    const lines = readFileSync(join(dir, "risk_history.jsonl"), "utf8").trimEnd().split("\n");
    expect(lines.length).toBe(2);
    expect(lines.every((l) => JSON.parse(l).service === "gw")).toBe(true);
    expect((await a.history("prod", H(0), H(5))).length).toBe(2);
  });
});

describe("riskHistoryFor: the backlog store's backend decides", () => {
  test("memory, JSONL (same directory) and Postgres (same pool)", async () => {
    const mem = new MemoryBacklogStore();
    expect(riskHistoryFor(mem, silentLogger).name).toBe("MemoryRiskHistory");
    expect(riskHistoryFor(mem, silentLogger)).toBe(riskHistoryFor(mem, silentLogger));

    const dir = tempDir();
    const jsonl = new JsonlBacklogStore({ dir, log: silentLogger });
    const jh = riskHistoryFor(jsonl, silentLogger) as JsonlRiskHistory;
    expect(jh.name).toBe("JsonlRiskHistory");
    expect(jh.dir).toBe(jsonl.dir);
    await jsonl.close();

    const pgStore = new PostgresBacklogStore({ sql: db.sql, log: silentLogger });
    const ph = riskHistoryFor(pgStore, silentLogger);
    expect(ph.name).toBe("PostgresRiskHistory");
    await ph.addSnapshots([hist("prod", "route-test", H(20))]);
    expect((await db.sql`select count(*)::int as n from risk_history where service = 'route-test'`)[0]!.n).toBe(1);
  });

  test("auto: Postgres while it serves, the JSONL directory when there is no Postgres", async () => {
    const dir = tempDir();
    const onJsonl = await AutoBacklogStore.open({ pg: null, dir, log: silentLogger });
    expect(riskHistoryFor(onJsonl, silentLogger).name).toBe("JsonlRiskHistory");
    await riskHistoryFor(onJsonl, silentLogger).addSnapshots([hist("prod", "gw", H(1))]);
    expect(readFileSync(join(dir, "risk_history.jsonl"), "utf8")).toContain('"service":"gw"');
    await onJsonl.close();

    const onPg = await AutoBacklogStore.open({ pg: { source: "test", dsn: db.dsn, connectTimeoutSeconds: 5 }, dir: tempDir(), log: silentLogger });
    try {
      expect(onPg.name).toBe("PostgresBacklogStore");
      expect(riskHistoryFor(onPg, silentLogger).name).toBe("PostgresRiskHistory");
    } finally {
      await onPg.close();
    }
  });

  test("auto: rows written to JSONL during an outage move into Postgres once it serves again, once", async () => {
    const dir = tempDir();
    const outage = await AutoBacklogStore.open({ pg: null, dir, log: silentLogger });
    await riskHistoryFor(outage, silentLogger).addSignals([sig("outage-1", "prod", "outage-svc", H(7))]);
    await riskHistoryFor(outage, silentLogger).addSnapshots([hist("prod", "outage-svc", H(7))]);
    await outage.close();

    const back = await AutoBacklogStore.open({ pg: { source: "test", dsn: db.dsn, connectTimeoutSeconds: 5 }, dir, log: silentLogger });
    try {
      const h = riskHistoryFor(back, silentLogger);
      expect((await h.history("prod", H(7), H(7))).map((r) => r.service)).toContain("outage-svc");
      expect((await h.signals("prod", H(7), H(7))).map((r) => r.id)).toContain("outage-1");
      expect(readFileSync(join(dir, "risk_history.jsonl"), "utf8")).toBe("");
      expect(readFileSync(join(dir, "risk_signals.jsonl"), "utf8")).toBe("");
      // A crash after the insert and before the files were emptied hands the rows over again: no duplicates.
      await new JsonlRiskHistory({ dir, log: silentLogger }).addSignals([sig("outage-1", "prod", "outage-svc", H(7))]);
      await h.signals("prod", H(7), H(7));
      expect((await db.sql`select count(*)::int as n from risk_signals where id = 'outage-1'`)[0]!.n).toBe(1);
    } finally {
      await back.close();
    }
  });

  test("Postgres without migration 000004 says which migration to run", async () => {
    const empty = await freshDatabase();
    try {
      await expect(new PostgresRiskHistory(empty.sql).history("prod", H(1), H(2))).rejects.toThrow(/no risk_signals\/risk_history tables: run the migrations first \(npx bun run migrate; 000004_risk_history\.sql\)/);
    } finally {
      await empty.drop();
    }
  });
});
