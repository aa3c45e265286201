/**
 * The shape every script shares: parse flags strictly, answer --help, run main, set the exit code.
 * Errors print one readable message (never a stack unless LOG_LEVEL=debug) and exit non-zero.
 */
import process from "node:process";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { AppError, describeError } from "./errors.ts";
import { redactText } from "./redact.ts";
import { loadConfig, processEnv } from "../config/index.ts";
import { log } from "./log.ts";

export type FlagSpec = NonNullable<ParseArgsConfig["options"]>;

export interface CliSpec<F extends FlagSpec> {
  name: string;
  usage: string;
  flags: F;
  allowPositionals?: boolean;
}

/** Parses argv; an unknown or malformed flag is an AppError that names it and points at --help. */
export function parseCli<F extends FlagSpec>(spec: CliSpec<F>, argv: string[] = process.argv.slice(2)) {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { ...spec.flags, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: spec.allowPositionals ?? false,
    });
    return { values: values as Record<string, unknown>, positionals, help: Boolean((values as Record<string, unknown>).help) };
  } catch (err) {
    throw new AppError("invalid_input", `${spec.name}: ${(err as Error).message}. Run with --help for the usage.`, {
      cause: err,
    });
  }
}

export type ParsedCli = ReturnType<typeof parseCli>;

/**
 * runMain for a script with flags: `--help` prints the usage and exits 0; otherwise `main` gets the
 * parsed flags. Bad flags are an error naming the flag.
 */
export function runCli<F extends FlagSpec>(spec: CliSpec<F>, main: (cli: ParsedCli) => Promise<number | void>): void {
  runMain(spec.name, async () => {
    const cli = parseCli(spec);
    if (cli.help) {
      process.stdout.write(spec.usage + "\n");
      return 0;
    }
    return main(cli);
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
  // Bad logging settings fail at start, named (the logger itself falls back to info/json to report it).
  Promise.resolve()
    .then(() => (loadConfig(processEnv(), ["logging"]), main()))
    .then(
    (code) => {
      process.exitCode = code ?? 0;
    },
    (err: unknown) => {
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
