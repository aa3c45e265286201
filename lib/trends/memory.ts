/** In-memory trends: the reference backend, paired with MemoryBacklogStore (tests, demo). */
import { compareTrend, trendKey, type TrendRow, type TrendStore } from "./types.ts";

export class MemoryTrendStore implements TrendStore {
  readonly name = "MemoryTrendStore";
  private rows = new Map<string, TrendRow>();

  async put(rows: TrendRow[]): Promise<void> {
    for (const r of rows) this.rows.set(trendKey(r), structuredClone(r));
  }

  async range(env: string, from: string, to: string): Promise<TrendRow[]> {
    return structuredClone([...this.rows.values()].filter((r) => r.env === env && r.day >= from && r.day <= to)).sort(compareTrend);
  }

  async cleanup(cutoff: string, dryRun: boolean, env?: string): Promise<number> {
    const doomed = [...this.rows].filter(([, r]) => r.day < cutoff && (env === undefined || r.env === env));
    if (!dryRun) for (const [k] of doomed) this.rows.delete(k);
    return doomed.length;
  }

  async close(): Promise<void> {}
}
