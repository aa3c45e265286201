/**
 * Script start-up (issue 17 item 4): wall time of `bun scripts/cleanup.ts --help`, of a real
 * `cleanup --dry-run` on a small JSONL store, and of every bundled script (`bun <bundle>.js --help`,
 * built by scripts/bundle.ts), against the bare runtime, median of interleaved runs; and the size of the
 * largest bundle against the ConfigMap limit. These run as cron jobs and Kubernetes Jobs, so start-up is
 * paid on every run.
 *
 * The bare runtime is `bun -e 'void 0'`: on Bun 1.4 `bun -e ''` prints bun's usage text without starting
 * the JavaScript engine at all (it is reported too, for reference, with an empty script file).
 *
 *   npx bun run bench/startup.ts [--runs N]     # default 15 runs per command (same with --full)
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { createdEvent, itemVersion, writeJsonl } from "./lib/data.ts";
import { benchMain, progress, type Bench, type BenchOptions } from "./lib/main.ts";
import { BUN, runOk } from "./lib/proc.ts";
import type { BenchResult } from "./lib/report.ts";
import { median } from "./lib/stats.ts";

const REPO = fileURLToPath(new URL("../", import.meta.url));
const CLEANUP = "scripts/cleanup.ts";
/** The small store of the dry-run row: what a young deployment's cron job scans. */
const STORE_ITEMS = 1_000;
/** A ConfigMap holds at most 1 MiB (scripts/bundle.ts checks the same limit when it builds). */
const CONFIGMAP_KIB = 1024;

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
  // Bundles of the current code, built aside so dist/ is left as it is.
  const out = mkdtempSync(join(tmpdir(), "bb-bench-dist-"));
  try {
    runOk(BUN, ["run", "scripts/bundle.ts", "--out-dir", out], { cwd: REPO });
    const bundles = readdirSync(out).filter((f) => f.endsWith(".js")).sort();
    if (!bundles.includes("cleanup.js")) throw new Error(`scripts/bundle.ts built no cleanup.js (got ${bundles.join(", ")})`);
    progress(`built ${bundles.length} bundles: ${bundles.join(", ")}`);

    // What a Job really pays: a dry-run cleanup of a small JSONL backlog (one version per item).
    const storeDir = join(out, "backlog");
    mkdirSync(storeDir);
    const items = Array.from({ length: STORE_ITEMS }, (_, i) => itemVersion(i, 0));
    writeJsonl(join(storeDir, "items.jsonl"), items);
    writeJsonl(join(storeDir, "events.jsonl"), items.map((it, i) => createdEvent(it, i)));
    const jobEnv = { ...process.env, BACKLOG_BACKEND: "jsonl", BACKLOG_JSONL_DIR: storeDir, BACKLOG_POLICY_FILE: join(REPO, "config/backlog_policy.yml"), BACKLOG_RISK_POLICY_FILE: join(REPO, "config/risk_policy.yml"), BACKLOG_REPORTS_DIR: join(out, "reports"), LOG_LEVEL: "error" };
    const dry = JSON.parse(runOk(BUN, [CLEANUP, "--dry-run"], { cwd: REPO, env: jobEnv }).stdout) as { removed: number; dry_run: boolean };
    if (dry.dry_run !== true) throw new Error(`${CLEANUP} --dry-run did not answer a dry run: ${JSON.stringify(dry)}`);

    const bare: Cmd = { label: "bun -e 'void 0'", args: ["-e", "void 0"] };
    const usage: Cmd = { label: "bun -e ''", args: ["-e", ""] };
    const emptyFile: Cmd = { label: "bun <empty file>", args: [join(out, "empty.js")] };
    writeFileSync(emptyFile.args[0]!, "");
    const source: Cmd = { label: `bun ${CLEANUP} --help`, args: [CLEANUP, "--help"] };
    const sourceJob: Cmd = { label: `bun ${CLEANUP} --dry-run`, args: [CLEANUP, "--dry-run"], env: jobEnv };
    const bundled: Cmd[] = bundles.map((b) => ({ label: `bun dist/${b} --help`, args: [join(out, b), "--help"] }));
    const bundleJob: Cmd = { label: "bun dist/cleanup.js --dry-run", args: [join(out, "cleanup.js"), "--dry-run"], env: jobEnv };
    // The floor of a bundle: the same file, exiting at its first statement (load + parse, no module code run).
    const cleanupJs = join(out, "cleanup.js");
    const parseOnly: Cmd = { label: "cleanup.js exiting at once", args: [join(out, "parse-only.js")] };
    writeFileSync(parseOnly.args[0]!, readFileSync(cleanupJs, "utf8").replace(/^(\/\/ @bun[^\n]*\n)?/, (pragma) => `${pragma}process.exit(0);\n`));

    const samples = measure([bare, usage, emptyFile, source, sourceJob, ...bundled, bundleJob, parseOnly], runs);
    const med = (label: string) => median(samples.get(label)!);
    const base = med(bare.label);
    const row = (label: string, figure: number, times: number | null, detail: string): BenchResult => ({
      benchmark: `startup: ${label}`,
      figure,
      baseline: base,
      unit: "ms",
      baselineLabel: bare.label,
      target: times === null ? "report only" : `≤ ${times}× baseline`,
      met: times === null ? null : figure <= times * base,
      detail,
    });
    const common = `median of ${runs} interleaved runs after 2 warm-ups; an empty script file took ${med(emptyFile.label).toFixed(1)} ms, \`bun -e ''\` (prints bun's usage, no JS engine) ${med(usage.label).toFixed(1)} ms`;
    const all = bundled.map((c) => `${basename(c.args[0]!)} ${med(c.label).toFixed(1)} ms`).join(", ");
    const cleanupBundle = bundled.find((c) => c.label.includes("cleanup.js"))!;
    const slowest = bundled.reduce((a, b) => (med(b.label) > med(a.label) ? b : a));
    const sizes = bundles.map((b) => ({ name: b, bytes: statSync(join(out, b)).size }));
    const largest = sizes.reduce((a, b) => (b.bytes > a.bytes ? b : a));
    const store = `BACKLOG_BACKEND=jsonl, ${STORE_ITEMS.toLocaleString("en-US")} items with their created events, default retention (${dry.removed} to remove)`;
    return [
      row(source.label, med(source.label), 3, `${common}; loads lib/core/cli.ts and the script only (tests/scripts/startup.test.ts)`),
      row(sourceJob.label, med(sourceJob.label), 6, `${common}; ${store}: config, logger, policy (YAML + valibot), backlog_tool only, the JSONL store`),
      row(cleanupBundle.label, med(cleanupBundle.label), null, `${common}; the ${Math.round(statSync(cleanupJs).size / 1024)} KiB bundle exiting at its first statement (load + parse only) took ${med(parseOnly.label).toFixed(1)} ms`),
      row(bundleJob.label, med(bundleJob.label), null, `${common}; ${store}; the bundle a Kubernetes Job runs from a ConfigMap`),
      row(`slowest bundle (${basename(slowest.args[0]!)})`, med(slowest.label), null, `all bundles: ${all}`),
      {
        benchmark: `startup: largest bundle (${largest.name})`,
        figure: largest.bytes / 1024,
        baseline: CONFIGMAP_KIB,
        unit: "KiB",
        baselineLabel: "the 1 MiB ConfigMap limit",
        target: "< 1 MiB",
        met: largest.bytes < CONFIGMAP_KIB * 1024,
        detail: sizes.map((s) => `${s.name} ${Math.round(s.bytes / 1024)} KiB`).join(", "),
      },
    ];
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

export const bench: Bench = {
  name: "startup",
  about:
    "Wall time of `bun scripts/cleanup.ts --help` (target ≤ 3×) and of a real `cleanup --dry-run` on a 1,000-item JSONL store (≤ 6×) against the bare runtime (`bun -e 'void 0'`), every bundled script's --help and the bundled dry run (reported), and the largest bundle against the 1 MiB ConfigMap limit.",
  run,
};

if (import.meta.main) await benchMain(bench);
