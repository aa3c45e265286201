/**
 * Generates backlog items from the latest platform digest (weekly) or risk digest (daily).
 *
 *   npx bun run scripts/generate.ts [--env prod] [--week 2026-W47] [--daily] [--date 2026-11-23] [--dry-run]
 */
import { AppError } from "../lib/core/app-error.ts";
import { type ParsedCli, printJson, runCli } from "../lib/core/cli.ts";

const spec = {
  name: "generate",
  usage: `Usage: npx bun run scripts/generate.ts [--env ENV] [--week 2026-W47] [--daily [--date 2026-11-23]] [--dry-run]

Weekly (default): backlog_tool.auto_generate_weekly. Reads the platform digest of ENV for the week
(default: the newest one) from $BACKLOG_REPORTS_DIR/platform/ and upserts one item per service and
recommended category, keyed platform_backlog:<week>:<env>:<service>:<category>. Re-runs create nothing
new and never change an owner people set.
Daily (--daily): backlog_tool.auto_generate_daily from $BACKLOG_REPORTS_DIR/risk/<date>.json, when
generation.daily_from_risk_digest is true in the policy.

Options:
  --env ENV      one of the policy's envs (default: its first, prod).
  --week W       ISO week of the platform digest, e.g. 2026-W47 (weekly only).
  --daily        generate from the daily risk digest instead.
  --date D       date of the risk digest, YYYY-MM-DD (with --daily).
  --dry-run      print what would be created/updated; write nothing.
  -h, --help     this text.

Env: BACKLOG_POLICY_FILE (default config/backlog_policy.yml), BACKLOG_REPORTS_DIR (default ops/reports),
BACKLOG_BACKEND / BACKLOG_POSTGRES_DSN / BACKLOG_JSONL_DIR (the store, see docs/storage.md), LOG_LEVEL.
Output: the JSON result on stdout ({env, week, created, updated, unchanged, capped, items, dry_run}, or
{skipped: true, reason} when the policy switches generation off); JSON log lines on stderr.
Exit: 0 on success (also when skipped), 1 on a missing or malformed digest, an invalid policy or
params, or a store failure (nothing is written when the digest or policy is bad).`,
  flags: {
    env: { type: "string" },
    week: { type: "string" },
    daily: { type: "boolean" },
    date: { type: "string" },
    "dry-run": { type: "boolean" },
  },
} as const;

async function main({ values }: ParsedCli<typeof spec.flags>): Promise<number> {
  // Imported here, not at the top: --help is answered before the logger, policy, tool and store load.
  const [{ logToStderr }, { runLocalTool }] = await Promise.all([import("../lib/core/log.ts"), import("../lib/tools/local.ts")]);
  logToStderr();
  const daily = Boolean(values.daily);
  if (daily && values.week !== undefined) throw new AppError("invalid_input", "--week is for weekly generation; with --daily use --date YYYY-MM-DD.");
  if (!daily && values.date !== undefined) throw new AppError("invalid_input", "--date is for daily generation: add --daily (weekly generation takes --week).");

  const params: Record<string, unknown> = {};
  if (values.env !== undefined) params.env = values.env;
  if (values.week !== undefined) params.week = values.week;
  if (values.date !== undefined) params.date = values.date;
  if (values["dry-run"]) params.dry_run = true;
  printJson(await runLocalTool({ tool: "backlog_tool", action: daily ? "auto_generate_daily" : "auto_generate_weekly", params }));
  return 0;
}

runCli(spec, main);
