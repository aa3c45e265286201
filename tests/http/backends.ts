/** The HTTP app over a real Postgres store and over a JSONL store, side by side, for "same answer" tests. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../../lib/core/log.ts";
import { JsonlBacklogStore } from "../../lib/store/jsonl/store.ts";
import { PostgresBacklogStore } from "../../lib/store/postgres/store.ts";
import type { BacklogStore } from "../../lib/store/types.ts";
import { freshDatabase } from "../helpers/pg.ts";
import { buildTestApp } from "./harness.ts";

export interface Backend {
  label: "postgres" | "jsonl";
  store: BacklogStore;
  app: ReturnType<typeof buildTestApp>["app"];
  dispose(): Promise<void>;
}

const clock = () => new Date("2026-11-23T10:00:00Z");

export async function openBackends(opts: { anonymousRead?: boolean } = {}): Promise<[Backend, Backend]> {
  const db = await freshDatabase({ migrated: true });
  const pg = new PostgresBacklogStore({ sql: db.sql, clock, log: silentLogger });
  const dir = mkdtempSync(join(tmpdir(), "bb-http-jsonl-"));
  const jsonl = new JsonlBacklogStore({ dir, clock, log: silentLogger });
  const pgApp = buildTestApp(pg, opts);
  const jsonlApp = buildTestApp(jsonl, opts);
  return [
    {
      label: "postgres",
      store: pg,
      app: pgApp.app,
      async dispose() {
        await pg.close();
        await db.drop();
        rmSync(pgApp.reportsDir, { recursive: true, force: true });
      },
    },
    {
      label: "jsonl",
      store: jsonl,
      app: jsonlApp.app,
      async dispose() {
        await jsonl.close();
        rmSync(dir, { recursive: true, force: true });
        rmSync(jsonlApp.reportsDir, { recursive: true, force: true });
      },
    },
  ];
}
