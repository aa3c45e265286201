/**
 * The Postgres dashboard reads summary tables kept by triggers (migration 000010). Whatever the
 * writes — single and batch upserts, status changes, cleanup, deletes, concurrent writers, truncate —
 * its numbers must equal a recount of the items (computeDashboard over every row, the memory store's rule).
 */
import { afterAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { silentLogger } from "../../lib/core/log.ts";
import { computeDashboard } from "../../lib/store/compute-dashboard.ts";
import { PostgresBacklogStore } from "../../lib/store/postgres/store.ts";
import { rowToItem } from "../../lib/store/postgres/rows.ts";
import { queryDashboard } from "../../lib/store/postgres/dashboard.ts";
import type { Priority, Status, UpsertInput } from "../../lib/store/types.ts";
import { freshDatabase, type TestDb } from "../helpers/pg.ts";

const dbs: TestDb[] = [];
afterAll(async () => {
  for (const db of dbs) await db.drop();
});

const NOW = new Date("2026-11-23T10:00:00.000Z");
const ENVS = ["prod", "staging"];
const PRIORITIES: Priority[] = ["P0", "P1", "P2", "P3"];
const STATUSES: Status[] = ["open", "in_progress", "blocked", "done", "canceled"];

function input(k: number, env: string, priority: Priority, due: string | null, service: string): UpsertInput {
  return { env, service, category: "security", title: `t${k}`, priority, due_date: due, dedupe_key: `k${k}` };
}

async function expectRecount(db: TestDb): Promise<void> {
  const items = (await db.sql`select * from backlog_items`).map(rowToItem);
  for (const env of [undefined, ...ENVS]) {
    expect(await queryDashboard(db.sql, env, NOW)).toEqual(computeDashboard(items, env === undefined ? {} : { env }, NOW));
  }
}

const op = fc.oneof(
  fc.record({ kind: fc.constant("upsert" as const), k: fc.nat(30), env: fc.constantFrom(...ENVS), p: fc.constantFrom(...PRIORITIES), due: fc.option(fc.integer({ min: -20, max: 20 })), svc: fc.nat(5) }),
  fc.record({ kind: fc.constant("many" as const), ks: fc.array(fc.nat(30), { minLength: 1, maxLength: 6 }), env: fc.constantFrom(...ENVS), p: fc.constantFrom(...PRIORITIES) }),
  fc.record({ kind: fc.constant("status" as const), k: fc.nat(30), s: fc.constantFrom(...STATUSES) }),
  fc.record({ kind: fc.constant("cleanup" as const), days: fc.constantFrom(1, 30, 180) }),
  fc.record({ kind: fc.constant("delete" as const), k: fc.nat(30) }),
  fc.record({ kind: fc.constant("retarget" as const), k: fc.nat(30), env: fc.constantFrom(...ENVS), p: fc.constantFrom(...PRIORITIES) }),
);

const day = (offset: number) => new Date(NOW.getTime() + offset * 86_400_000).toISOString().slice(0, 10);

describe("Postgres dashboard from summary tables", () => {
  test("any sequence of writes: the numbers equal a recount of the items (fast-check, seeded)", async () => {
    const db = await freshDatabase({ migrated: true });
    dbs.push(db);
    let clock = new Date("2026-01-01T00:00:00.000Z");
    const store = new PostgresBacklogStore({ sql: db.sql, log: silentLogger, clock: () => clock });
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 25 }), async (ops) => {
        await db.sql`truncate backlog_items cascade`;
        clock = new Date("2026-01-01T00:00:00.000Z");
        for (const o of ops) {
          clock = new Date(clock.getTime() + 7 * 86_400_000);
          if (o.kind === "upsert") await store.upsert(input(o.k, o.env, o.p, o.due === null ? null : day(o.due), `svc${o.svc}`), { actor: "t" });
          else if (o.kind === "many") await store.upsertMany(o.ks.map((k) => input(k, o.env, o.p, day(k % 7 - 3), `svc${k % 4}`)), { actor: "t" });
          else if (o.kind === "status") {
            const [row] = await db.sql`select id from backlog_items where dedupe_key = ${`k${o.k}`}`;
            if (row) await store.setStatus(row.id as string, o.s, { actor: "t" });
          } else if (o.kind === "cleanup") await store.cleanup(o.days, NOW);
          else if (o.kind === "delete") await db.sql`delete from backlog_items where dedupe_key = ${`k${o.k}`}`;
          // columns no store write changes today (a hand edit, a future lifecycle step): counts must follow
          else await db.sql`update backlog_items set env = ${o.env}, priority = ${o.p} where dedupe_key = ${`k${o.k}`}`;
        }
        await expectRecount(db);
      }),
      { seed: 20261130, numRuns: 40 },
    );
  });

  test("8 concurrent writers on overlapping keys: no error reaches them, no drift", async () => {
    const db = await freshDatabase({ migrated: true });
    dbs.push(db);
    const store = new PostgresBacklogStore({ sql: db.sql, log: silentLogger, clock: () => NOW });
    await Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        for (let i = 0; i < 40; i++) {
          const k = (w * 7 + i) % 25;
          if (i % 5 === 4) await store.upsertMany([0, 1, 2].map((d) => input((k + d) % 25, ENVS[d % 2]!, PRIORITIES[(w + d) % 4]!, day(d - 1), `svc${d}`)), { actor: `w${w}` });
          else {
            const { item } = await store.upsert(input(k, ENVS[w % 2]!, PRIORITIES[w % 4]!, day((i % 9) - 4), `svc${k % 3}`), { actor: `w${w}` });
            await store.setStatus(item.id, STATUSES[(w + i) % 5]!, { actor: `w${w}` });
          }
        }
      }),
    );
    await expectRecount(db);
  });

  test("snoozed items (meta.snoozed_until after today) leave the overdue count until the day passes", async () => {
    const db = await freshDatabase({ migrated: true });
    dbs.push(db);
    const store = new PostgresBacklogStore({ sql: db.sql, log: silentLogger, clock: () => NOW });
    await store.upsert(input(1, "prod", "P1", day(-3), "a"), { actor: "t" });
    await store.upsert(input(2, "prod", "P1", day(-2), "a"), { actor: "t" });
    await db.sql`update backlog_items set meta = meta || ${db.sql.json({ snoozed_until: day(2) })} where dedupe_key = 'k1'`;
    const d = await queryDashboard(db.sql, "prod", NOW);
    expect(d.overdue_count).toBe(1);
    expect(d.overdue.map((o) => o.title)).toEqual(["t2"]);
    const later = new Date(NOW.getTime() + 3 * 86_400_000);
    expect((await queryDashboard(db.sql, "prod", later)).overdue_count).toBe(2);
  });

  test("truncate empties the summary too", async () => {
    const db = await freshDatabase({ migrated: true });
    dbs.push(db);
    const store = new PostgresBacklogStore({ sql: db.sql, log: silentLogger, clock: () => NOW });
    await store.upsert(input(1, "prod", "P1", day(-3), "a"), { actor: "t" });
    await db.sql`truncate backlog_items cascade`;
    expect((await queryDashboard(db.sql, undefined, NOW)).total).toBe(0);
    const [row] = await db.sql`select (select count(*) from backlog_counts) + (select count(*) from backlog_open_services) + (select count(*) from backlog_open_due) as n`;
    expect(Number(row!.n)).toBe(0);
  });
});
