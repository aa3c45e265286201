/**
 * Script start-up (issue 9, item 4): wall time of `bun scripts/cleanup.ts --help` and of every bundled
 * script (`bun <bundle>.js --help`, built by scripts/bundle.ts) against the bare runtime, median of
 * interleaved runs. These run as cron jobs and Kubernetes Jobs, so start-up is paid on every run.
 *
 * The bare runtime is `bun -e 'void 0'`: on Bun 1.4 `bun -e ''` prints bun's usage text without starting
 * the JavaScript engine at all (it is reported too, for reference).
 *
 *   npx bun run bench/startup.ts [--runs N]     # default 15 runs per command (same with --full)
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { benchMain, progress, type Bench, type BenchOptions } from "./lib/main.ts";
import { BUN, runOk } from "./lib/proc.ts";
import type { BenchResult } from "./lib/report.ts";
import { median } from "./lib/stats.ts";

const REPO = fileURLToPath(new URL("../", import.meta.url));

interface Cmd {
  label: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
}

/** Round-robin over the commands, so drift hits all of them alike; 2 unmeasured warm-up rounds. */
function measure(cmds: Cmd[], runs: number): Map<string, number[]> {
  const out = new Map(cmds.map((c) => [c.label, [] as number[]]));
  for (let r = -2; r < runs; r++) {
    for (const c of cmds) {
      const { ms } = runOk(BUN, c.args, { cwd: REPO, env: c.env });
      if (r >= 0) out.get(c.label)!.push(ms);
    }
  }
  return out;
}

export async function run(opts: BenchOptions): Promise<BenchResult[]> {
  const runs = Math.max(opts.runs ?? 15, 10);
  const script = existsSync(join(REPO, "scripts/cleanup.ts")) ? "scripts/cleanup.ts" : "scripts/migrate.ts";
  if (script !== "scripts/cleanup.ts") progress("scripts/cleanup.ts is missing: measuring scripts/migrate.ts --help instead");

  // Bundles of the current code, built aside so dist/ is left as it is.
  const out = mkdtempSync(join(tmpdir(), "bb-bench-dist-"));
  try {
    runOk(BUN, ["run", "scripts/bundle.ts", "--out-dir", out], { cwd: REPO });
    const bundles = readdirSync(out).filter((f) => f.endsWith(".js")).sort();
    if (!bundles.includes("cleanup.js")) throw new Error(`scripts/bundle.ts built no cleanup.js (got ${bundles.join(", ")})`);
    progress(`built ${bundles.length} bundles: ${bundles.join(", ")}`);
    const bare: Cmd = { label: "bun -e 'void 0'", args: ["-e", "void 0"] };
    const usage: Cmd = { label: "bun -e ''", args: ["-e", ""] };
    const source: Cmd = { label: `bun ${script} --help`, args: [script, "--help"] };
    const bundled: Cmd[] = bundles.map((b) => ({ label: `bun dist/${b} --help`, args: [join(out, b), "--help"] }));
    // What a Job really pays: start-up plus a trivial run (dry-run cleanup of an empty JSONL backlog).
    const jobEnv = { ...process.env, BACKLOG_BACKEND: "jsonl", BACKLOG_JSONL_DIR: join(out, "backlog"), BACKLOG_POLICY_FILE: join(REPO, "config/backlog_policy.yml"), BACKLOG_RISK_POLICY_FILE: join(REPO, "config/risk_policy.yml"), BACKLOG_REPORTS_DIR: join(out, "reports"), LOG_LEVEL: "error" };
    const jobs: Cmd[] = [
      { label: `bun ${script} --dry-run`, args: [script, "--dry-run"], env: jobEnv },
      { label: "bun dist/cleanup.js --dry-run", args: [join(out, "cleanup.js"), "--dry-run"], env: jobEnv },
    ].filter((c) => script === "scripts/cleanup.ts" && existsSync(c.args[0]!.startsWith("/") ? c.args[0]! : join(REPO, c.args[0]!)));
    // The floor of a bundle: the same file, exiting at its first statement (load + parse, no module code run).
    const cleanupJs = join(out, "cleanup.js");
    const parseOnly: Cmd = { label: "cleanup.js exiting at once", args: [join(out, "parse-only.js")] };
    writeFileSync(parseOnly.args[0]!, readFileSync(cleanupJs, "utf8").replace(/^(\/\/ @bun[^\n]*\n)?/, (pragma) => `${pragma}process.exit(0);\n`));
    const samples = measure([bare, usage, source, ...bundled, parseOnly, ...jobs], runs);
    const med = (label: string) => median(samples.get(label)!);
    const base = med(bare.label);
    const row = (label: string, figure: number, detail: string): BenchResult => ({
      benchmark: `startup: ${label}`,
      figure,
      baseline: base,
      unit: "ms",
      baselineLabel: bare.label,
      target: "≤ 2× baseline",
      met: figure <= 2 * base,
      detail,
    });
    const all = bundled.map((c) => `${basename(c.args[0]!)} ${med(c.label).toFixed(1)} ms`).join(", ");
    const cleanupBundle = bundled.find((c) => c.label.includes("cleanup.js")) ?? bundled[0]!;
    const slowest = bundled.reduce((a, b) => (med(b.label) > med(a.label) ? b : a));
    const common = `median of ${runs} interleaved runs after 2 warm-ups; \`bun -e ''\` (prints bun's usage, no JS engine) took ${med(usage.label).toFixed(1)} ms`;
    return [
      row(source.label, med(source.label), `${common}${script === "scripts/cleanup.ts" ? "" : "; scripts/cleanup.ts is missing, so scripts/migrate.ts"}`),
      row(cleanupBundle.label, med(cleanupBundle.label), `${common}; bundles built by scripts/bundle.ts from the current code; the same ${Math.round(statSync(cleanupJs).size / 1024)} KiB bundle exiting at its first statement (load + parse only) took ${med(parseOnly.label).toFixed(1)} ms`),
      row(`slowest bundle (${basename(slowest.args[0]!)})`, med(slowest.label), `all bundles: ${all}`),
      ...jobs.map((c) => ({
        ...row(c.label, med(c.label), `${common}; BACKLOG_BACKEND=jsonl on an empty directory: what a cron job or Kubernetes Job pays before real work`),
        target: "report only",
        met: null,
      })),
    ];
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

export const bench: Bench = {
  name: "startup",
  about: "Wall time of `bun scripts/cleanup.ts --help` and of every bundled script's --help against the bare runtime (`bun -e 'void 0'`).",
  run,
};

if (import.meta.main) await benchMain(bench);
