/**
 * Imports risk signals from a file (other monitoring systems, the shipped sample) through
 * risk_history_tool.record. The other risk actions run with scripts/tool.ts.
 *
 *   npx bun run scripts/risk.ts --from-file signals.jsonl [--shift-to-now] [--dry-run]
 */
import { readFile } from "node:fs/promises";
import { AppError } from "../lib/core/app-error.ts";
import { type ParsedCli, printJson, runCli } from "../lib/core/cli.ts";

const spec = {
  name: "risk",
  usage: `Usage: npx bun run scripts/risk.ts --from-file FILE [--shift-to-now] [--dry-run]

Records every signal record of FILE with risk_history_tool.record (the same code as
POST /v1/tools/execute), in one write. The whole file is validated first: any bad record stops the
import with its line (JSONL) or index (JSON) and field named, and nothing is recorded.

FILE is one of (format of a record: docs/governance.md "Risk signals"):
  JSONL         one record per line: {"env":"prod","service":"gateway","ts":"2026-03-02T09:00:00Z","signals":{"slo_burn_rate":1.4}}
  JSON array    [ {record}, {record}, ... ]
  JSON object   {"description": "...", "records": [ {record}, ... ]}   (ops/samples/risk_signals.sample.json)
A file over the batch limit (lib/risk/record.ts MAX_BATCH) is refused naming it; split bigger imports.

Options:
  --from-file FILE  the records to import (required).
  --shift-to-now    move all timestamps by the same amount so the newest falls in the current hour
                    (replaying a fixed sample as "the past week").
  --dry-run         validate and print what would be recorded; write nothing.
  -h, --help        this text.

Then: npx bun run scripts/tool.ts risk_history_tool snapshot --params-json '{"env":"prod"}'   (and digest, cleanup;
      architecture_pressure_tool digest) — see docs/governance.md.
Env: BACKLOG_BACKEND / BACKLOG_POSTGRES_DSN / BACKLOG_JSONL_DIR (where the signals are stored, next to the
backlog), BACKLOG_POLICY_FILE (allowed envs), LOG_LEVEL. Output: JSON result on stdout, logs on stderr.
Exit: 0 when recorded (or validated with --dry-run), 1 on a bad file or a store failure.`,
  flags: {
    "from-file": { type: "string" },
    "shift-to-now": { type: "boolean" },
    "dry-run": { type: "boolean" },
  },
} as const;

async function main({ values }: ParsedCli<typeof spec.flags>): Promise<number> {
  // Imported here, not at the top: --help is answered before the logger, policy, tool and store load.
  const [{ logToStderr }, { parseBatch, parseBatchText, shiftToNow }, { CLI_AGENT, loadToolConfig }, { runLocalTool }] = await Promise.all([
    import("../lib/core/log.ts"),
    import("../lib/risk/record.ts"),
    import("../lib/tools/context.ts"),
    import("../lib/tools/local.ts"),
  ]);
  logToStderr();
  const file = values["from-file"];
  if (!file) throw new AppError("invalid_input", "--from-file FILE is required (a JSONL file, a JSON array or {\"records\": [...]}). Run with --help for the usage.");

  const { policy } = loadToolConfig();
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new AppError("invalid_input", `Cannot read --from-file ${file}: ${(err as Error).message}`, { cause: err });
  }
  const now = new Date();
  const parsed = parseBatchText(text, file);
  const entries = values["shift-to-now"] ? shiftToNow(parsed.entries, now) : parsed.entries;
  // Whole file first, with line/index labels, before any store is opened.
  parseBatch(entries, parsed.label, policy.envs, CLI_AGENT, now, `${file} is invalid`);

  printJson(await runLocalTool({ tool: "risk_history_tool", action: "record", params: { records: entries, dry_run: Boolean(values["dry-run"]) } }));
  return 0;
}

runCli(spec, main);
