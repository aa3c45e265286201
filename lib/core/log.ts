/**
 * Structured logging: one JSON object per line on stdout with `level`, `event`, `ts` and fields,
 * the shape operators already grep for (see the setup job's expected output).
 * LOG_LEVEL = debug|info|warn|error (default info); LOG_FORMAT = json (default) | pretty.
 */
import process from "node:process";
import { processEnv } from "../config/index.ts";
import { redactFields } from "./redact.ts";

export type Level = "debug" | "info" | "warn" | "error";
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type Fields = Record<string, unknown>;

export interface Logger {
  debug(event: string, fields?: Fields): void;
  info(event: string, fields?: Fields): void;
  warn(event: string, fields?: Fields): void;
  error(event: string, fields?: Fields): void;
  child(fields: Fields): Logger;
}

export interface LoggerOptions {
  level?: Level;
  format?: "json" | "pretty";
  /** Where lines go; defaults to stdout. Tests pass an array sink. */
  write?: (line: string) => void;
  /** Clock, injectable for tests. */
  now?: () => Date;
  base?: Fields;
}

function parseLevel(raw: string | undefined): Level {
  const v = (raw ?? "info").toLowerCase();
  return v === "debug" || v === "info" || v === "warn" || v === "error" ? v : "info";
}

let stream: "stdout" | "stderr" = "stdout";

/**
 * Scripts whose stdout is a JSON result (tool.ts, generate.ts, migrate --status, ...) send their log
 * lines to stderr so `... | jq` works; everything else logs to stdout as operators expect.
 */
export function logToStderr(): void {
  stream = "stderr";
}

const defaultWrite = (line: string) => (stream === "stdout" ? process.stdout : process.stderr).write(line + "\n");

export function createLogger(options: LoggerOptions = {}): Logger {
  // Tolerant here (a bad value must not stop the logger that reports it); entry points reject it at start.
  const level = options.level ?? parseLevel(processEnv().LOG_LEVEL);
  const format = options.format ?? (processEnv().LOG_FORMAT?.trim().toLowerCase() === "pretty" ? "pretty" : "json");
  const write = options.write ?? defaultWrite;
  const now = options.now ?? (() => new Date());
  const base = options.base ?? {};

  function emit(lvl: Level, event: string, fields?: Fields) {
    if (ORDER[lvl] < ORDER[level]) return;
    const safe = redactFields({ ...base, ...fields }) as Fields;
    const ts = now().toISOString();
    if (format === "pretty") {
      const rest = Object.entries(safe)
        .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
        .join(" ");
      write(`${ts} ${lvl.toUpperCase().padEnd(5)} ${event}${rest ? "  " + rest : ""}`);
    } else {
      write(JSON.stringify({ level: lvl, event, ts, ...safe }));
    }
  }

  return {
    debug: (e, f) => emit("debug", e, f),
    info: (e, f) => emit("info", e, f),
    warn: (e, f) => emit("warn", e, f),
    error: (e, f) => emit("error", e, f),
    child: (fields) => createLogger({ level, format, write, now, base: { ...base, ...fields } }),
  };
}

/** Process-wide logger configured from LOG_LEVEL / LOG_FORMAT. */
export const log: Logger = createLogger();

/** A logger that drops everything; handy default for libraries used in tests. */
export const silentLogger: Logger = createLogger({ write: () => {} });
