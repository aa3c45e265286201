/**
 * THE one place that decides where trends live: next to the backlog, in the backend serving the tool's
 * `ctx.store` (the same rule as lib/risk/storage.ts, so no new settings):
 *   PostgresBacklogStore → table backlog_trends over the same pool (migration 000005)
 *   JsonlBacklogStore    → <BACKLOG_JSONL_DIR>/trends.jsonl (same directory lock)
 *   AutoBacklogStore     → whichever of the two serves at each call; rows written to JSONL during an
 *                          outage move into Postgres (upsert, idempotent) once it serves again
 *   MemoryBacklogStore   → memory, one per store instance
 * The auto store's own router (issue 14) had not landed when this was written; once it has, this should
 * register there instead of asking `store.serving` itself.
 */
import { AppError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { AutoBacklogStore, JsonlBacklogStore, MemoryBacklogStore, PostgresBacklogStore } from "../store/index.ts";
import { followAuto } from "../store/auto-follow.ts";
import type { BacklogStore } from "../store/types.ts";
import { JsonlTrendStore } from "./jsonl.ts";
import { MemoryTrendStore } from "./memory.ts";
import { PostgresTrendStore } from "./postgres.ts";
import type { TrendStore } from "./types.ts";

const cache = new WeakMap<object, TrendStore>();

function cached(key: object, make: () => TrendStore): TrendStore {
  let t = cache.get(key);
  if (!t) cache.set(key, (t = make()));
  return t;
}

class AutoTrendStore implements TrendStore {
  constructor(
    private readonly store: AutoBacklogStore,
    private readonly jsonl: JsonlTrendStore,
    private readonly log: Logger,
  ) {}

  get name(): string {
    return this.store.serving ? "PostgresTrendStore" : this.jsonl.name;
  }

  private async postgres(pg: PostgresBacklogStore): Promise<TrendStore> {
    const target = cached(pg, () => new PostgresTrendStore(pg.sql));
    if (this.jsonl.hasRows()) {
      const moved = await this.jsonl.drain((rows) => target.put(rows));
      if (moved) this.log.info("trends_replayed", { rows: moved, from: this.jsonl.dir, hint: "rows written to JSONL while Postgres was unavailable" });
    }
    return target;
  }

  private route<T>(op: (t: TrendStore) => Promise<T>): Promise<T> {
    return followAuto(this.store, async (pg) => op(await this.postgres(pg)), () => op(this.jsonl));
  }

  put: TrendStore["put"] = (rows) => this.route((t) => t.put(rows));
  range: TrendStore["range"] = (env, from, to) => this.route((t) => t.range(env, from, to));
  cleanup: TrendStore["cleanup"] = (cutoff, dryRun, env) => this.route((t) => t.cleanup(cutoff, dryRun, env));
  close = async () => {};
}

export function trendsFor(store: BacklogStore, log: Logger): TrendStore {
  if (store instanceof PostgresBacklogStore) return cached(store, () => new PostgresTrendStore(store.sql));
  if (store instanceof JsonlBacklogStore) return cached(store, () => new JsonlTrendStore({ dir: store.dir, log }));
  if (store instanceof MemoryBacklogStore) return cached(store, () => new MemoryTrendStore());
  if (store instanceof AutoBacklogStore) return cached(store, () => new AutoTrendStore(store, new JsonlTrendStore({ dir: store.jsonl.dir, log }), log));
  throw new AppError("config", `Trends have no storage for the backlog backend ${store.name}; use BACKLOG_BACKEND=auto, postgres, jsonl or memory.`);
}
