/**
 * The tool registry every caller (scripts/tool.ts, POST /v1/tools/execute, the scheduler) dispatches
 * through: backlog_tool, risk_history_tool, architecture_pressure_tool, trends_tool, notify_tool and alert_intake.
 *
 * Each tool is behind an `import()`, so a script that calls one tool loads only that tool's modules
 * (cleanup does not load the generation, risk, trends or notify code, nor read config/risk_policy.yml):
 * script start-up is paid by every cron run (issue 17 item 4). The server and the scheduler load all.
 */
import type { Policy } from "../generation/policy.ts";
import type { RiskPolicy } from "../risk/policy.ts";
import { createRegistry, type Registry } from "./dispatch.ts";
import type { NotifyToolOptions } from "./notify.ts";
import type { Tool, ToolAction } from "./types.ts";

export { dispatch, resolveAction, type Registry } from "./dispatch.ts";
export { CLI_AGENT, CLI_ENTITLEMENTS, createToolContext, loadToolConfig, resolveToolPaths } from "./context.ts";

export interface RegistryOptions {
  /** The backlog policy (envs, categories, defaults). Default: loadPolicy() (BACKLOG_POLICY_FILE). */
  policy?: Policy;
  /** notify_tool: where webhook URL variables are read (default: the environment, through lib/config), and test seams for HTTP. */
  notify?: NotifyToolOptions;
  /** Load only these tools (a script calling one tool); default every tool. */
  only?: readonly string[];
}

interface Loading {
  policy: Policy;
  notify?: NotifyToolOptions;
  /** The risk policy, read once for the two governance tools when either is loaded. */
  risk: () => Promise<RiskPolicy>;
}

/** The one list of tools: name → how to load it. A bad config/risk_policy.yml fails when a governance tool loads. */
const TOOLS = {
  backlog_tool: async (o: Loading) => (await import("./backlog.ts")).createBacklogTool(o.policy),
  risk_history_tool: async (o: Loading) => (await import("./risk.ts")).createRiskTool(o.policy, await o.risk()), // issue 8
  architecture_pressure_tool: async (o: Loading) => (await import("./pressure.ts")).createPressureTool(o.policy, await o.risk()), // issue 8
  trends_tool: async (o: Loading) => (await import("./trends.ts")).createTrendsTool(o.policy), // issue 20
  notify_tool: async (o: Loading) => (await import("./notify.ts")).createNotifyTool(o.policy, o.notify),
  alert_intake: async (o: Loading) => (await import("./alert-intake.ts")).createAlertIntakeTool(o.policy),
} satisfies Record<string, (o: Loading) => Promise<Tool>>;

export type ToolName = keyof typeof TOOLS;
export const TOOL_NAMES = Object.keys(TOOLS) as ToolName[];

/** Each tool as its factory builds it: action names, params schemas and result types (types only). */
type Tools = { [T in ToolName]: Awaited<ReturnType<(typeof TOOLS)[T]>> };
export type ActionName<T extends ToolName> = keyof Tools[T]["actions"] & string;
/** What `dispatch` answers for one tool action, e.g. ToolResult<"backlog_tool", "list"> is {items, total, lineages?}. */
export type ToolResult<T extends ToolName, A extends ActionName<T>> = Tools[T]["actions"][A] extends ToolAction<infer _S, infer R> ? R : unknown;

/** Loads the registry: every tool, or only the named ones (names that are no tool are ignored). */
export async function loadToolRegistry(options: RegistryOptions = {}): Promise<Registry> {
  const policy = options.policy ?? (await import("../generation/policy.ts")).loadPolicy();
  let risk: Promise<RiskPolicy> | undefined;
  const loading: Loading = {
    policy,
    ...(options.notify ? { notify: options.notify } : {}),
    risk: () => (risk ??= import("../risk/policy.ts").then((m) => m.loadRiskPolicy())),
  };
  const names = options.only ? TOOL_NAMES.filter((n) => options.only!.includes(n)) : TOOL_NAMES;
  const tools: Tool[] = [];
  for (const name of names) tools.push(await TOOLS[name](loading)); // in order: the first failure is the one reported
  return createRegistry(tools);
}
