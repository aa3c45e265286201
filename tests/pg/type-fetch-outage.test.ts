/**
 * postgres.js 3.4.9 fetches the array types on every new connection, in a promise nobody awaits: when
 * Postgres goes away during that fetch, the promise is rejected with the next reconnect's error and the
 * process sees an unhandled `connect ECONNREFUSED` (bun test fails the running test on it; a server
 * exits). lib/pg/db.ts typesFetched: after a pool's first query its later connections fetch nothing.
 * Pools busy with transactions (beginSafely, as every write path) and plain queries while a private
 * Postgres is stopped and started again.
 */
import { expect, setDefaultTimeout, test } from "bun:test";
import { beginSafely } from "../../lib/pg/begin-safely.ts";
import { connectPg, ping, resolvePgConfig, type Sql } from "../../lib/pg/db.ts";
import { startCluster } from "../helpers/pg-cluster.ts";

setDefaultTimeout(120_000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("pools whose connections come and go while Postgres stops and starts: no unhandled error", async () => {
  const cluster = await startCluster();
  const cfg = resolvePgConfig({ dsn: cluster.dsn, connectTimeoutSeconds: 2 }, {})!;
  let answered = 0;
  try {
    for (let round = 0; round < 6; round++) {
      const pools: Sql[] = [];
      for (let p = 0; p < 4; p++) {
        const sql = connectPg(cfg, { max: 5 });
        await ping(sql, cfg);
        pools.push(sql);
      }
      let running = true;
      const workers = pools.flatMap((sql) =>
        Array.from({ length: 6 }, async () => {
          while (running) {
            await beginSafely(sql, async (tx) => {
              await tx`select pg_sleep(0.002)`;
              await tx`select 1`;
            }).then(() => answered++, () => {});
            await sql`select 1`.catch(() => {});
            await sleep(1); // an ended pool refuses at once: without a macrotask the loop would starve the timers
          }
        }),
      );
      await sleep(200);
      cluster.pause(); // an immediate stop: connections die mid-query, new ones are refused
      await sleep(150);
      void pools[round % 4]!.end({ timeout: round % 2 }).catch(() => {});
      await sleep(150);
      cluster.resume();
      await sleep(200);
      running = false;
      // Queries queued behind postgres.js' reconnect backoff (up to 20 s) are refused at once.
      await Promise.all(pools.map((p) => p.end({ timeout: 0 }).catch(() => {})));
      await Promise.all(workers);
    }
  } finally {
    cluster.stop();
  }
  expect(answered).toBeGreaterThan(0);
});
