/**
 * The migrations this code needs (lib/pg/schema-version.ts) are the files in migrations/, and a
 * database's ledger is compared with them: empty, partly and fully migrated, on a real Postgres.
 */
import { afterAll, expect, test } from "bun:test";
import { loadMigrations, migrate } from "../../lib/pg/migrate.ts";
import { missingMigrations, missingMigrationsText, REQUIRED_MIGRATIONS } from "../../lib/pg/schema-version.ts";
import { freshDatabase, type TestDb } from "../helpers/pg.ts";

const dbs: TestDb[] = [];
afterAll(async () => {
  for (const d of dbs) await d.drop();
});

test("the list names every file in migrations/, in order (a new migration must be added to it)", async () => {
  expect<string[]>([...REQUIRED_MIGRATIONS]).toEqual((await loadMigrations()).map((m) => m.name));
});

test("never migrated: all missing; partly: the rest; fully: none; the text names them and the command", async () => {
  const db = await freshDatabase();
  dbs.push(db);
  expect(await missingMigrations(db.sql)).toEqual([...REQUIRED_MIGRATIONS]);
  const all = await loadMigrations();
  await migrate(db.sql, all.filter((m) => ["000001_backlog.sql", "000005_auto_replay.sql"].includes(m.name)));
  const partly = await missingMigrations(db.sql);
  expect(partly).toEqual(REQUIRED_MIGRATIONS.filter((m) => m !== "000001_backlog.sql" && m !== "000005_auto_replay.sql"));
  expect(missingMigrationsText("pg://x", partly)).toBe(
    `Postgres at pg://x is not fully migrated (missing 000002_setup_job.sql, 000003_scheduler_runs.sql, 000004_risk_history.sql, 000006_backlog_trends.sql, and ${partly.length - 4} more): run the migrations (npx bun run scripts/migrate.ts, or the migrate Job).`,
  );
  await migrate(db.sql, all);
  expect(await missingMigrations(db.sql)).toEqual([]);
});
