/**
 * Fresh databases for tests, cloned from the templates made in preload.ts:
 *   const db = await freshDatabase({ migrated: true });   // db.dsn, db.sql, await db.drop()
 * Every test file (or test) gets its own database, so no test sees another's rows.
 */
import process from "node:process";
import postgres from "postgres";
import type { Sql } from "../../lib/pg/db.ts";

export interface TestDb {
  name: string;
  dsn: string;
  sql: Sql;
  drop(): Promise<void>;
}

let counter = 0;

export function adminDsn(): string {
  const dsn = process.env.TEST_POSTGRES_DSN;
  if (!dsn) throw new Error("TEST_POSTGRES_DSN is not set: run the tests with `bun test` so tests/helpers/preload.ts starts Postgres.");
  return dsn;
}

export function dsnFor(database: string): string {
  const url = new URL(adminDsn());
  url.pathname = "/" + database;
  return url.toString();
}

export async function freshDatabase(opts: { migrated?: boolean } = {}): Promise<TestDb> {
  const template = opts.migrated ? process.env.TEST_PG_TEMPLATE_MIGRATED : process.env.TEST_PG_TEMPLATE_EMPTY;
  const name = `bb_t_${process.pid}_${Date.now().toString(36)}_${counter++}`;
  const admin = postgres(adminDsn(), { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database ${name} template ${template}`);
  } finally {
    await admin.end();
  }
  const dsn = dsnFor(name);
  const sql = postgres(dsn, { max: 5, onnotice: () => {} }) as unknown as Sql;
  return {
    name,
    dsn,
    sql,
    async drop() {
      await sql.end({ timeout: 5 });
      const a = postgres(adminDsn(), { max: 1, onnotice: () => {} });
      try {
        await a.unsafe(`drop database if exists ${name} with (force)`);
      } finally {
        await a.end();
      }
    },
  };
}
