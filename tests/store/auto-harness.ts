/**
 * A private Postgres cluster that auto-store tests stop (like a crash) and start again, plus the small
 * helpers those tests share. Each test file that calls `autoHarness()` gets its own cluster.
 */
import { afterAll, beforeAll, beforeEach } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { resolvePgConfig, type Sql } from "../../lib/pg/db.ts";
import { createLogger, type Logger } from "../../lib/core/log.ts";
import { loadMigrations, migrate } from "../../lib/pg/migrate.ts";
import { startCluster, type Cluster } from "../helpers/pg-cluster.ts";

export interface LogLine {
  level: string;
  event: string;
  [k: string]: unknown;
}

export function autoHarness() {
  let cluster: Cluster;
  const cleanups: (() => Promise<void> | void)[] = [];
  let paused = false;
  let dbCounter = 0;

  beforeAll(async () => {
    cluster = await startCluster();
  });
  afterAll(async () => {
    resume();
    for (const c of cleanups.reverse()) await c();
    cluster?.stop();
  });
  beforeEach(() => resume());

  /**
   * Stops the server (immediate mode: like a crash). The cluster runs with synchronous_commit=off, so a
   * checkpoint first makes sure commits acknowledged before the "outage" are on disk when it returns.
   */
  async function pause(): Promise<void> {
    const admin = postgres(cluster.dsn, { max: 1, onnotice: () => {} });
    await admin`checkpoint`;
    await admin.end();
    cluster.pause();
    paused = true;
  }
  /** Starts the server again; a no-op when it runs (so a failed test cannot leave it down for the next). */
  function resume(): void {
    if (paused) cluster.resume();
    paused = false;
  }

  /** A migrated database on the private cluster; `sql` is the test's own view of it. */
  async function database(): Promise<{ dsn: string; sql: Sql }> {
    const name = `auto_${dbCounter++}`;
    const admin = postgres(cluster.dsn, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${name}`);
    await admin.end();
    const url = new URL(cluster.dsn);
    url.pathname = "/" + name;
    const dsn = url.toString();
    const sql = postgres(dsn, { max: 4, onnotice: () => {} }) as unknown as Sql;
    await migrate(sql, await loadMigrations());
    cleanups.push(() => sql.end({ timeout: 1 }));
    return { dsn, sql };
  }

  function tempDir(): string {
    const dir = mkdtempSync(join(tmpdir(), "bb-auto-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  }

  return { pause, resume, database, tempDir, cleanups, isPaused: () => paused };
}

export function capture(): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  return { lines, log: createLogger({ level: "debug", write: (l) => lines.push(JSON.parse(l)) }) };
}

export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A generous connect timeout: a loaded test machine must not look like an outage (a stopped server refuses at once). */
export const pgConfig = (dsn: string) => resolvePgConfig({ dsn, connectTimeoutSeconds: 15 }, {})!;
