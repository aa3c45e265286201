/**
 * The governance tools (risk_history_tool, architecture_pressure_tool) for the registry. The risk
 * policy is loaded here, at registry creation like the backlog policy, so a bad
 * config/risk_policy.yml stops the server or script at start instead of failing the first hourly job.
 */
import type { Policy } from "../generation/policy.ts";
import { loadRiskPolicy, type RiskPolicy } from "../risk/policy.ts";
import { createPressureTool } from "./pressure.ts";
import { createRiskTool } from "./risk.ts";
import type { Tool } from "./types.ts";

export function createGovernanceTools(policy: Policy, risk: RiskPolicy = loadRiskPolicy()): Tool[] {
  return [createRiskTool(policy, risk), createPressureTool(policy, risk)];
}
