/**
 * Migration 000013 on a real Postgres: the ICU branch (this server has ICU) folds letters beyond ASCII
 * like JavaScript, and the fallback a server without ICU takes, forced here by raising the error such a
 * server raises, still creates the collation, folding as the database's locale does.
 */
import { afterAll, expect, test } from "bun:test";
import { loadMigrations } from "../../lib/pg/migrate.ts";
import { freshDatabase, type TestDb } from "../helpers/pg.ts";

const dbs: TestDb[] = [];
afterAll(async () => {
  for (const d of dbs) await d.drop();
});

async function fold(db: TestDb, text: string): Promise<string> {
  const [row] = await db.sql<{ x: string }[]>`select lower(${text}::text collate backlog_search_fold) as x`;
  return row!.x;
}

const migration = async () => (await loadMigrations()).find((m) => m.name === "000013_search_fold.sql")!.sql;

test("with ICU: É and ẞ fold as JavaScript folds them", async () => {
  const db = await freshDatabase();
  dbs.push(db);
  await db.sql.unsafe(await migration());
  expect(await fold(db, "ÉLAN ẞ")).toBe("ÉLAN ẞ".toLowerCase());
});

test("without ICU: the fallback creates the collation from the database's own locale", async () => {
  const db = await freshDatabase();
  dbs.push(db);
  const icu = "create collation backlog_search_fold (provider = icu, locale = 'und');";
  const text = await migration();
  expect(text).toContain(icu);
  await db.sql.unsafe(text.replace(icu, "raise exception 'ICU is not supported in this build' using errcode = 'feature_not_supported';"));
  // the test cluster's locale is C: ASCII folds, É does not (the documented limit)
  expect(await fold(db, "ÉLAN")).toBe("Élan");
});
