/**
 * THE one place that decides where risk history lives: next to the backlog, following the backlog
 * store's binding (lib/store/types.ts StoreBinding) — so every entry point (CLI, HTTP, scheduler, demo)
 * that opened a store via openStore gets matching risk storage without new settings:
 *   postgres → tables risk_signals / risk_history over the same pool (migration 000004)
 *   jsonl    → <BACKLOG_JSONL_DIR>/risk_signals.jsonl, risk_history.jsonl (same dir lock)
 *   auto     → through the store's router (lib/store/auto/router.ts), which alone picks the backend;
 *              rows written to JSONL during an outage are moved into Postgres by the router's replay
 *              hook, inside the switch gate, before Postgres serves again
 *   memory   → memory, one per store instance (tests)
 * One instance per backlog store (cached), so a long-lived server does not re-create it per call.
 */
import { perStore } from "../store/per-store.ts";
import type { Logger } from "../core/log.ts";
import type { FallbackRouter } from "../store/auto/router.ts";
import type { PostgresBacklogStore } from "../store/postgres/store.ts";
import type { BacklogStore } from "../store/types.ts";
import type { RiskHistoryStore } from "./history-store.ts";
import { JsonlRiskHistory } from "./jsonl.ts";
import { MemoryRiskHistory } from "./memory.ts";
import { PostgresRiskHistory } from "./postgres.ts";

const cached = perStore<RiskHistoryStore>();

/** Risk history on `auto`: each call routed by the router; the JSONL rows drained by its replay hook. */
class AutoRiskHistory implements RiskHistoryStore {
  private pgHistory: { store: PostgresBacklogStore; history: PostgresRiskHistory } | null = null;

  constructor(
    private readonly router: FallbackRouter,
    private readonly jsonl: JsonlRiskHistory,
    private readonly log: Logger,
  ) {
    router.register({
      name: "risk history",
      order: 20,
      pending: () => jsonl.hasRows(),
      // Idempotent (signal ids, one row per hour): a drain repeated after a crash changes nothing.
      replay: async (pg) => {
        if (!jsonl.hasRows()) return;
        const target = this.postgres(pg);
        const moved = await jsonl.drain(async (signals, history) => {
          await target.addSignals(signals, true);
          await target.addSnapshots(history);
        });
        if (moved.signals || moved.history) this.log.info("risk_history_replayed", { ...moved, from: jsonl.dir, hint: "rows written to JSONL while Postgres was unavailable" });
      },
    });
  }

  private postgres(pg: PostgresBacklogStore): PostgresRiskHistory {
    if (this.pgHistory?.store !== pg) this.pgHistory = { store: pg, history: new PostgresRiskHistory(pg.sql) };
    return this.pgHistory.history;
  }

  get name(): string {
    return this.router.serving ? "PostgresRiskHistory" : this.jsonl.name;
  }

  private route<T>(op: (h: RiskHistoryStore) => Promise<T>): Promise<T> {
    return this.router.route((pg) => op(this.postgres(pg)), () => op(this.jsonl));
  }

  addSignals: RiskHistoryStore["addSignals"] = (records) => this.route((h) => h.addSignals(records));
  signals: RiskHistoryStore["signals"] = (env, from, to) => this.route((h) => h.signals(env, from, to));
  addSnapshots: RiskHistoryStore["addSnapshots"] = (rows) => this.route((h) => h.addSnapshots(rows));
  history: RiskHistoryStore["history"] = (env, from, to) => this.route((h) => h.history(env, from, to));
  cleanup: RiskHistoryStore["cleanup"] = (cutoff, dryRun, env) => this.route((h) => h.cleanup(cutoff, dryRun, env));
  close = async () => {};
}

export function riskHistoryFor(store: BacklogStore, log: Logger): RiskHistoryStore {
  const b = store.binding;
  switch (b.kind) {
    case "postgres":
      return cached(store, () => new PostgresRiskHistory(b.sql));
    case "jsonl":
      return cached(store, () => new JsonlRiskHistory({ dir: b.dir, log }));
    case "memory":
      return cached(store, () => new MemoryRiskHistory());
    case "auto":
      return cached(b.router, () => new AutoRiskHistory(b.router, new JsonlRiskHistory({ dir: b.router.dir, log }), log));
  }
}
