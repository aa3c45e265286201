/** Summary statistics for benchmark samples (milliseconds, rates, bytes: any unit). */

export function sorted(samples: readonly number[]): number[] {
  return [...samples].sort((a, b) => a - b);
}

/** Nearest-rank percentile (p in 0..100): a value that was actually measured, never interpolated. */
export function percentile(samples: readonly number[], p: number): number {
  if (!samples.length) throw new Error("percentile of no samples");
  const s = sorted(samples);
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length - 1, Math.max(0, rank - 1))]!;
}

export function median(samples: readonly number[]): number {
  if (!samples.length) throw new Error("median of no samples");
  const s = sorted(samples);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export interface Summary {
  n: number;
  min: number;
  p50: number;
  p95: number;
  max: number;
}

export function summarize(samples: readonly number[]): Summary {
  const s = sorted(samples);
  return { n: s.length, min: s[0]!, p50: median(s), p95: percentile(s, 95), max: s[s.length - 1]! };
}
