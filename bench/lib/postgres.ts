/**
 * A Postgres database for a benchmark: on BENCH_POSTGRES_DSN or TEST_POSTGRES_DSN when set (the role
 * needs CREATEDB), else on a throwaway cluster (tests/helpers/pg-cluster.ts: fsync off, like the test
 * harness). Each benchmark gets a fresh, migrated database, dropped at the end; an owned cluster is
 * stopped at the end, also on Ctrl-C.
 */
import process from "node:process";
import postgres from "postgres";
import { connectPg, type Sql } from "../../lib/pg/db.ts";
import { loadMigrations, migrate } from "../../lib/pg/migrate.ts";
import { redactDsn } from "../../lib/core/redact.ts";
import { startCluster, type Cluster } from "../../tests/helpers/pg-cluster.ts";
import { progress } from "./main.ts";

export interface BenchDb {
  /** DSN of the fresh database (password included: keep it out of output). */
  dsn: string;
  /** A pool with the app's own settings (lib/pg/db.ts connectPg: dates as strings, …). */
  sql: Sql;
  /** Where it runs, without the password. */
  where: string;
}

let cluster: Cluster | undefined;

/**
 * Starts a private cluster (once per process) unless a DSN was given; returns the admin DSN.
 * bench/index.ts starts one for all benchmarks and passes it on as BENCH_POSTGRES_DSN with
 * BENCH_POSTGRES_THROWAWAY=1 (so the results still say fsync was off).
 */
export async function adminDsn(): Promise<string> {
  const given = process.env.BENCH_POSTGRES_DSN || process.env.TEST_POSTGRES_DSN;
  if (given) return given;
  if (!cluster) {
    progress("starting a throwaway PostgreSQL cluster (set BENCH_POSTGRES_DSN to use your own server)");
    cluster = await startCluster();
    const stop = () => cluster?.stop();
    process.on("exit", stop);
    for (const sig of ["SIGINT", "SIGTERM"] as const) {
      process.on(sig, () => {
        stop();
        process.exit(130);
      });
    }
  }
  return cluster.dsn;
}

export function stopOwnedCluster(): void {
  cluster?.stop();
  cluster = undefined;
}

export function withDatabase(dsn: string, database: string): string {
  const url = new URL(dsn);
  url.pathname = "/" + database;
  return url.toString();
}

let counter = 0;

/** Runs `fn` on a fresh migrated database; drops it afterwards (and stops a cluster this process started). */
export async function withBenchDb<T>(fn: (db: BenchDb) => Promise<T>, poolSize = 4): Promise<T> {
  const admin = await adminDsn();
  const name = `bb_bench_${process.pid}_${counter++}`;
  const a = postgres(admin, { max: 1, onnotice: () => {} });
  let sql: Sql | undefined;
  try {
    await a.unsafe(`create database ${name}`);
    const dsn = withDatabase(admin, name);
    sql = connectPg({ source: "bench", dsn, connectTimeoutSeconds: 10 }, { max: poolSize });
    await migrate(sql, await loadMigrations());
    const version = (await sql.unsafe("show server_version"))[0]?.server_version;
    const throwaway = cluster !== undefined || process.env.BENCH_POSTGRES_THROWAWAY === "1";
    const where = `${redactDsn(dsn)} (PostgreSQL ${version}${throwaway ? ", throwaway cluster, fsync=off" : ""})`;
    return await fn({ dsn, sql, where });
  } finally {
    await sql?.end({ timeout: 5 });
    await a.unsafe(`drop database if exists ${name} with (force)`).catch(() => {});
    await a.end();
    stopOwnedCluster();
  }
}
