/**
 * A tool call that meets a table a later migration creates (a partly migrated database) fails with
 * one sentence naming the fix, the same for the CLI and the HTTP API (both go through dispatch), not
 * Postgres's bare "relation … does not exist" (lib/pg/table-hint.ts unmigratedError).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { loadMigrations, migrate } from "../../lib/pg/migrate.ts";
import { freshDatabase, type TestDb } from "../helpers/pg.ts";
import { runScript } from "../helpers/run.ts";
import { tempDir } from "../helpers/tmp.ts";

let db: TestDb;
beforeAll(async () => {
  db = await freshDatabase();
  await migrate(db.sql, (await loadMigrations()).filter((m) => ["000001_backlog.sql", "000005_auto_replay.sql"].includes(m.name)));
});
afterAll(async () => {
  await db?.drop();
});

test("scripts/tool.ts backlog_tool dashboard on a partly migrated database: exit 1, the fix named, no password", async () => {
  const r = await runScript("scripts/tool.ts", ["backlog_tool", "dashboard"], {
    env: { BACKLOG_BACKEND: "postgres", BACKLOG_POSTGRES_DSN: db.dsn, BACKLOG_JSONL_DIR: tempDir("bb-unmigrated-") },
  });
  expect(r.code).toBe(1);
  expect(r.stderr).toContain("error: The database is not fully migrated (relation \"backlog_counts\" does not exist): run the migrations (npx bun run scripts/migrate.ts; --status lists what is pending).");
  expect(r.stderr + r.stdout).not.toContain(new URL(db.dsn).password);
});
