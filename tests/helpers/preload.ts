/**
 * bun test preload: the preflight (every external program the suite needs, see preflight.ts), then
 * one PostgreSQL server for the whole run.
 * - TEST_POSTGRES_DSN set → use that server (role needs CREATEDB).
 * - otherwise → start a throwaway cluster (pg-cluster.ts) and stop/remove it at the end,
 *   also on failure or Ctrl-C. Missing binaries fail the run loudly; nothing is skipped.
 * Two template databases are prepared so each test file gets a fresh database cheaply (see pg.ts).
 */
import { afterAll } from "bun:test";
import process from "node:process";
import postgres from "postgres";
import { loadMigrations, migrate } from "../../lib/migrate.ts";
import { startCluster, type Cluster } from "./pg-cluster.ts";
import { missingPrograms, preflightReport } from "./preflight.ts";

// Before anything else: every external program the suites drive, named with its install command.
{
  const missing = missingPrograms();
  if (missing.length) {
    process.stderr.write(preflightReport(missing));
    process.exit(1);
  }
}

let cluster: Cluster | undefined;
if (!process.env.TEST_POSTGRES_DSN) {
  cluster = await startCluster();
  process.env.TEST_POSTGRES_DSN = cluster.dsn;
  const stop = () => cluster?.stop();
  process.on("exit", stop);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(sig, () => {
      stop();
      process.exit(130);
    });
  }
  afterAll(stop);
}

// Templates: suffixed with our pid so concurrent runs against a shared TEST_POSTGRES_DSN do not collide.
const empty = `bb_tpl_empty_${process.pid}`;
const migrated = `bb_tpl_migrated_${process.pid}`;
{
  const admin = postgres(process.env.TEST_POSTGRES_DSN!, { max: 1, onnotice: () => {} });
  for (const name of [empty, migrated]) {
    await admin.unsafe(`drop database if exists ${name}`);
    await admin.unsafe(`create database ${name}`);
  }
  await admin.end();
  const url = new URL(process.env.TEST_POSTGRES_DSN!);
  url.pathname = "/" + migrated;
  const tpl = postgres(url.toString(), { max: 1, onnotice: () => {} });
  await migrate(tpl as never, await loadMigrations());
  await tpl.end();
}
process.env.TEST_PG_TEMPLATE_EMPTY = empty;
process.env.TEST_PG_TEMPLATE_MIGRATED = migrated;

if (!cluster) {
  afterAll(async () => {
    const admin = postgres(process.env.TEST_POSTGRES_DSN!, { max: 1, onnotice: () => {} });
    for (const name of [empty, migrated]) await admin.unsafe(`drop database if exists ${name}`);
    await admin.end();
  });
}
