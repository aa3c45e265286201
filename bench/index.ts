/**
 * Runs every benchmark, one after the other, each in its own process (a clean heap per benchmark), on
 * one PostgreSQL server for all of them, and prints one summary table.
 *
 *   npx bun run bench                      # small sizes, well under a few minutes on 2 cores
 *   npx bun run bench --full               # the sizes
 *   npx bun run bench --only http,startup  # some of them
 *   npx bun run bench --markdown           # the summary as a markdown table too (bench/README.md)
 *   npx bun run bench --json               # the summary as one JSON object on stdout (tables go to stderr)
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { progress } from "./lib/main.ts";
import { adminDsn, stopOwnedCluster } from "./lib/postgres.ts";
import { BUN } from "./lib/proc.ts";
import { resultsTable, type BenchResult } from "./lib/report.ts";

const BENCHES = ["jsonl-fold", "pg-upsert", "pg-dashboard", "startup", "memory", "http", "growth", "ui", "policy-load", "alert-metrics"] as const;
const USES_POSTGRES = new Set(["pg-upsert", "pg-dashboard", "http", "growth", "ui", "alert-metrics"]);
const HERE = fileURLToPath(new URL("./", import.meta.url));

const USAGE = `Usage: npx bun run bench [--full] [--runs N] [--only NAME,...] [--markdown] [--json]

Runs ${BENCHES.join(", ")} (bench/<name>.ts) one after the other and prints the summary:
benchmark, figure, baseline, ratio, target, met?. Each benchmark can also be run alone:
npx bun run bench/<name>.ts [--full]. --json prints {machine, full, seconds, results: [{benchmark,
figure, baseline, ratio, unit, target, met, detail}], targets_met, targets} on stdout. Postgres: BENCH_POSTGRES_DSN (or TEST_POSTGRES_DSN), else a throwaway
cluster started once for all of them. See bench/README.md.
`;

function machine(): string {
  const model = /^model name\s*:\s*(.+)$/m.exec(existsSync("/proc/cpuinfo") ? readFileSync("/proc/cpuinfo", "utf8") : "")?.[1] ?? cpus()[0]?.model ?? "unknown CPU";
  return `${cpus().length} cores (${model}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${process.platform} ${process.arch}, bun ${process.versions.bun ?? "?"}`;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { full: { type: "boolean" }, runs: { type: "string" }, only: { type: "string" }, markdown: { type: "boolean" }, json: { type: "boolean" }, help: { type: "boolean", short: "h" } },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const only = values.only?.split(",").map((s) => s.trim()).filter(Boolean);
  const unknown = only?.filter((n) => !(BENCHES as readonly string[]).includes(n));
  if (unknown?.length) throw new Error(`--only: unknown benchmark ${unknown.join(", ")}; known: ${BENCHES.join(", ")}`);
  const selected = BENCHES.filter((b) => !only || only.includes(b));

  const tmp = mkdtempSync(join(tmpdir(), "bb-bench-"));
  const resultsFile = join(tmp, "results.jsonl");
  const failed: string[] = [];
  const started = performance.now();
  try {
    const env = { ...process.env };
    if (selected.some((b) => USES_POSTGRES.has(b))) {
      const given = Boolean(process.env.BENCH_POSTGRES_DSN || process.env.TEST_POSTGRES_DSN);
      env.BENCH_POSTGRES_DSN = await adminDsn();
      if (!given) env.BENCH_POSTGRES_THROWAWAY = "1";
    }
    for (const name of selected) {
      progress(`── ${name} ──`);
      const args = [join(HERE, `${name}.ts`), "--results", resultsFile];
      if (values.full) args.push("--full");
      if (values.runs) args.push("--runs", values.runs);
      // With --json, stdout carries only the summary: each benchmark's own table goes to stderr.
      const res = spawnSync(BUN, args, { stdio: ["inherit", values.json ? 2 : "inherit", "inherit"], env });
      if (res.status !== 0) failed.push(`${name} (exit ${res.status ?? res.signal})`);
    }
  } finally {
    stopOwnedCluster();
  }
  const results: BenchResult[] = existsSync(resultsFile)
    ? readFileSync(resultsFile, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as BenchResult)
    : [];
  rmSync(tmp, { recursive: true, force: true });

  const out = [
    "",
    `Summary (${values.full ? "--full sizes" : "small sizes; --full for the issue's"}) on ${machine()}, ${((performance.now() - started) / 1000).toFixed(0)} s:`,
    resultsTable(results),
    `targets met: ${results.filter((r) => r.met === true).length} of ${results.filter((r) => r.met !== null).length}`,
  ];
  if (values.markdown) out.push("", resultsTable(results, true));
  if (failed.length) out.push(`FAILED: ${failed.join(", ")}`);
  if (values.json) {
    process.stderr.write(out.join("\n") + "\n");
    const summary = {
      machine: machine(),
      full: Boolean(values.full),
      seconds: Math.round((performance.now() - started) / 1000),
      results: results.map((r) => ({ ...r, ratio: r.figure / r.baseline })),
      targets_met: results.filter((r) => r.met === true).length,
      targets: results.filter((r) => r.met !== null).length,
      failed,
    };
    process.stdout.write(JSON.stringify(summary, null, 2) + "\n");
  } else process.stdout.write(out.join("\n") + "\n");
  return failed.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`error: ${(err as Error).message}\n`);
    stopOwnedCluster();
    process.exit(1);
  },
);
