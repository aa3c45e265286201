/**
 * Retention cleanup: removes done/canceled backlog items not updated for N days (runbook section 4).
 *
 *   npx bun run scripts/cleanup.ts [--retention-days 180] [--dry-run]
 */
import { AppError } from "../lib/core/app-error.ts";
import { type ParsedCli, printJson, runCli } from "../lib/core/cli.ts";

const spec = {
  name: "cleanup",
  usage: `Usage: npx bun run scripts/cleanup.ts [--retention-days N] [--dry-run]

backlog_tool.cleanup: removes items whose status is done or canceled and whose updated_at is more than
N days ago, with their events. Open, in_progress and blocked items are never removed. JSONL: the files
are rewritten atomically; Postgres: one DELETE.

Options:
  --retention-days N   whole days, 1-36500 (default: defaults.retention_days of the policy, 180).
  --dry-run            count what would be removed; remove nothing.
  -h, --help           this text.

Env: BACKLOG_POLICY_FILE, BACKLOG_BACKEND / BACKLOG_POSTGRES_DSN / BACKLOG_JSONL_DIR, LOG_LEVEL.
Output: {"removed": N, "retention_days": N, "cutoff": "<ISO time>", "sla": {...}, "notify_sent": {...}, "dry_run": false}
on stdout (docs/generation.md, Cleanup).
Exit: 0 on success, 1 on bad flags, an invalid policy or a store failure.`,
  flags: {
    "retention-days": { type: "string" },
    "dry-run": { type: "boolean" },
  },
} as const;

async function main({ values }: ParsedCli<typeof spec.flags>): Promise<number> {
  // Imported here, not at the top: --help is answered before the logger, policy, tool and store load.
  const [{ logToStderr }, { runLocalTool }] = await Promise.all([import("../lib/core/log.ts"), import("../lib/tools/local.ts")]);
  logToStderr();
  const raw = values["retention-days"];
  if (raw !== undefined && !/^\d+$/.test(raw.trim())) throw new AppError("invalid_input", `--retention-days: expected a whole number of days (1-36500), got ${JSON.stringify(raw)}.`);
  const params = { ...(raw === undefined ? {} : { retention_days: Number(raw) }), ...(values["dry-run"] ? { dry_run: true } : {}) };
  printJson(await runLocalTool({ tool: "backlog_tool", action: "cleanup", params }));
  return 0;
}

runCli(spec, main);
