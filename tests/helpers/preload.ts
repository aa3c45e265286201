/**
 * bun test preload: the preflight (every external program the suite needs, see preflight.ts), then
 * one PostgreSQL server for the whole run.
 * - TEST_POSTGRES_DSN set → use that server (role needs CREATEDB).
 * - otherwise → start a throwaway cluster (pg-cluster.ts) and stop/remove it at the end,
 *   also on failure or Ctrl-C. Missing binaries fail the run loudly; nothing is skipped.
 * Two template databases are prepared so each test file gets a fresh database cheaply (see pg.ts).
 * TMPDIR points at one folder per run (tmp-run.ts): leftovers fail the run and the folder is removed.
 */
import { afterAll } from "bun:test";
import process from "node:process";
import postgres from "postgres";
import { loadMigrations, migrate } from "../../lib/pg/migrate.ts";
import { rmSync } from "node:fs";
import { findPgBin, reapStaleClusters, startCluster, type Cluster } from "./pg-cluster.ts";
import { missingPrograms, preflightReport } from "./preflight.ts";
import { beginTmpRun, staleRunDirs } from "./tmp-run.ts";
import { removeAllTempDirs } from "./tmp.ts";

// Before anything else: every external program the suites drive, named with its install command.
{
  const missing = missingPrograms();
  if (missing.length) {
    process.stderr.write(preflightReport(missing));
    process.exit(1);
  }
}

// A run's temp files all go into one folder of its own (tmp-run.ts); killed runs' folders are reaped first,
// with any Postgres cluster still running in them.
const base = process.env.TMPDIR || "/tmp";
for (const stale of staleRunDirs(base)) {
  if (!process.env.TEST_POSTGRES_DSN) reapStaleClusters(findPgBin(), stale);
  rmSync(stale, { recursive: true, force: true });
}
const tmpRun = beginTmpRun(base);
let cluster: Cluster | undefined;
// Also when the start below fails: the cluster (if any) stops before its folder goes.
process.on("exit", () => (cluster?.stop(), tmpRun.remove()));

if (!process.env.TEST_POSTGRES_DSN) {
  reapStaleClusters(findPgBin(), base); // clusters of runs from before run folders
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

// Last: whatever the tests left in the run's temp folder, other than tempDir() folders, is a leak: name
// it, fail the run, remove it.
afterAll(() => {
  cluster?.stop(); // idempotent; whichever order the hooks run in, Postgres stops before its folder goes
  removeAllTempDirs(); // made with tempDir(): the run removes them
  const left = tmpRun.leftovers();
  tmpRun.remove();
  if (left.length) {
    throw new Error(`tests left ${left.length} entries in their temp folder (each test must remove what it creates in /tmp): ${left.join(", ")}`);
  }
});

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
