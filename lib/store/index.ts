/**
 * Choosing and opening the backlog store. ONE config function, precedence written out per setting
 * (first match wins):
 *   backend        option `backend` → BACKLOG_BACKEND → "auto"          (auto | postgres | jsonl | memory)
 *   Postgres       option `dsn` → BACKLOG_POSTGRES_DSN → POSTGRES_DSN → POSTGRES_HOST/… parts (lib/pg/config.ts)
 *   connect timeout option `connectTimeoutSeconds` → BACKLOG_PG_CONNECT_TIMEOUT → 5 (lib/pg/config.ts)
 *   JSONL dir      option `dir` (relative to the current directory) → BACKLOG_JSONL_DIR (relative to the
 *                  repository root, where this code lives, not the current directory) → <repo>/ops/backlog
 *   retry period   option `retrySeconds` → BACKLOG_PG_RETRY_SECONDS → 300
 */
import { resolve } from "node:path";
import { describePg, resolvePgConfig, type PgConfig } from "../pg/config.ts";
import { AppError } from "../core/errors.ts";
import { log as defaultLog, type Logger } from "../core/log.ts";
import type { BacklogStore } from "./types.ts";
import { parseVar, processEnv, readVar, varSource, type Env } from "../config/index.ts";

/** Which backend serves right now, without I/O (auto stores expose `degraded` while on the fallback). */
export function servingBackend(store: BacklogStore): { backend: string; degraded: boolean } {
  return { backend: store.name, degraded: Boolean((store as { degraded?: boolean }).degraded) };
}

/**
 * Deciding actions (alert intake, generation, cleanup's SLA pass, notify dispatch) choose what to write
 * from what the store holds as a whole. On the auto store's JSONL fallback that view is partial (items
 * that exist only in Postgres are missing, copies from an earlier outage may be stale), so they refuse
 * with this 503 instead of deciding from it: `why` says what cannot be known, `retry` who asks again.
 */
export function refuseWhileDegraded(store: BacklogStore, why: string, retry: string): void {
  if (servingBackend(store).degraded) throw new AppError("degraded", `store degraded: Postgres is unavailable, and ${why}; nothing was written. ${retry}`);
}

export const BACKENDS = ["auto", "postgres", "jsonl", "memory"] as const;
export type BackendName = (typeof BACKENDS)[number];

/** The declared defaults (lib/config/vars.ts), read with an empty environment. */
export const DEFAULT_JSONL_DIR = readVar("BACKLOG_JSONL_DIR", {})!;
export const DEFAULT_RETRY_SECONDS = readVar("BACKLOG_PG_RETRY_SECONDS", {})!;

export interface StoreOptions {
  backend?: string;
  dsn?: string;
  dir?: string;
  retrySeconds?: number;
  connectTimeoutSeconds?: number;
  clock?: () => Date;
  log?: Logger;
}

export interface StoreConfig {
  backend: BackendName;
  /** Where each value came from, for messages and the open log line. */
  sources: { backend: string; dir: string; retrySeconds: string };
  /** Resolved for auto and postgres only (null: none configured). */
  pg: PgConfig | null;
  dir: string;
  retrySeconds: number;
}

export function resolveStoreConfig(options: Omit<StoreOptions, "clock" | "log"> = {}, env: Env = processEnv()): StoreConfig {
  const backendSource = options.backend !== undefined ? "option backend" : varSource("BACKLOG_BACKEND", env);
  const backend =
    options.backend !== undefined ? parseVar("BACKLOG_BACKEND", options.backend, backendSource) : readVar("BACKLOG_BACKEND", env)!;

  const pg = backend === "auto" || backend === "postgres" ? resolvePgConfig({ dsn: options.dsn, connectTimeoutSeconds: options.connectTimeoutSeconds }, env) : null;
  if (backend === "postgres" && !pg) {
    throw new AppError(
      "config",
      `${backendSource}=postgres needs a Postgres connection: set BACKLOG_POSTGRES_DSN (or POSTGRES_DSN, or POSTGRES_HOST with ` +
        `POSTGRES_PORT/POSTGRES_USER/POSTGRES_PASSWORD/POSTGRES_DB), or pass a DSN (--dsn). Use BACKLOG_BACKEND=auto to fall back to JSONL.`,
    );
  }

  // an option dir is the caller's (a flag typed in a shell): relative to the current directory
  const fromOption = options.dir !== undefined && options.dir !== "";
  const dir = fromOption ? resolve(options.dir!) : readVar("BACKLOG_JSONL_DIR", env)!;
  const dirSource = fromOption ? "option dir" : varSource("BACKLOG_JSONL_DIR", env);

  const retrySource = options.retrySeconds !== undefined ? "option retrySeconds" : varSource("BACKLOG_PG_RETRY_SECONDS", env);
  const retrySeconds =
    options.retrySeconds !== undefined
      ? parseVar("BACKLOG_PG_RETRY_SECONDS", String(options.retrySeconds), retrySource)
      : readVar("BACKLOG_PG_RETRY_SECONDS", env)!;

  return { backend, sources: { backend: backendSource, dir: dirSource, retrySeconds: retrySource }, pg, dir, retrySeconds };
}

/**
 * Opens the configured store, ready to use: Postgres is pinged and its schema checked, the JSONL
 * directory is created and checked writable, auto has made its first Postgres attempt.
 * Each backend is imported when chosen, so a JSONL cron run never loads the Postgres driver (start-up,
 * issue 17 item 4); the classes themselves are imported from their own files.
 */
export async function openStore(options: StoreOptions = {}, env: Env = processEnv()): Promise<BacklogStore> {
  const cfg = resolveStoreConfig(options, env);
  const log = options.log ?? defaultLog;
  const clock = options.clock;
  switch (cfg.backend) {
    case "auto":
      // Logs its own `backlog_store: using …` line for whichever backend it starts on.
      const { AutoBacklogStore } = await import("./auto/store.ts");
      return AutoBacklogStore.open({ pg: cfg.pg, dir: cfg.dir, retrySeconds: cfg.retrySeconds, clock, log });
    case "postgres": {
      const { PostgresBacklogStore } = await import("./postgres/store.ts");
      const store = await PostgresBacklogStore.open({ config: cfg.pg!, clock, log });
      log.info(`backlog_store: using ${store.name}`, { backend: cfg.backend, backend_source: cfg.sources.backend, target: describePg(cfg.pg!), pg_source: cfg.pg!.source });
      return store;
    }
    case "jsonl": {
      const { JsonlBacklogStore } = await import("./jsonl/store.ts");
      const store = new JsonlBacklogStore({ dir: cfg.dir, clock, log });
      const health = await store.health();
      if (health.degraded) {
        await store.close();
        throw new AppError("unavailable", `Cannot use the JSONL backlog directory ${cfg.dir} (from ${cfg.sources.dir}): ${health.detail}`);
      }
      log.info(`backlog_store: using ${store.name}`, { backend: cfg.backend, backend_source: cfg.sources.backend, dir: cfg.dir, dir_source: cfg.sources.dir });
      return store;
    }
    case "memory": {
      const { MemoryBacklogStore } = await import("./memory.ts");
      const store = new MemoryBacklogStore({ clock });
      log.info(`backlog_store: using ${store.name}`, { backend: cfg.backend, backend_source: cfg.sources.backend });
      return store;
    }
  }
}
