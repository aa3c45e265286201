/**
 * Choosing and opening the backlog store. ONE config function, precedence written out per setting
 * (first match wins):
 *   backend        option `backend` → BACKLOG_BACKEND → "auto"          (auto | postgres | jsonl | memory)
 *   Postgres       option `dsn` → BACKLOG_POSTGRES_DSN → POSTGRES_DSN → POSTGRES_HOST/… parts (lib/pg/db.ts)
 *   connect timeout option `connectTimeoutSeconds` → BACKLOG_PG_CONNECT_TIMEOUT → 5 (lib/pg/db.ts)
 *   JSONL dir      option `dir` (relative to the current directory) → BACKLOG_JSONL_DIR (relative to the
 *                  repository root, where this code lives, not the current directory) → <repo>/ops/backlog
 *   retry period   option `retrySeconds` → BACKLOG_PG_RETRY_SECONDS → 300
 */
import { isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describePg, resolvePgConfig, type PgConfig } from "../pg/db.ts";
import { AppError } from "../core/errors.ts";
import { log as defaultLog, type Logger } from "../core/log.ts";
import { AutoBacklogStore } from "./auto/store.ts";
import { JsonlBacklogStore } from "./jsonl/store.ts";
import { MemoryBacklogStore } from "./memory.ts";
import { PostgresBacklogStore } from "./postgres/store.ts";
import type { BacklogStore } from "./types.ts";
import { processEnv } from "../config/index.ts";

export { AutoBacklogStore, JsonlBacklogStore, MemoryBacklogStore, PostgresBacklogStore };

/** Which backend serves right now, without I/O (auto stores expose `degraded` while on the fallback). */
export function servingBackend(store: BacklogStore): { backend: string; degraded: boolean } {
  return { backend: store.name, degraded: Boolean((store as { degraded?: boolean }).degraded) };
}

export const BACKENDS = ["auto", "postgres", "jsonl", "memory"] as const;
export type BackendName = (typeof BACKENDS)[number];

/** The repository root: two levels above lib/store/. Relative BACKLOG_JSONL_DIR values start here. */
export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const DEFAULT_JSONL_DIR = resolve(REPO_ROOT, "ops/backlog");
export const DEFAULT_RETRY_SECONDS = 300;

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

type Env = Record<string, string | undefined>;

export function resolveStoreConfig(options: Omit<StoreOptions, "clock" | "log"> = {}, env: Env = processEnv()): StoreConfig {
  const [rawBackend, backendSource] =
    options.backend !== undefined ? [options.backend, "option backend"] : env.BACKLOG_BACKEND ? [env.BACKLOG_BACKEND, "BACKLOG_BACKEND"] : ["auto", "default"];
  const backend = rawBackend.trim().toLowerCase();
  if (!(BACKENDS as readonly string[]).includes(backend)) {
    throw new AppError("config", `${backendSource} must be one of ${BACKENDS.join("|")}, got ${JSON.stringify(rawBackend)}.`);
  }

  const pg = backend === "auto" || backend === "postgres" ? resolvePgConfig({ dsn: options.dsn, connectTimeoutSeconds: options.connectTimeoutSeconds }, env) : null;
  if (backend === "postgres" && !pg) {
    throw new AppError(
      "config",
      `${backendSource}=postgres needs a Postgres connection: set BACKLOG_POSTGRES_DSN (or POSTGRES_DSN, or POSTGRES_HOST with ` +
        `POSTGRES_PORT/POSTGRES_USER/POSTGRES_PASSWORD/POSTGRES_DB), or pass a DSN (--dsn). Use BACKLOG_BACKEND=auto to fall back to JSONL.`,
    );
  }

  const [dir, dirSource] =
    options.dir !== undefined && options.dir !== ""
      ? [resolve(options.dir), "option dir"]
      : env.BACKLOG_JSONL_DIR
        ? [isAbsolute(env.BACKLOG_JSONL_DIR) ? env.BACKLOG_JSONL_DIR : resolve(REPO_ROOT, env.BACKLOG_JSONL_DIR), "BACKLOG_JSONL_DIR"]
        : [DEFAULT_JSONL_DIR, "default"];

  const [retrySeconds, retrySource] =
    options.retrySeconds !== undefined
      ? [checkRetry(options.retrySeconds, "option retrySeconds"), "option retrySeconds"]
      : env.BACKLOG_PG_RETRY_SECONDS
        ? [checkRetry(Number(env.BACKLOG_PG_RETRY_SECONDS), "BACKLOG_PG_RETRY_SECONDS", env.BACKLOG_PG_RETRY_SECONDS), "BACKLOG_PG_RETRY_SECONDS"]
        : [DEFAULT_RETRY_SECONDS, "default"];

  return { backend: backend as BackendName, sources: { backend: backendSource, dir: dirSource, retrySeconds: retrySource }, pg, dir, retrySeconds };
}

function checkRetry(n: number, source: string, raw: unknown = n): number {
  if (!Number.isFinite(n) || n <= 0 || n > 86_400) {
    throw new AppError("config", `${source} must be a number of seconds between reconnect attempts (more than 0, at most 86400), got ${JSON.stringify(raw)}.`);
  }
  return n;
}

/**
 * Opens the configured store, ready to use: Postgres is pinged and its schema checked, the JSONL
 * directory is created and checked writable, auto has made its first Postgres attempt.
 */
export async function openStore(options: StoreOptions = {}, env: Env = processEnv()): Promise<BacklogStore> {
  const cfg = resolveStoreConfig(options, env);
  const log = options.log ?? defaultLog;
  const clock = options.clock;
  switch (cfg.backend) {
    case "auto":
      // Logs its own `backlog_store: using …` line for whichever backend it starts on.
      return AutoBacklogStore.open({ pg: cfg.pg, dir: cfg.dir, retrySeconds: cfg.retrySeconds, clock, log });
    case "postgres": {
      const store = await PostgresBacklogStore.open({ config: cfg.pg!, clock, log });
      log.info(`backlog_store: using ${store.name}`, { backend: cfg.backend, backend_source: cfg.sources.backend, target: describePg(cfg.pg!), pg_source: cfg.pg!.source });
      return store;
    }
    case "jsonl": {
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
      const store = new MemoryBacklogStore({ clock });
      log.info(`backlog_store: using ${store.name}`, { backend: cfg.backend, backend_source: cfg.sources.backend });
      return store;
    }
  }
}
