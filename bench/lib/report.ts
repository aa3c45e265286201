/**
 * What every benchmark reports: its figure, the baseline measured in the same run, their ratio, the
 * target and whether it was met. Each bench file prints its own results; bench/index.ts collects them
 * (written as JSON to --results) into one summary table.
 */
import { appendFileSync } from "node:fs";
import { markdownTable, textTable } from "./table.ts";

export type Unit = "ms" | "rows/s" | "req/s" | "MB" | "KiB";

export interface BenchResult {
  /** Short name, e.g. "jsonl fold: cold load + dashboard". */
  benchmark: string;
  figure: number;
  baseline: number;
  unit: Unit;
  /** What the baseline is, e.g. "read + JSON.parse every line". */
  baselineLabel: string;
  /** Human form, e.g. "≤ 1.5× baseline" or "≤ 5 ms". */
  target: string;
  /** null: reported for information, no target. */
  met: boolean | null;
  /** Size and sampling, e.g. "1,000,000 lines, median of 5". */
  detail: string;
  note?: string;
}

/** figure / baseline: for times lower is better, for rates higher is better (the target says which). */
export const ratio = (r: Pick<BenchResult, "figure" | "baseline">): number => r.figure / r.baseline;

export function fmt(value: number, unit: Unit): string {
  if (unit === "ms") return value >= 100 ? `${Math.round(value)} ms` : value >= 10 ? `${value.toFixed(1)} ms` : `${value.toFixed(2)} ms`;
  if (unit === "MB") return `${value.toFixed(0)} MB`;
  return `${Math.round(value).toLocaleString("en-US")} ${unit}`;
}

export const fmtRatio = (x: number) => `${x.toFixed(2)}×`;
export const fmtInt = (n: number) => n.toLocaleString("en-US");

const HEADER = ["benchmark", "figure", "baseline", "ratio", "target", "met?"];

function row(r: BenchResult): string[] {
  return [r.benchmark, fmt(r.figure, r.unit), `${fmt(r.baseline, r.unit)} (${r.baselineLabel})`, fmtRatio(ratio(r)), r.target, r.met === null ? "n/a" : r.met ? "yes" : "NO"];
}

export function resultsTable(results: BenchResult[], markdown = false): string {
  return (markdown ? markdownTable : textTable)(HEADER, results.map(row));
}

/** One benchmark file's results, with sizes and notes under the table. */
export function printResults(results: BenchResult[]): void {
  const out = [resultsTable(results), ""];
  for (const r of results) {
    out.push(`  ${r.benchmark}: ${r.detail}`);
    if (r.note) out.push(`    note: ${r.note}`);
  }
  process.stdout.write(out.join("\n") + "\n");
}

/** bench/index.ts passes --results <file>: one JSON line per result is appended there. */
export function saveResults(file: string | undefined, results: BenchResult[]): void {
  if (!file) return;
  appendFileSync(file, results.map((r) => JSON.stringify(r) + "\n").join(""));
}
