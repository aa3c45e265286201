/** In-memory risk history: the reference backend and the one paired with MemoryBacklogStore (tests). */
import {
  compareHistory,
  compareSignals,
  historyKey,
  newSnapshots,
  type CleanupCounts,
  type HistoryRow,
  type RiskHistoryStore,
} from "./history-store.ts";
import type { SignalRecord } from "./signals.ts";

export class MemoryRiskHistory implements RiskHistoryStore {
  readonly name = "MemoryRiskHistory";
  private signalRows: SignalRecord[] = [];
  private rows = new Map<string, HistoryRow>();

  async addSignals(records: SignalRecord[]): Promise<void> {
    this.signalRows.push(...structuredClone(records));
  }

  async signals(env: string, from: string, to: string): Promise<SignalRecord[]> {
    return structuredClone(this.signalRows.filter((r) => r.env === env && r.ts >= from && r.ts <= to)).sort(compareSignals);
  }

  async addSnapshots(rows: HistoryRow[]): Promise<HistoryRow[]> {
    const fresh = newSnapshots(rows, (k) => this.rows.has(k));
    for (const r of fresh) this.rows.set(historyKey(r), structuredClone(r));
    return fresh;
  }

  async history(env: string, from: string, to: string): Promise<HistoryRow[]> {
    return structuredClone([...this.rows.values()].filter((r) => r.env === env && r.hour >= from && r.hour <= to)).sort(compareHistory);
  }

  async cleanup(cutoff: string, dryRun: boolean, env?: string): Promise<CleanupCounts> {
    const keepSignals = this.signalRows.filter((r) => r.ts >= cutoff || (env !== undefined && r.env !== env));
    const keepRows = [...this.rows].filter(([, r]) => r.hour >= cutoff || (env !== undefined && r.env !== env));
    const counts = { signals: this.signalRows.length - keepSignals.length, history: this.rows.size - keepRows.length };
    if (!dryRun) {
      this.signalRows = keepSignals;
      this.rows = new Map(keepRows);
    }
    return counts;
  }

  async close(): Promise<void> {}
}
