/**
 * Policy start-up with many ownership overrides (issue 15, item 6): parsePolicyText (YAML + linear
 * duplicate-key check + validation) against the bare YAML parse of the same text, and, for the smaller
 * size, the yaml library's own `uniqueKeys: true` check that it replaces (quadratic: 20k overrides took
 * seconds, 200k minutes). Median of interleaved runs.
 *
 *   npx bun run bench/policy-load.ts [--full] [--runs N]   # small: 2k and 20k overrides; full: 20k and 200k
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import YAML from "yaml";
import { parsePolicyText } from "../lib/generation/policy.ts";
import { benchMain, progress, type Bench, type BenchOptions } from "./lib/main.ts";
import { fmtInt, type BenchResult } from "./lib/report.ts";
import { median } from "./lib/stats.ts";

const BASE = readFileSync(fileURLToPath(new URL("../config/backlog_policy.yml", import.meta.url)), "utf8");

function policyText(overrides: number): string {
  const lines = Array.from({ length: overrides }, (_, i) => `    svc-${i}: team-${i % 50}`).join("\n");
  return BASE.replace("  overrides: {}", "  overrides:\n" + lines);
}

function time(fn: () => unknown): number {
  const t = performance.now();
  fn();
  return performance.now() - t;
}

async function run(opts: BenchOptions): Promise<BenchResult[]> {
  const sizes = opts.full ? [20_000, 200_000] : [2_000, 20_000];
  const runs = opts.runs ?? 3;
  const results: BenchResult[] = [];
  const perOverride: number[] = [];
  for (const n of sizes) {
    const text = policyText(n);
    const ours: number[] = [];
    const bare: number[] = [];
    time(() => parsePolicyText(text, "bench.yml")); // warm-up
    for (let r = 0; r < runs; r++) {
      ours.push(time(() => parsePolicyText(text, "bench.yml")));
      bare.push(time(() => YAML.parse(text, { uniqueKeys: false })));
    }
    const figure = median(ours);
    const baseline = median(bare);
    perOverride.push(figure / n);
    let note: string | undefined;
    if (n === sizes[0]) {
      const quadratic = time(() => YAML.parse(text, { uniqueKeys: true }));
      note = `yaml uniqueKeys:true alone: ${quadratic.toFixed(0)} ms`;
    }
    progress(`${fmtInt(n)} overrides: ${figure.toFixed(0)} ms (bare YAML ${baseline.toFixed(0)} ms)${note ? `; ${note}` : ""}`);
    results.push({
      benchmark: `policy load: ${fmtInt(n)} ownership overrides`,
      figure,
      baseline,
      unit: "ms",
      baselineLabel: "YAML.parse of the same text, no duplicate check",
      target: "≤ 2× baseline",
      met: figure <= 2 * baseline,
      detail: `median of ${runs}`,
      ...(note ? { note } : {}),
    });
  }
  const growth = perOverride[1]! / perOverride[0]!;
  progress(`time per override grows ${growth.toFixed(2)}× from ${fmtInt(sizes[0]!)} to ${fmtInt(sizes[1]!)} overrides (1.0 = linear)`);
  return results;
}

export const bench: Bench = {
  name: "policy-load",
  about: "parsePolicyText with N ownership overrides against YAML.parse of the same text (no duplicate check); the yaml library's quadratic uniqueKeys check reported for the smaller size.",
  run,
};

if (import.meta.main) await benchMain(bench);
