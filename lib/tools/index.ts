/**
 * The tool registry every caller (scripts/tool.ts, POST /v1/tools/execute, the scheduler) dispatches
 * through: backlog_tool, risk_history_tool, architecture_pressure_tool, trends_tool and notify_tool.
 */
import { loadPolicy, type Policy } from "../generation/policy.ts";
import { createBacklogTool } from "./backlog.ts";
import { createRegistry, type Registry } from "./dispatch.ts";
import { createGovernanceTools } from "./governance.ts"; // risk_history_tool, architecture_pressure_tool (issue 8)
import { createTrendsTool } from "./trends.ts"; // trends_tool (issue 20)
import { createNotifyTool, type NotifyToolOptions } from "./notify.ts";

export { dispatch, resolveAction, type Registry } from "./dispatch.ts";
export { CLI_AGENT, CLI_ENTITLEMENTS, createToolContext, loadToolConfig, resolveToolPaths } from "./context.ts";

export interface RegistryOptions {
  /** The backlog policy (envs, categories, defaults). Default: loadPolicy() (BACKLOG_POLICY_FILE). */
  policy?: Policy;
  /** notify_tool: where webhook URL variables are read (default the process environment), and test seams for HTTP. */
  notify?: NotifyToolOptions;
}

export function createToolRegistry(options: RegistryOptions = {}): Registry {
  const policy = options.policy ?? loadPolicy();
  return createRegistry([createBacklogTool(policy), ...createGovernanceTools(policy), createTrendsTool(policy), createNotifyTool(policy, options.notify)]);
}
