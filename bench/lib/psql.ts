/**
 * Runs SQL through the psql client (/usr/bin/psql) and returns the server-side statement times that
 * psql's \timing prints ("Time: 12.345 ms"): the baseline of bench/pg-upsert.ts is "the same rows in
 * one statement sent by psql", timed without psql's own start-up.
 */
import { writeFileSync } from "node:fs";
import process from "node:process";
import { runOk } from "./proc.ts";

const PSQL = process.env.PSQL || "/usr/bin/psql";

/** The password travels in PGPASSWORD, never on the command line (visible in ps). */
function connection(dsn: string): { uri: string; env: NodeJS.ProcessEnv } {
  const url = new URL(dsn);
  const password = decodeURIComponent(url.password);
  url.password = "";
  return { uri: url.toString(), env: { ...process.env, ...(password ? { PGPASSWORD: password } : {}) } };
}

/** Runs `file` with \timing on; returns the time of every statement, in order (ms). */
export function psqlTimed(dsn: string, file: string): number[] {
  const { uri, env } = connection(dsn);
  const { stdout } = runOk(PSQL, ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", "\\timing on", "-f", file, uri], { env });
  return [...stdout.matchAll(/^Time: ([\d.]+) ms/gm)].map((m) => Number(m[1]));
}

/** A SQL string literal (standard_conforming_strings: only the quote needs doubling). */
export const lit = (s: string | null): string => (s === null ? "null" : `'${s.replace(/'/g, "''")}'`);

export function writeSql(path: string, sql: string): void {
  writeFileSync(path, sql);
}
