/**
 * lib/store/postgres/begin-safely.ts on a real Postgres: a transaction whose connection dies between two
 * of its statements. postgres.js 3.4.9 writes the next statement to the closed socket from a
 * setImmediate and the TypeError ("null is not an object (evaluating 'socket.write')") kills the process;
 * seen as a bare failure of tests/store/auto-stress.test.ts when Postgres was hard-stopped mid-transaction.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import postgres from "postgres";
import type { Sql } from "../../lib/pg/db.ts";
import { beginSafely } from "../../lib/pg/begin-safely.ts";
import { isConnectionError } from "../../lib/pg/connection-errors.ts";
import { lossyProxy } from "../helpers/lossy-proxy.ts";
import { freshDatabase, type TestDb } from "../helpers/pg.ts";

let db: TestDb;
let sql: Sql;
let killer: Sql;
beforeAll(async () => {
  db = await freshDatabase({ migrated: true });
  sql = postgres(db.dsn, { max: 2, onnotice: () => {} }) as unknown as Sql;
  killer = postgres(db.dsn, { max: 1, onnotice: () => {} }) as unknown as Sql;
});
afterAll(async () => {
  await sql.end({ timeout: 1 });
  await killer.end({ timeout: 1 });
  await db.drop();
});

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const next of ["a statement", "a savepoint", "unsafe"] as const) {
  test(`the connection dies between two statements; the next one (${next}) fails as a connection error, the process lives on`, async () => {
    const out = await beginSafely(sql, async (tx) => {
      const [row] = await tx<{ pid: number }[]>`select pg_backend_pid() as pid`;
      await killer`select pg_terminate_backend(${row!.pid})`;
      await settle(200); // the client sees its socket close while no statement is in flight
      if (next === "a statement") return tx`select 1`;
      if (next === "a savepoint") return tx.savepoint((sp) => sp`select 1`);
      return tx.unsafe("select 1");
    }).then(
      () => "resolved",
      (err: unknown) => err,
    );
    expect(isConnectionError(out)).toBe(true);
    await settle(50); // an uncaught TypeError from a setImmediate would surface here and fail the test
    expect([...(await sql`select 2 as x`)]).toEqual([{ x: 2 }]);
  });
}

test("the connection dies while a savepoint's statement is in flight: no ROLLBACK TO is written on the dead socket, the process lives on", async () => {
  // The auto replay applies each journal op in a savepoint; a Postgres hard stop mid-batch lands here.
  // postgres.js answers the failed savepoint with `rollback to` at once, on the connection that just
  // closed: a TypeError from a setImmediate (an uncaught error, which fails this test) unless held.
  const proxy = await lossyProxy(db.dsn);
  const via = postgres(proxy.dsn, { max: 1, onnotice: () => {} }) as unknown as Sql;
  try {
    const lost = proxy.loseRequest("select 'in the savepoint'");
    const out = beginSafely(via, (tx) => tx.savepoint((sp) => sp`select 'in the savepoint' as x`)).then(
      () => "resolved",
      (err: unknown) => err,
    );
    await lost.happened;
    lost.cut();
    expect(isConnectionError(await out)).toBe(true);
    await settle(100); // an uncaught TypeError from a setImmediate would surface here and fail the test
    expect([...(await via`select 3 as x`)]).toEqual([{ x: 3 }]); // the pool connects afresh
  } finally {
    await via.end({ timeout: 1 });
    await proxy.close();
  }
});
