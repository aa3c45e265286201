/**
 * The one place a Postgres connection is configured and opened.
 *
 * Precedence, first match wins (like postgres.js' own parseOptions):
 *   1. explicit option (`--dsn` flag / openStore({dsn}))
 *   2. BACKLOG_POSTGRES_DSN
 *   3. POSTGRES_DSN
 *   4. the parts POSTGRES_HOST, POSTGRES_PORT (5432), POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB
 *      (used when POSTGRES_HOST is set; this is how the Kubernetes Jobs are configured)
 *   5. none: callers decide (the auto store falls back to JSONL, migrate --dry-run shows every file)
 * Connect timeout: option → BACKLOG_PG_CONNECT_TIMEOUT (seconds) → 5.
 */
import postgres from "postgres";
import { AppError } from "../core/errors.ts";
import { describePg, type PgConfig } from "./config.ts";

// Where the connection is configured (no driver needed there): lib/pg/config.ts.
export { describePg, resolvePgConfig, type PgConfig } from "./config.ts";

export type Sql = postgres.Sql<Record<string, never>>;

/** The transaction handle every write path receives from `sql.begin`. */
export type Tx = postgres.TransactionSql<Record<string, never>>;

export interface ConnectOptions {
  max?: number;
  /** Applied to every connection: statement timeout etc. */
  connection?: Record<string, string | number | boolean>;
  /** LISTEN notifications (channel, payload) arriving on any connection of this pool. */
  onnotify?: (channel: string, payload: string) => void;
  /** A connection of this pool closed (for a max-1 pool: the listener is gone until it reconnects). */
  onclose?: () => void;
  /** Seconds an idle connection stays open; null keeps it (a LISTEN connection). Default 30. */
  idleTimeout?: number | null;
}

/** Opens a lazy postgres.js pool; nothing connects until the first query (see `ping`). */
export function connectPg(cfg: PgConfig, opts: ConnectOptions = {}): Sql {
  const common: postgres.Options<Record<string, postgres.PostgresType>> = {
    max: opts.max ?? 10,
    connect_timeout: cfg.connectTimeoutSeconds,
    idle_timeout: opts.idleTimeout === undefined ? 30 : (opts.idleTimeout ?? undefined),
    onnotice: () => {},
    ...(opts.onnotify ? { onnotify: opts.onnotify } : {}),
    ...(opts.onclose ? { onclose: () => opts.onclose!() } : {}),
    connection: { application_name: "backlog-bridge", ...opts.connection },
    // Dates come back as YYYY-MM-DD strings, not JS Dates shifted by the local zone.
    types: { date: { to: 1082, from: [1082], serialize: (x: string) => x, parse: (x: string) => x } },
  };
  const sql = cfg.dsn
    ? postgres(cfg.dsn, { ...common, ...dsnHost(cfg.dsn) })
    : postgres({
        ...common,
        host: cfg.host,
        port: cfg.port,
        ...ipv6Options(cfg.host, cfg.port ?? 5432),
        username: cfg.user,
        password: cfg.password,
        database: cfg.database,
      });
  return sql as unknown as Sql;
}

/**
 * postgres.js splits a host at ":" (for "host:port" lists), so an IPv6 literal became "[" (DSN) or ""
 * (POSTGRES_HOST=::1, which then connected to localhost over IPv4). Host and port given as arrays are
 * taken as they are (its types only declare the string forms).
 */
function ipv6Options(host: string | undefined, port: number): { host?: string; port?: number } {
  const bare = host?.replace(/^\[(.*)\]$/, "$1");
  if (!bare?.includes(":") || bare.includes("/") || bare.includes(",")) return {};
  return { host: [bare] as unknown as string, port: [port] as unknown as number };
}

function dsnHost(dsn: string): { host?: string; port?: number } {
  const url = URL.canParse(dsn) ? new URL(dsn) : null;
  return url?.hostname.startsWith("[") ? ipv6Options(url.hostname, Number(url.port || 5432)) : {};
}

/** Connects and runs `select 1`; failures become one readable AppError naming the redacted target. */
export async function ping(sql: Sql, cfg: PgConfig): Promise<void> {
  try {
    await sql`select 1`;
  } catch (err) {
    throw pgConnectError(err, cfg);
  }
  typesFetched(sql);
}

/**
 * Call after the pool's first successful query: its first connection has fetched the array types into
 * the pool's shared options, so the connections it opens later need not fetch them again. postgres.js
 * 3.4.9 fetches them on every new connection in a promise nobody awaits: a Postgres going away during
 * that fetch rejects it with the next reconnect's error (`connect ECONNREFUSED`), an unhandled
 * rejection that ends the process (seen in tests/store/auto-stress.test.ts; tests/pg/type-fetch-outage.test.ts).
 */
export function typesFetched(sql: Sql): void {
  (sql.options as { fetch_types: boolean }).fetch_types = false;
}

/** Maps driver/server errors at connect time to operator sentences. */
export function pgConnectError(err: unknown, cfg: PgConfig): AppError {
  const e = err as { code?: string; message?: string };
  const target = describePg(cfg);
  const why = (() => {
    switch (e.code) {
      case "ECONNREFUSED":
        return "connection refused: is the server running and listening on that host/port?";
      case "CONNECT_TIMEOUT":
        return `no answer within ${cfg.connectTimeoutSeconds}s (BACKLOG_PG_CONNECT_TIMEOUT): check host, port and network access.`;
      case "ENOTFOUND":
      case "EAI_AGAIN":
        return "the host name does not resolve: check the host part of the DSN / POSTGRES_HOST.";
      case "28P01":
      case "28000":
        return "the server rejected the credentials: check the user and password.";
      case "3D000":
        return "the database does not exist: create it or fix the database name.";
      default:
        return e.message ?? String(err);
    }
  })();
  return new AppError("unavailable", `Cannot connect to Postgres at ${target} (from ${cfg.source}): ${why}`, {
    cause: err,
  });
}
