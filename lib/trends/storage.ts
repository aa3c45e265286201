/**
 * THE one place that decides where trends live: next to the backlog, following the store's binding
 * (lib/store/types.ts StoreBinding), like the run ledger and risk history — no new settings:
 *   postgres → table backlog_trends over the same pool (migration 000006)
 *   jsonl    → <BACKLOG_JSONL_DIR>/trends.jsonl (same directory lock)
 *   auto     → the store's router decides per call; rows written to JSONL while Postgres was down are
 *              replayed into it by a hook registered with the router (upserts, so replays are harmless)
 *   memory   → memory, one per store instance
 * One instance per backlog store (cached), so the hook is registered once.
 */
import { perStore } from "../store/per-store.ts";
import type { Logger } from "../core/log.ts";
import type { FallbackRouter, ReplayHook } from "../store/auto/router.ts";
import type { PostgresBacklogStore } from "../store/postgres/store.ts";
import type { BacklogStore } from "../store/types.ts";
import { JsonlTrendStore } from "./jsonl.ts";
import { MemoryTrendStore } from "./memory.ts";
import { PostgresTrendStore } from "./postgres.ts";
import type { TrendStore } from "./types.ts";

const cached = perStore<TrendStore>();

const onPostgres = (pg: PostgresBacklogStore) => cached(pg, () => new PostgresTrendStore(pg.sql));

class AutoTrendStore implements TrendStore {
  readonly hook: ReplayHook;

  constructor(
    private readonly router: FallbackRouter,
    private readonly jsonl: JsonlTrendStore,
    log: Logger,
  ) {
    this.hook = {
      name: "trends",
      order: 25,
      replay: async (pg) => {
        const moved = await jsonl.drain((rows) => onPostgres(pg).put(rows));
        if (moved) log.info("trends_replayed", { rows: moved, from: jsonl.dir, hint: "rows written to JSONL while Postgres was unavailable" });
      },
      pending: () => jsonl.hasRows(),
    };
  }

  get name(): string {
    return this.router.serving ? "PostgresTrendStore" : this.jsonl.name;
  }

  private route<T>(op: (t: TrendStore) => Promise<T>): Promise<T> {
    return this.router.route((pg) => op(onPostgres(pg)), () => op(this.jsonl));
  }

  put: TrendStore["put"] = (rows) => this.route((t) => t.put(rows));
  range: TrendStore["range"] = (env, from, to) => this.route((t) => t.range(env, from, to));
  cleanup: TrendStore["cleanup"] = (cutoff, dryRun, env) => this.route((t) => t.cleanup(cutoff, dryRun, env));
  close = async () => {};
}

export function trendsFor(store: BacklogStore, log: Logger): TrendStore {
  const b = store.binding;
  switch (b.kind) {
    case "memory":
      return cached(store, () => new MemoryTrendStore());
    case "jsonl":
      return cached(store, () => new JsonlTrendStore({ dir: b.dir, log }));
    case "postgres":
      return cached(store, () => new PostgresTrendStore(b.sql));
    case "auto":
      return cached(store, () => {
        const t = new AutoTrendStore(b.router, new JsonlTrendStore({ dir: b.router.dir, log }), log);
        b.router.register(t.hook);
        return t;
      });
  }
}
