/**
 * Trends: one row per env and UTC day with the dashboard's counts, written by the daily snapshot job
 * (trends_tool.snapshot) and drawn by the UI's trends page. One interface, three backends side by side
 * (memory, JSONL, Postgres); lib/trends/storage.ts picks the one next to the backlog store.
 * A second snapshot of the same (env, day) replaces the first: the later one is the truer end of day.
 */
import * as v from "valibot";
import { DateString, EnvName } from "../domain/schemas.ts";

export interface TrendRow {
  env: string;
  /** UTC day YYYY-MM-DD: (env, day) is unique. */
  day: string;
  total: number;
  /** open + in_progress + blocked */
  open: number;
  overdue: number;
  p0_open: number;
  p1_open: number;
  /** Items created that day (in the env, still present when counted). */
  created: number;
  /** Items done/canceled whose last change was that day. */
  closed: number;
  /** When the snapshot was taken (ISO instant). */
  recorded_at: string;
}

export interface TrendStore {
  /** MemoryTrendStore | JsonlTrendStore | PostgresTrendStore */
  readonly name: string;
  /** Inserts or replaces each (env, day) row, all in one step. */
  put(rows: TrendRow[]): Promise<void>;
  /** The env's rows with from ≤ day ≤ to, oldest first. */
  range(env: string, from: string, to: string): Promise<TrendRow[]>;
  /** Drops rows with day < cutoff, of `env` or of every env (dryRun: only counts). */
  cleanup(cutoff: string, dryRun: boolean, env?: string): Promise<number>;
  close(): Promise<void>;
}

export const trendKey = (r: Pick<TrendRow, "env" | "day">) => `${r.env}\u0000${r.day}`;

export const compareTrend = (a: TrendRow, b: TrendRow) => (a.env < b.env ? -1 : a.env > b.env ? 1 : a.day < b.day ? -1 : a.day > b.day ? 1 : 0);

/** The last row per (env, day) wins: later snapshots replace earlier ones. */
export function latestPerDay(rows: Iterable<TrendRow>): Map<string, TrendRow> {
  const out = new Map<string, TrendRow>();
  for (const r of rows) out.set(trendKey(r), r);
  return out;
}

const Count = v.pipe(v.number(), v.integer(), v.minValue(0));

/** A stored row's shape: JSONL lines that do not match are skipped and reported, never trusted. */
export const TrendRowSchema = v.object({
  env: EnvName,
  day: DateString,
  total: Count,
  open: Count,
  overdue: Count,
  p0_open: Count,
  p1_open: Count,
  created: Count,
  closed: Count,
  recorded_at: v.pipe(v.string(), v.isoTimestamp()),
});
