/**
 * Runs any tool action locally (same code as POST /v1/tools/execute and the scheduler), as agent "cli"
 * with admin rights on every domain.
 *
 *   npx bun run scripts/tool.ts backlog_tool dashboard --params-json '{"env":"prod"}'
 *   npx bun run scripts/tool.ts --call-json '{ "tool": "backlog_tool", "action": "cleanup", "retention_days": 180 }'
 */
import { AppError } from "../lib/core/app-error.ts";
import { type ParsedCli, printJson, runCli } from "../lib/core/cli.ts";

const spec = {
  name: "tool",
  usage: `Usage: npx bun run scripts/tool.ts <tool> <action> [--params-json '{...}'] [--dry-run]
       npx bun run scripts/tool.ts --call-json '{"tool": "...", "action": "...", ...params}'

Runs one tool action in this process against the configured store and prints its JSON result.
--call-json takes a tool call exactly as written in the runbook (params beside tool and action, or
under "params"). The agent is "cli" with tools.backlog.admin, tools.risk.admin, tools.pressure.admin.

Examples:
  npx bun run scripts/tool.ts backlog_tool auto_generate_weekly --params-json '{"env":"prod"}' --dry-run
  npx bun run scripts/tool.ts backlog_tool cleanup --params-json '{"retention_days":180}'
  npx bun run scripts/tool.ts backlog_tool list --params-json '{"env":"prod","status":"open","limit":20}'
  npx bun run scripts/tool.ts --call-json '{ "tool": "backlog_tool", "action": "auto_generate_weekly", "env": "prod" }'

Options:
  --params-json J   the action's params as a JSON object (default {}).
  --call-json J     the whole call as one JSON object instead of <tool> <action> --params-json.
  --dry-run         same as "dry_run": true in the params (writing actions only).
  -h, --help        this text.

Env: BACKLOG_POLICY_FILE, BACKLOG_REPORTS_DIR, BACKLOG_BACKEND / BACKLOG_POSTGRES_DSN / BACKLOG_JSONL_DIR,
LOG_LEVEL. Logs go to stderr; stdout is only the JSON result.
Exit: 0 on success; 1 on an unknown tool or action (the known ones are listed), invalid params (each bad
field listed), a missing digest, an invalid policy or a store failure.`,
  flags: {
    "params-json": { type: "string" },
    "call-json": { type: "string" },
    "dry-run": { type: "boolean" },
  },
  allowPositionals: true,
} as const;

type ParseJson = typeof import("../lib/domain/schemas.ts").parseJsonBounded;

function jsonObject(parseJsonBounded: ParseJson, text: string, flag: string): Record<string, unknown> {
  const parsed = parseJsonBounded(text, flag);
  if (!parsed.ok) throw new AppError("invalid_input", `${parsed.error}; pass an object like '{"env":"prod"}'.`);
  const value = parsed.value;
  if (!value || typeof value !== "object" || Array.isArray(value)) throw new AppError("invalid_input", `${flag} must be a JSON object like '{"env":"prod"}', got ${text.trim().slice(0, 60)}.`);
  return value as Record<string, unknown>;
}

async function main({ values, positionals }: ParsedCli<typeof spec.flags>): Promise<number> {
  // Imported here, not at the top: --help is answered before the logger, policy, tools and store load.
  const [{ logToStderr }, { parseJsonBounded }, { runLocalTool }] = await Promise.all([
    import("../lib/core/log.ts"),
    import("../lib/domain/schemas.ts"),
    import("../lib/tools/local.ts"),
  ]);
  logToStderr();
  let tool: unknown, action: unknown, params: Record<string, unknown>;
  if (values["call-json"] !== undefined) {
    if (positionals.length || values["params-json"] !== undefined) throw new AppError("invalid_input", "--call-json replaces <tool> <action> and --params-json; give one form, not both.");
    const { tool: t, action: a, params: nested, ...rest } = jsonObject(parseJsonBounded, values["call-json"], "--call-json");
    if (nested !== undefined && (!nested || typeof nested !== "object" || Array.isArray(nested))) throw new AppError("invalid_input", '--call-json: "params" must be an object.');
    [tool, action, params] = [t, a, { ...rest, ...(nested as Record<string, unknown> | undefined) }];
  } else {
    if (positionals.length !== 2) throw new AppError("invalid_input", `Expected <tool> <action>, got ${positionals.length} argument(s). Run with --help for the usage.`);
    [tool, action] = positionals;
    params = values["params-json"] === undefined ? {} : jsonObject(parseJsonBounded, values["params-json"], "--params-json");
  }
  if (typeof tool !== "string" || !tool || typeof action !== "string" || !action) {
    throw new AppError("invalid_input", 'A tool call needs "tool" and "action" strings, e.g. {"tool": "backlog_tool", "action": "dashboard"}.');
  }
  if (values["dry-run"]) params.dry_run = true;
  printJson(await runLocalTool({ tool, action, params }));
  return 0;
}

runCli(spec, main);
