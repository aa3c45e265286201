/**
 * One contract for every trends backend (memory, JSONL, Postgres), and which backend trendsFor picks
 * for each backlog store — including the auto store serving from Postgres.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../../lib/core/log.ts";
import { AutoBacklogStore } from "../../lib/store/auto/store.ts";
import { JsonlBacklogStore } from "../../lib/store/jsonl/store.ts";
import { MemoryBacklogStore } from "../../lib/store/memory.ts";
import { PostgresBacklogStore } from "../../lib/store/postgres/store.ts";
import { JsonlTrendStore } from "../../lib/trends/jsonl.ts";
import { MemoryTrendStore } from "../../lib/trends/memory.ts";
import { PostgresTrendStore } from "../../lib/trends/postgres.ts";
import { trendsFor } from "../../lib/trends/storage.ts";
import type { TrendStore } from "../../lib/trends/types.ts";
import { row } from "./rows.ts";
import { freshDatabase, type TestDb } from "../helpers/pg.ts";


function contract(label: string, open: () => Promise<TrendStore>) {
  describe(`trend store contract: ${label}`, () => {
    test("range: one env, the window inclusive, oldest first, values as stored", async () => {
      const s = await open();
      await s.put([row("prod", "2026-11-03"), row("prod", "2026-11-01", { open: 9 }), row("staging", "2026-11-02"), row("prod", "2026-11-10")]);
      const got = await s.range("prod", "2026-11-01", "2026-11-03");
      expect(got.map((r) => r.day)).toEqual(["2026-11-01", "2026-11-03"]);
      expect(got[0]).toEqual(row("prod", "2026-11-01", { open: 9 }));
      expect(await s.range("dev", "2026-01-01", "2026-12-31")).toEqual([]);
    });

    test("a later snapshot of the same day replaces the earlier one (also inside one batch)", async () => {
      const s = await open();
      await s.put([row("prod", "2026-11-05", { open: 1 }), row("prod", "2026-11-05", { open: 2 })]);
      await s.put([row("prod", "2026-11-05", { open: 3, recorded_at: "2026-11-05T23:59:00.000Z" })]);
      expect(await s.range("prod", "2026-11-05", "2026-11-05")).toEqual([row("prod", "2026-11-05", { open: 3, recorded_at: "2026-11-05T23:59:00.000Z" })]);
    });

    test("concurrent snapshots of one day leave one row", async () => {
      const s = await open();
      await Promise.all([1, 2, 3].map((k) => s.put([row("prod", "2026-11-06", { total: k })])));
      const rows = await s.range("prod", "2026-11-06", "2026-11-06");
      expect(rows.length).toBe(1);
      expect([1, 2, 3]).toContain(rows[0]!.total);
    });

    test("cleanup drops days before the cutoff, of one env or all; dry run only counts", async () => {
      const s = await open();
      await s.put([row("prod", "2026-01-01"), row("prod", "2026-06-01"), row("staging", "2026-01-02")]);
      expect(await s.cleanup("2026-03-01", true)).toBe(2);
      expect((await s.range("prod", "2026-01-01", "2026-12-31")).length).toBe(2);
      expect(await s.cleanup("2026-03-01", false, "staging")).toBe(1);
      expect(await s.range("staging", "2026-01-01", "2026-12-31")).toEqual([]);
      expect(await s.cleanup("2026-03-01", false)).toBe(1);
      expect((await s.range("prod", "2026-01-01", "2026-12-31")).map((r) => r.day)).toEqual(["2026-06-01"]);
    });
  });
}

contract("memory", async () => new MemoryTrendStore());

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "bb-trends-"));
  dirs.push(d);
  return d;
};

contract("jsonl", async () => new JsonlTrendStore({ dir: tempDir(), log: silentLogger }));

let db: TestDb;
beforeAll(async () => {
  db = await freshDatabase({ migrated: true });
});
afterAll(async () => {
  await db?.drop();
});
contract("postgres", async () => {
  await db.sql`truncate backlog_trends`;
  return new PostgresTrendStore(db.sql);
});

describe("JSONL specifics", () => {
  test("a torn last line is cut off before the next append; cleanup compacts replaced rows", async () => {
    const dir = tempDir();
    const a = new JsonlTrendStore({ dir, log: silentLogger });
    await a.put([row("prod", "2026-11-01")]);
    appendFileSync(join(dir, "trends.jsonl"), '{"env":"prod","da'); // a writer killed mid-line
    const b = new JsonlTrendStore({ dir, log: silentLogger });
    await b.put([row("prod", "2026-11-01", { open: 7 })]);
    expect(readFileSync(join(dir, "trends.jsonl"), "utf8").trimEnd().split("\n").length).toBe(2);
    expect((await a.range("prod", "2026-11-01", "2026-11-01"))[0]!.open).toBe(7);
    expect(await a.cleanup("2026-01-01", false)).toBe(0);
    expect(readFileSync(join(dir, "trends.jsonl"), "utf8").trimEnd().split("\n").length).toBe(1);
  });
});

describe("trendsFor: the backlog store's backend decides", () => {
  test("memory, JSONL (same directory), Postgres (same pool) and auto (the serving one)", async () => {
    expect(trendsFor(new MemoryBacklogStore(), silentLogger).name).toBe("MemoryTrendStore");
    const dir = tempDir();
    const jsonl = new JsonlBacklogStore({ dir, log: silentLogger });
    const jt = trendsFor(jsonl, silentLogger);
    expect(jt.name).toBe("JsonlTrendStore");
    await jt.put([row("prod", "2026-11-02")]);
    expect(readFileSync(join(dir, "trends.jsonl"), "utf8")).toContain('"day":"2026-11-02"');
    await jsonl.close();

    await db.sql`truncate backlog_trends`;
    const pg = new PostgresBacklogStore({ sql: db.sql, log: silentLogger });
    const pt = trendsFor(pg, silentLogger);
    expect(pt.name).toBe("PostgresTrendStore");
    await pt.put([row("prod", "2026-11-03")]);
    expect((await db.sql`select count(*)::int as n from backlog_trends`)[0]!.n).toBe(1);

    // auto on Postgres: rows a JSONL fallback wrote earlier move into Postgres on the first call
    const autoDir = tempDir();
    await new JsonlTrendStore({ dir: autoDir, log: silentLogger }).put([row("prod", "2026-11-04")]);
    const auto = await AutoBacklogStore.open({ pg: { source: "test", dsn: db.dsn, connectTimeoutSeconds: 5 }, dir: autoDir, log: silentLogger });
    try {
      const at = trendsFor(auto, silentLogger);
      expect(at.name).toBe("PostgresTrendStore");
      expect((await at.range("prod", "2026-11-01", "2026-11-30")).map((r) => r.day)).toEqual(["2026-11-03", "2026-11-04"]);
      expect(readFileSync(join(autoDir, "trends.jsonl"), "utf8")).toBe("");
    } finally {
      await auto.close();
    }
  });
});
