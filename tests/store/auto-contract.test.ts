/**
 * The store contract on `auto`, against a real Postgres in three modes:
 * 1. Postgres up: every call served by Postgres.
 * 2. Postgres down from the start: every call served by the JSONL fallback and journaled; after each
 *    test Postgres comes back, a fresh store replays the journal, and Postgres must then hold exactly
 *    what the fallback acknowledged (items field for field, events by type/time/actor/message).
 * 3. Postgres stopped (immediate, like a crash) and started again between operations: the store
 *    notices, falls back, recovers (replaying its journal) and serves the next call from Postgres.
 */
import { expect, setDefaultTimeout } from "bun:test";
import { silentLogger } from "../../lib/core/log.ts";
import { AutoBacklogStore } from "../../lib/store/auto/store.ts";
import { JsonlBacklogStore } from "../../lib/store/jsonl/store.ts";
import { PostgresBacklogStore } from "../../lib/store/postgres/store.ts";
import type { BacklogStore } from "../../lib/store/types.ts";
import { autoHarness, pgConfig } from "./auto-harness.ts";
import { storeContract } from "./contract.ts";

setDefaultTimeout(120_000);
const { pause, resume, database, tempDir } = autoHarness();
const opened = new WeakMap<BacklogStore, { dsn: string; dir: string; clock: () => Date }>();

storeContract("auto, Postgres up", {
  async open(clock) {
    const { dsn } = await database();
    const store = await AutoBacklogStore.open({ pg: pgConfig(dsn), dir: tempDir(), retrySeconds: 1, clock, log: silentLogger });
    expect(store.name).toBe("PostgresBacklogStore");
    return store;
  },
});

storeContract("auto, Postgres down from the start", {
  degraded: true,
  async open(clock) {
    const { dsn } = await database();
    const dir = tempDir();
    await pause();
    const store = await AutoBacklogStore.open({ pg: pgConfig(dsn), dir, retrySeconds: 3600, clock, log: silentLogger });
    expect(store.name).toBe("JsonlBacklogStore");
    opened.set(store, { dsn, dir, clock });
    return store;
  },
  async dispose(store) {
    const { dsn, dir, clock } = opened.get(store)!;
    resume();
    const again = await AutoBacklogStore.open({ pg: pgConfig(dsn), dir, retrySeconds: 3600, clock, log: silentLogger });
    try {
      expect(again.name).toBe("PostgresBacklogStore");
      const pg = new PostgresBacklogStore({ config: pgConfig(dsn), clock, log: silentLogger });
      const jsonl = new JsonlBacklogStore({ dir, clock, log: silentLogger });
      try {
        const [inPg, inJsonl] = [await pg.list({ limit: 1000 }), await jsonl.list({ limit: 1000 })];
        expect(inPg).toEqual(inJsonl);
        const shape = (evs: { type: string; ts: string; actor: string; message: string }[]) => evs.map((e) => `${e.ts} ${e.type} ${e.actor} ${e.message}`).sort();
        for (const it of inJsonl.items) expect(shape(await pg.events(it.id))).toEqual(shape(await jsonl.events(it.id)));
      } finally {
        await pg.close();
        await jsonl.close();
      }
    } finally {
      await again.close();
    }
  },
});

/** Stops and starts Postgres before every `every`-th call; the store has recovered before the call runs. */
function flapping(store: AutoBacklogStore, every: number): BacklogStore {
  let calls = 0;
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== "function" || prop === "close" || prop === "health") return value;
      return async (...args: unknown[]) => {
        if (++calls % every === 0) {
          await pause();
          resume();
          await target.health(); // the dead pool is noticed here: fallback …
          expect(target.name).toBe("JsonlBacklogStore");
          expect(await target.recover()).toBe(true); // … and back, replaying the (empty) journal
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

storeContract("auto, Postgres stopped and started between operations", {
  propertyRuns: 3, // each restart costs about a second
  async open(clock) {
    const { dsn } = await database();
    const store = await AutoBacklogStore.open({ pg: pgConfig(dsn), dir: tempDir(), retrySeconds: 3600, clock, log: silentLogger });
    return flapping(store, 10);
  },
});

