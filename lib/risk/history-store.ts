/**
 * Where risk signals and hourly score snapshots live. One interface, three backends that follow the
 * backlog store's backend (lib/risk/storage.ts decides): Postgres tables risk_signals/risk_history
 * (migration 000004), JSONL files risk_signals.jsonl/risk_history.jsonl next to items.jsonl, or memory.
 * Times are ISO instants in UTC with milliseconds (`toISOString()`), so they compare as strings.
 */
import * as v from "valibot";
import { BANDS, type Band } from "./policy.ts";
import { SIGNAL_NAMES, type SignalName, type SignalRecord, type Signals } from "./signals.ts";

export interface HistoryRow {
  env: string;
  service: string;
  /** Start of the UTC hour the snapshot belongs to: (env, service, hour) is unique. */
  hour: string;
  score: number;
  band: Band;
  /** Points per signal that the score rests on. */
  contributions: Partial<Record<SignalName, number>>;
  /** The signal values used. */
  signals: Signals;
  created_at: string;
}

export interface CleanupCounts {
  signals: number;
  history: number;
}

export interface RiskHistoryStore {
  /** PostgresRiskHistory | JsonlRiskHistory | MemoryRiskHistory */
  readonly name: string;
  /** All records or none. */
  addSignals(records: SignalRecord[]): Promise<void>;
  /** The env's records with from ≤ ts ≤ to, oldest first. */
  signals(env: string, from: string, to: string): Promise<SignalRecord[]>;
  /** Inserts the rows whose (env, service, hour) is new, all in one step; returns those inserted. */
  addSnapshots(rows: HistoryRow[]): Promise<HistoryRow[]>;
  /** The env's rows with from ≤ hour ≤ to, by service then hour. */
  history(env: string, from: string, to: string): Promise<HistoryRow[]>;
  /** Drops signals with ts < cutoff and rows with hour < cutoff, of `env` or of every env (dryRun: only counts). */
  cleanup(cutoff: string, dryRun: boolean, env?: string): Promise<CleanupCounts>;
  close(): Promise<void>;
}

export const historyKey = (r: Pick<HistoryRow, "env" | "service" | "hour">) => `${r.env}\u0000${r.service}\u0000${r.hour}`;

export function compareHistory(a: HistoryRow, b: HistoryRow): number {
  return a.service < b.service ? -1 : a.service > b.service ? 1 : a.hour < b.hour ? -1 : a.hour > b.hour ? 1 : 0;
}

export function compareSignals(a: SignalRecord, b: SignalRecord): number {
  return a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : a.recorded_at < b.recorded_at ? -1 : a.recorded_at > b.recorded_at ? 1 : 0;
}

/** Rows an earlier batch already has are dropped, and so are repeats inside the batch (first wins). */
export function newSnapshots(rows: HistoryRow[], exists: (key: string) => boolean): HistoryRow[] {
  const seen = new Set<string>();
  return rows.filter((r) => {
    const key = historyKey(r);
    if (seen.has(key) || exists(key)) return false;
    seen.add(key);
    return true;
  });
}

/* Shapes of stored lines: a JSONL line that does not match is skipped and reported, never trusted. */
const Numbers = v.record(v.picklist(SIGNAL_NAMES), v.number());
const Iso = v.pipe(v.string(), v.isoTimestamp());

export const StoredSignalSchema = v.object({
  id: v.string(),
  env: v.string(),
  service: v.string(),
  ts: Iso,
  signals: Numbers,
  source: v.string(),
  actor: v.string(),
  recorded_at: Iso,
});

export const StoredHistorySchema = v.object({
  env: v.string(),
  service: v.string(),
  hour: Iso,
  score: v.pipe(v.number(), v.minValue(0), v.maxValue(100)),
  band: v.picklist(BANDS),
  contributions: Numbers,
  signals: Numbers,
  created_at: Iso,
});
