/**
 * The shape every script shares: parse flags strictly, answer --help, run main, set the exit code.
 * Errors print one readable message (never a stack unless LOG_LEVEL=debug) and exit non-zero.
 *
 * Start-up matters here (cron jobs and Kubernetes Jobs start thousands of times a year, issue 17 item 4):
 * this module loads nothing but node:util and AppError, so `--help` prints the usage before the config,
 * the logger or any tool is imported. Scripts import their heavy modules inside main, with `import()`.
 */
import process from "node:process";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { AppError } from "./app-error.ts";

export type FlagSpec = NonNullable<ParseArgsConfig["options"]>;

export interface CliSpec<F extends FlagSpec> {
  name: string;
  usage: string;
  flags: F;
  allowPositionals?: boolean;
}

/** What parseArgs gives for one flag: a string or a boolean, an array of them when `multiple`. */
type FlagValue<D> = D extends { type: "boolean" } ? (D extends { multiple: true } ? boolean[] : boolean) : D extends { multiple: true } ? string[] : string;

/** The parsed flags, typed from the spec: absent flags are undefined (no spec here sets a default). */
export type CliValues<F extends FlagSpec> = { [K in keyof F]?: FlagValue<F[K]> };

export interface ParsedCli<F extends FlagSpec = FlagSpec> {
  values: CliValues<F>;
  positionals: string[];
  help: boolean;
}

/** Parses argv; an unknown or malformed flag is an AppError that names it and points at --help. */
export function parseCli<F extends FlagSpec>(spec: CliSpec<F>, argv: string[] = process.argv.slice(2)): ParsedCli<F> {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { ...spec.flags, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: spec.allowPositionals ?? false,
    });
    // parseArgs types its answer from a literal config only; the mapping above is the same rule for a spec.
    const { help, ...flags } = values as Record<string, unknown>;
    return { values: flags as CliValues<F>, positionals, help: help === true };
  } catch (err) {
    throw new AppError("invalid_input", `${spec.name}: ${(err as Error).message}. Run with --help for the usage.`, {
      cause: err,
    });
  }
}

/**
 * runMain for a script with flags: `--help` prints the usage and exits 0 without loading anything else;
 * otherwise `main` gets the parsed flags. Bad flags are an error naming the flag.
 */
export function runCli<F extends FlagSpec>(spec: CliSpec<F>, main: (cli: ParsedCli<F>) => Promise<number | void>): void {
  endOutputQuietlyOnBrokenPipe();
  let cli: ParsedCli<F>;
  try {
    cli = parseCli(spec);
  } catch (err) {
    runMain(spec.name, () => Promise.reject(err));
    return;
  }
  if (cli.help) {
    process.stdout.write(spec.usage + "\n");
    process.exitCode = 0;
    return;
  }
  runMain(spec.name, () => main(cli));
}

/**
 * A reader that stops reading (`migrate.ts --dry-run | head`, quitting `less`) closes the pipe: further
 * writes to stdout fail with EPIPE, which unhandled would crash the script with a stack trace. The reader
 * took what it wanted, so the rest of the output is dropped and the script ends as it would have.
 * Any other stdout error (a full disk under `> file`) is the script's failure: one line, exit 1.
 */
let brokenPipeHandled = false;
let stdoutFailed = false;
function endOutputQuietlyOnBrokenPipe(): void {
  if (brokenPipeHandled) return;
  brokenPipeHandled = true;
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") return;
    process.stderr.write(`error: cannot write to stdout: ${err.message}\n`);
    stdoutFailed = true;
    process.exitCode = 1;
  });
}

/** Prints a JSON result on stdout (pretty, so operators can read it). */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + "\n");
}

/**
 * Runs a script's main: resolves to an exit code (default 0). Failures are logged as one
 * `error` event plus a plain line on stderr, and set exit code 1 (or the error's own).
 */
export function runMain(name: string, main: () => Promise<number | void>): void {
  endOutputQuietlyOnBrokenPipe();
  // Loaded here, not at the top, so a --help answered above never pays for config, logger and valibot.
  const deps = Promise.all([import("../config/index.ts"), import("./log.ts"), import("./errors.ts"), import("./redact.ts")]);
  deps
    .then(([{ loadConfig, processEnv }]) => {
      // Bad logging settings fail at start, named (the logger itself falls back to info/json to report it).
      loadConfig(processEnv(), ["logging"]);
      return main();
    })
    .then(
      (code) => {
        process.exitCode = stdoutFailed ? 1 : code ?? 0;
      },
      async (err: unknown) => {
        const [{ processEnv }, { log }, { describeError }, { redactText }] = await deps;
        const message = redactText(describeError(err));
        log.error(`${name} failed`, { error: message, code: err instanceof AppError ? err.code : "internal" });
        process.stderr.write(`error: ${message}\n`);
        if (processEnv().LOG_LEVEL === "debug" && err instanceof Error && err.stack) {
          process.stderr.write(redactText(err.stack) + "\n");
        }
        process.exitCode = 1;
      },
    );
}
