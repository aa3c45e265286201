/**
 * The shape every bench file shares: `npx bun run bench/<name>.ts [--full] [--runs N]`. Progress goes to
 * stderr, the results table to stdout; a missed target does not fail the run (the table says NO),
 * an error does (exit 1).
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { printResults, saveResults, type BenchResult } from "./report.ts";

export interface BenchOptions {
  /** The sizes (slow); otherwise small sizes that finish in seconds. */
  full: boolean;
  /** Override of the number of measured runs (each bench has its own default). */
  runs: number | undefined;
}

export interface Bench {
  name: string;
  /** One paragraph for --help: what is measured against what. */
  about: string;
  run(opts: BenchOptions): Promise<BenchResult[]>;
}

const USAGE = (b: Bench) => `Usage: npx bun run bench/${b.name}.ts [--full] [--runs N]

${b.about}

  --full      the issue's sizes (default: small sizes that run in seconds)
  --runs N    measured runs per figure (default: per benchmark)
  -h, --help  this text
`;

export function parseBenchArgs(argv: string[]): BenchOptions & { help: boolean; results: string | undefined } {
  const { values } = parseArgs({
    args: argv,
    options: {
      full: { type: "boolean" },
      runs: { type: "string" },
      results: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  let runs: number | undefined;
  if (values.runs !== undefined) {
    runs = Number(values.runs);
    if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs: expected a whole number ≥ 1, got ${JSON.stringify(values.runs)}`);
  }
  return { full: Boolean(values.full), runs, results: values.results, help: Boolean(values.help) };
}

export async function benchMain(bench: Bench): Promise<void> {
  let args;
  try {
    args = parseBenchArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`error: ${(err as Error).message}. Run with --help for the usage.\n`);
    process.exit(2);
  }
  if (args.help) {
    process.stdout.write(USAGE(bench));
    return;
  }
  try {
    progress(`${bench.name}: ${args.full ? "full" : "small"} sizes`);
    const results = await bench.run(args);
    printResults(results);
    saveResults(args.results, results);
  } catch (err) {
    process.stderr.write(`error: bench/${bench.name}.ts failed: ${(err as Error).stack ?? err}\n`);
    process.exitCode = 1;
  }
}

export function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}
