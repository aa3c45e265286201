/**
 * Where a Postgres connection comes from (the precedence is in lib/pg/db.ts's header), without the driver:
 * choosing a store reads this on every start, and a JSONL run must not load postgres.js for it
 * (script start-up, issue 17 item 4). lib/pg/db.ts re-exports it and opens the connection.
 */
import { redactDsn } from "../core/redact.ts";
import { parseVar, processEnv, readVar, type Env } from "../config/index.ts";

export interface PgConfig {
  /** Where the setting came from, for messages: "--dsn", "BACKLOG_POSTGRES_DSN", ... */
  source: string;
  dsn?: string;
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  database?: string;
  connectTimeoutSeconds: number;
}

export function resolvePgConfig(
  options: { dsn?: string | undefined; connectTimeoutSeconds?: number | undefined } = {},
  env: Env = processEnv(),
): PgConfig | null {
  const timeout = options.connectTimeoutSeconds ?? readVar("BACKLOG_PG_CONNECT_TIMEOUT", env)!;
  if (options.dsn) return { source: "--dsn", dsn: parseVar("BACKLOG_POSTGRES_DSN", options.dsn, "--dsn"), connectTimeoutSeconds: timeout };
  for (const name of ["BACKLOG_POSTGRES_DSN", "POSTGRES_DSN"] as const) {
    const dsn = readVar(name, env);
    if (dsn) return { source: name, dsn, connectTimeoutSeconds: timeout };
  }
  const host = readVar("POSTGRES_HOST", env);
  if (!host) return null;
  return {
    source: "POSTGRES_HOST/POSTGRES_PORT/POSTGRES_USER/POSTGRES_PASSWORD/POSTGRES_DB",
    host,
    port: readVar("POSTGRES_PORT", env)!,
    user: readVar("POSTGRES_USER", env),
    password: readVar("POSTGRES_PASSWORD", env),
    database: readVar("POSTGRES_DB", env),
    connectTimeoutSeconds: timeout,
  };
}

/** Human-readable target with the password removed: `postgresql://user:***@host:5432/db`. */
export function describePg(cfg: PgConfig): string {
  if (cfg.dsn) return redactDsn(cfg.dsn);
  return `postgresql://${cfg.user ?? ""}${cfg.password ? ":***" : ""}@${cfg.host}:${cfg.port}/${cfg.database ?? ""}`;
}
