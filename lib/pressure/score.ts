/**
 * Architecture pressure maths, PURE. Per service and week:
 *   level   = mean risk score of the week's snapshots (one noisy hour does not dominate)
 *   trend   = last − first risk score of the week (positive = getting worse)
 *   part_k  = 100 × weight_k × f_k / Σ weights, with
 *             f_risk_level = min(level / cap, 1),      f_risk_trend = min(max(trend, 0) / cap, 1),
 *             f_open_items = min(open / cap, 1),       f_overdue_items = min(overdue / cap, 1)
 *   pressure_score = Σ parts, rounded to 0.1 → 0–100, never lower when any input rises
 * An improving trend adds nothing (it does not cancel a high level either).
 * Cause points: the two risk parts are shared among the signals in proportion to their points in the
 * latest snapshot; open_items and overdue_items are their own causes (see categories.ts).
 */
import type { HistoryRow } from "../risk/history-store.ts";
import { PRESSURE_PARTS, type Band, type Cause, type PressurePolicy } from "../risk/policy.ts";
import { bandFor, round1 } from "../risk/score.ts";
import { SIGNAL_NAMES, type SignalName, type Signals } from "../risk/signals.ts";

export interface RiskWeek {
  /** Mean score of the week's snapshots. */
  level: number;
  /** Last minus first score. */
  trend: number;
  latest: number;
  snapshots: number;
  /** Contributions and values of the latest snapshot. */
  contributions: Partial<Record<SignalName, number>>;
  signals: Signals;
}

/** Summarises one service's rows of the week (any order); null when there are none. */
export function summariseWeek(rows: readonly HistoryRow[]): RiskWeek | null {
  if (!rows.length) return null;
  const sorted = [...rows].sort((a, b) => (a.hour < b.hour ? -1 : a.hour > b.hour ? 1 : 0));
  const first = sorted[0]!;
  const last = sorted[sorted.length - 1]!;
  const mean = sorted.reduce((s, r) => s + r.score, 0) / sorted.length;
  return { level: round1(mean), trend: round1(last.score - first.score), latest: last.score, snapshots: sorted.length, contributions: last.contributions, signals: last.signals };
}

export interface PressureInput {
  level: number;
  trend: number;
  open: number;
  overdue: number;
  /** Latest risk points per signal: how the risk parts are shared among causes. */
  contributions: Partial<Record<SignalName, number>>;
}

export type PressureParts = Record<(typeof PRESSURE_PARTS)[number], number>;

export interface PressureResult {
  score: number;
  band: Band;
  /** Points per part (0.1 precision). */
  parts: PressureParts;
  /** Points per cause (unrounded sums round to the parts). */
  causes: Partial<Record<Cause, number>>;
}

const unit = (x: number) => Math.min(1, Math.max(0, x));

export function pressureScore(input: PressureInput, policy: Pick<PressurePolicy, "weights" | "caps" | "bands">): PressureResult {
  const w = policy.weights;
  const total = PRESSURE_PARTS.reduce((s, k) => s + w[k], 0);
  const f: PressureParts = {
    risk_level: unit(input.level / policy.caps.risk_level),
    risk_trend: unit(input.trend / policy.caps.risk_trend),
    open_items: unit(input.open / policy.caps.open_items),
    overdue_items: unit(input.overdue / policy.caps.overdue_items),
  };
  const raw = Object.fromEntries(PRESSURE_PARTS.map((k) => [k, total > 0 ? (100 * w[k] * f[k]) / total : 0])) as PressureParts;
  const score = Math.min(100, Math.max(0, round1(PRESSURE_PARTS.reduce((s, k) => s + raw[k], 0))));

  const causes: Partial<Record<Cause, number>> = {};
  const riskPoints = raw.risk_level + raw.risk_trend;
  const contributed = SIGNAL_NAMES.reduce((s, n) => s + (input.contributions[n] ?? 0), 0);
  if (riskPoints > 0 && contributed > 0) {
    for (const n of SIGNAL_NAMES) {
      const c = input.contributions[n] ?? 0;
      if (c > 0) causes[n] = (riskPoints * c) / contributed;
    }
  }
  if (raw.open_items > 0) causes.open_items = raw.open_items;
  if (raw.overdue_items > 0) causes.overdue_items = raw.overdue_items;

  const parts = Object.fromEntries(PRESSURE_PARTS.map((k) => [k, round1(raw[k])])) as PressureParts;
  return { score, band: bandFor(score, policy.bands), parts, causes };
}
