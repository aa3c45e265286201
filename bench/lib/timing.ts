/** Wall-clock timing of in-process work. Warm-up runs are discarded so JIT tiers settle first. */
import { performance } from "node:perf_hooks";

export async function timeMs<T>(fn: () => T | Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

/** Runs `fn` `warmup` times unmeasured, then `runs` times measured; returns the samples in ms. */
export async function sample(runs: number, fn: () => unknown, warmup = 0): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}

/**
 * Alternates two measurements run by run (a, b, a, b, …) so that drift in the machine (page cache,
 * CPU frequency, a noisy neighbour) hits the figure and its baseline alike.
 */
export async function sampleInterleaved(runs: number, a: () => unknown, b: () => unknown): Promise<[number[], number[]]> {
  const sa: number[] = [];
  const sb: number[] = [];
  for (let i = 0; i < runs; i++) {
    for (const [fn, out] of [[a, sa], [b, sb]] as const) {
      const t0 = performance.now();
      await fn();
      out.push(performance.now() - t0);
    }
  }
  return [sa, sb];
}
