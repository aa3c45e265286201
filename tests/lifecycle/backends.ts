/** The four BacklogStore backends, each fresh and empty, for the lifecycle tests (same list as the contract suite). */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolvePgConfig } from "../../lib/pg/db.ts";
import { silentLogger } from "../../lib/core/log.ts";
import { AutoBacklogStore } from "../../lib/store/auto/store.ts";
import { JsonlBacklogStore } from "../../lib/store/jsonl/store.ts";
import { MemoryBacklogStore } from "../../lib/store/memory.ts";
import { PostgresBacklogStore } from "../../lib/store/postgres/store.ts";
import type { BacklogStore } from "../../lib/store/types.ts";
import { freshDatabase } from "../helpers/pg.ts";

export interface Opened {
  store: BacklogStore;
  /** Closes the store and removes what it created (database, directory). */
  dispose(): Promise<void>;
}

export const BACKENDS: Record<string, (clock: () => Date) => Promise<Opened>> = {
  memory: async (clock) => {
    const store = new MemoryBacklogStore({ clock });
    return { store, dispose: () => store.close() };
  },
  jsonl: async (clock) => {
    const dir = mkdtempSync(join(tmpdir(), "bb-life-jsonl-"));
    const store = new JsonlBacklogStore({ dir, clock, log: silentLogger });
    return { store, dispose: async () => (await store.close(), rmSync(dir, { recursive: true, force: true })) };
  },
  postgres: async (clock) => {
    const db = await freshDatabase({ migrated: true });
    const store = new PostgresBacklogStore({ config: resolvePgConfig({ dsn: db.dsn }, {})!, clock, log: silentLogger });
    return { store, dispose: async () => (await store.close(), await db.drop()) };
  },
  auto: async (clock) => {
    const db = await freshDatabase({ migrated: true });
    const dir = mkdtempSync(join(tmpdir(), "bb-life-auto-"));
    const store = await AutoBacklogStore.open({ pg: resolvePgConfig({ dsn: db.dsn }, {})!, dir, clock, log: silentLogger });
    if (store.degraded) throw new Error("auto store did not reach Postgres");
    return { store, dispose: async () => (await store.close(), await db.drop(), rmSync(dir, { recursive: true, force: true })) };
  },
};
