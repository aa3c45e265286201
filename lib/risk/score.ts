/**
 * Risk maths, PURE (plain data in, plain data out; tested without storage):
 *   points(s) = 100 × weight(s) × min(value(s) / cap(s), 1) / Σ weights
 *   score     = Σ points, rounded to 0.1  → always 0–100, never lower when any signal rises
 * A signal never reported (or older than stale_after_days) scores 0: unknown is not evidence of risk,
 * and the digest lists which signals each score rests on.
 */
import type { Band, RiskPolicy } from "./policy.ts";
import { SIGNAL_NAMES, type SignalName, type SignalRecord, type Signals } from "./signals.ts";

export interface RiskScore {
  score: number;
  band: Band;
  /** Points per reported signal (0.1 precision), the same scale as the score. */
  contributions: Partial<Record<SignalName, number>>;
}

export const round1 = (n: number) => Math.round(n * 10) / 10;
const clamp = (n: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, n));

export function bandFor(score: number, bands: { medium: number; high: number; critical: number }): Band {
  return score >= bands.critical ? "critical" : score >= bands.high ? "high" : score >= bands.medium ? "medium" : "low";
}

export function scoreSignals(signals: Signals, policy: Pick<RiskPolicy, "signals" | "bands">): RiskScore {
  const total = SIGNAL_NAMES.reduce((sum, n) => sum + policy.signals[n].weight, 0);
  const contributions: Partial<Record<SignalName, number>> = {};
  let sum = 0;
  for (const n of SIGNAL_NAMES) {
    const value = signals[n];
    if (value === undefined) continue;
    const { weight, cap } = policy.signals[n];
    const points = total > 0 ? (100 * weight * Math.min(Math.max(value, 0) / cap, 1)) / total : 0;
    sum += points;
    contributions[n] = round1(points);
  }
  const score = clamp(round1(sum), 0, 100);
  return { score, band: bandFor(score, policy.bands), contributions };
}

export interface TopSignal {
  signal: SignalName;
  value: number;
  points: number;
}

/** The signals adding the most points (ties by the documented signal order); zero-point ones omitted. */
export function topSignals(signals: Signals, contributions: Partial<Record<SignalName, number>>, n: number): TopSignal[] {
  return SIGNAL_NAMES.filter((s) => (contributions[s] ?? 0) > 0 && signals[s] !== undefined)
    .map((s) => ({ signal: s, value: signals[s]!, points: contributions[s]! }))
    .sort((a, b) => b.points - a.points || SIGNAL_NAMES.indexOf(a.signal) - SIGNAL_NAMES.indexOf(b.signal))
    .slice(0, n);
}

export interface LatestSignals {
  service: string;
  signals: Signals;
  /** When each signal's value was true. */
  as_of: Partial<Record<SignalName, string>>;
}

/**
 * Per service, each signal's most recent value with from ≤ ts ≤ to (later ts wins; on equal ts the
 * later-recorded record wins, so a correction re-sent for the same instant replaces the original).
 */
export function latestSignals(records: Iterable<SignalRecord>, from: string, to: string): Map<string, LatestSignals> {
  const out = new Map<string, LatestSignals & { recorded: Partial<Record<SignalName, string>> }>();
  for (const r of records) {
    if (r.ts < from || r.ts > to) continue;
    let entry = out.get(r.service);
    if (!entry) out.set(r.service, (entry = { service: r.service, signals: {}, as_of: {}, recorded: {} }));
    for (const n of SIGNAL_NAMES) {
      const value = r.signals[n];
      if (value === undefined) continue;
      const ts = entry.as_of[n];
      if (ts === undefined || r.ts > ts || (r.ts === ts && r.recorded_at >= entry.recorded[n]!)) {
        entry.signals[n] = value;
        entry.as_of[n] = r.ts;
        entry.recorded[n] = r.recorded_at;
      }
    }
  }
  return new Map([...out].map(([k, { recorded: _r, ...rest }]) => [k, rest]));
}

/** Start of the UTC hour containing `d`: the snapshot's idempotency key. */
export function hourStart(d: Date): string {
  const h = new Date(d.getTime());
  h.setUTCMinutes(0, 0, 0);
  return h.toISOString();
}

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
