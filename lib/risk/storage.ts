/**
 * THE one place that decides where risk history lives: next to the backlog, in the backend that
 * serves the tool's `ctx.store` — so every entry point (CLI, HTTP, scheduler, demo) that already
 * opened a store via openStore/resolveStoreConfig gets matching risk storage without new settings:
 *   PostgresBacklogStore → tables risk_signals / risk_history over the same pool (migration 000004)
 *   JsonlBacklogStore    → <BACKLOG_JSONL_DIR>/risk_signals.jsonl, risk_history.jsonl (same dir lock)
 *   AutoBacklogStore     → whichever of the two serves at the moment of each call; rows written to
 *                          JSONL during an outage move into Postgres once it serves again
 *   MemoryBacklogStore   → memory, one per store instance (tests)
 * One instance per backlog store (cached), so a long-lived server does not re-create it per call.
 */
import { AppError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { AutoBacklogStore, JsonlBacklogStore, MemoryBacklogStore, PostgresBacklogStore } from "../store/index.ts";
import { isConnectionError } from "../store/postgres-errors.ts";
import type { BacklogStore } from "../store/types.ts";
import type { RiskHistoryStore } from "./history-store.ts";
import { JsonlRiskHistory } from "./jsonl.ts";
import { MemoryRiskHistory } from "./memory.ts";
import { PostgresRiskHistory } from "./postgres.ts";

const cache = new WeakMap<object, RiskHistoryStore>();

function cached(key: object, make: () => RiskHistoryStore): RiskHistoryStore {
  let h = cache.get(key);
  if (!h) cache.set(key, (h = make()));
  return h;
}

/**
 * The Postgres store an AutoBacklogStore is serving from, or null while it serves JSONL. The auto store
 * keeps it in a private field; reading it here (and only here) avoids a second pool and a second
 * outage detector. Replace with a public accessor once AutoBacklogStore offers one.
 */
function servingPostgres(store: AutoBacklogStore): PostgresBacklogStore | null {
  return store.serving;
}

/**
 * Routes each call to the backend the auto store serves from at that moment. Rows written to JSONL
 * during a Postgres outage are moved into Postgres (idempotently) before the first call served by
 * Postgres again, so history and signals stay in one place.
 */
class AutoRiskHistory implements RiskHistoryStore {
  constructor(
    private readonly store: AutoBacklogStore,
    private readonly jsonl: JsonlRiskHistory,
    private readonly log: Logger,
  ) {}

  get name(): string {
    const pg = servingPostgres(this.store);
    return pg ? "PostgresRiskHistory" : this.jsonl.name;
  }

  private async postgres(pg: PostgresBacklogStore): Promise<PostgresRiskHistory> {
    const target = cached(pg, () => new PostgresRiskHistory(pg.sql)) as PostgresRiskHistory;
    if (this.jsonl.hasRows()) {
      const moved = await this.jsonl.drain(async (signals, history) => {
        await target.addSignals(signals, true);
        await target.addSnapshots(history);
      });
      if (moved.signals || moved.history) this.log.info("risk_history_replayed", { ...moved, from: this.jsonl.dir, hint: "rows written to JSONL while Postgres was unavailable" });
    }
    return target;
  }

  /**
   * Like the auto store's own routing: a connection failure on Postgres makes the auto store check its
   * health (and fall back), then the call runs on JSONL. Safe to repeat: every write is idempotent on
   * replay (signal ids, one row per hour).
   */
  private async route<T>(op: (h: RiskHistoryStore) => Promise<T>): Promise<T> {
    const pg = servingPostgres(this.store);
    if (!pg) return op(this.jsonl);
    try {
      return await op(await this.postgres(pg));
    } catch (err) {
      if (!isConnectionError(err)) throw err;
      await this.store.health();
      if (servingPostgres(this.store)) throw err;
      return op(this.jsonl);
    }
  }

  addSignals: RiskHistoryStore["addSignals"] = (records) => this.route((h) => h.addSignals(records));
  signals: RiskHistoryStore["signals"] = (env, from, to) => this.route((h) => h.signals(env, from, to));
  addSnapshots: RiskHistoryStore["addSnapshots"] = (rows) => this.route((h) => h.addSnapshots(rows));
  history: RiskHistoryStore["history"] = (env, from, to) => this.route((h) => h.history(env, from, to));
  cleanup: RiskHistoryStore["cleanup"] = (cutoff, dryRun, env) => this.route((h) => h.cleanup(cutoff, dryRun, env));
  close = async () => {};
}

export function riskHistoryFor(store: BacklogStore, log: Logger): RiskHistoryStore {
  if (store instanceof PostgresBacklogStore) return cached(store, () => new PostgresRiskHistory(store.sql));
  if (store instanceof JsonlBacklogStore) return cached(store, () => new JsonlRiskHistory({ dir: store.dir, log }));
  if (store instanceof MemoryBacklogStore) return cached(store, () => new MemoryRiskHistory());
  if (store instanceof AutoBacklogStore) return cached(store, () => new AutoRiskHistory(store, new JsonlRiskHistory({ dir: store.jsonl.dir, log }), log));
  throw new AppError("config", `Risk history has no storage for the backlog backend ${store.name}; use BACKLOG_BACKEND=auto, postgres, jsonl or memory.`);
}
