/**
 * Registry ↔ code ↔ RBAC: every job must name a real tool action, declare the entitlement that action
 * actually requires, be runnable by the `scheduler` agent of config/access.yml, carry params the action
 * accepts, and claim dry-run support only where the action takes `dry_run`. Without this a job can be in
 * perfect sync with the cron file and still fail every night with "forbidden" or "Invalid params".
 */
import { readVar } from "../config/index.ts";
import * as v from "valibot";
import { hasEntitlement } from "../access/entitlements.ts";
import { loadAccess } from "../access/config.ts";
import { formatIssues } from "../core/errors.ts";
import type { Registry } from "../tools/dispatch.ts";
import { loadToolRegistry } from "../tools/index.ts";
import type { Check } from "./checks.ts";
import type { JobSpec } from "./registry.ts";

export const SCHEDULER_AGENT = "scheduler";

/** Problem lines; empty when every job can run as the scheduler agent. `agentEntitlements` null = no such agent. */
export function diffTools(jobs: JobSpec[], tools: Registry, agentEntitlements: readonly string[] | null, accessSource = "config/access.yml"): string[] {
  const problems: string[] = [];
  if (agentEntitlements === null) return [`${accessSource} has no agent "${SCHEDULER_AGENT}": every job would be refused (add it with the entitlements the jobs need)`];
  for (const j of jobs) {
    const tool = tools.get(j.tool);
    const action = tool && Object.hasOwn(tool.actions, j.action) ? tool.actions[j.action] : undefined;
    if (!tool) {
      problems.push(`${j.id}: tool ${j.tool} does not exist (known: ${[...tools.keys()].join(", ")})`);
      continue;
    }
    if (!action) {
      problems.push(`${j.id}: ${j.tool} has no action ${j.action} (known: ${Object.keys(tool.actions).join(", ")})`);
      continue;
    }
    if (action.entitlement !== j.entitlement) {
      problems.push(`${j.id}: entitlement is ${j.entitlement} in the registry but ${j.tool}.${j.action} requires ${action.entitlement}`);
    }
    if (!hasEntitlement(agentEntitlements, action.entitlement)) {
      problems.push(`${j.id}: the ${SCHEDULER_AGENT} agent in ${accessSource} lacks ${action.entitlement} (has ${agentEntitlements.join(", ") || "nothing"})`);
    }
    const params = v.safeParse(action.params, j.params);
    if (!params.success) problems.push(`${j.id}: params rejected by ${j.tool}.${j.action}: ${formatIssues(params.issues).join("; ")}`);
    else if (j.dry_run && !v.safeParse(action.params, { ...j.params, dry_run: true }).success) {
      problems.push(`${j.id}: dry_run is true in the registry but ${j.tool}.${j.action} does not take dry_run`);
    }
  }
  return problems;
}

/**
 * `npx bun run check` entry: the real tool registry (policy from BACKLOG_POLICY_FILE) and the access file.
 * The registry loads first (its tools are behind import()); a policy that cannot load is this check's problem.
 */
export async function toolsCheck(accessFile?: string): Promise<Check> {
  const loaded = await loadToolRegistry().then(
    (tools) => ({ tools }),
    (err: unknown) => ({ error: (err as Error).message }),
  );
  return {
    name: "tools and access",
    okText: (n) => `${n} jobs name real tool actions the scheduler agent may run, with valid params`,
    failText: "disagree with ops/task_registry.yml",
    fix: "make ops/task_registry.yml name the tool's real action, entitlement and params, or grant the scheduler agent the entitlement in config/access.yml",
    run(jobs) {
      let tools: Registry;
      let entitlements: readonly string[] | null;
      try {
        if ("error" in loaded) return [loaded.error];
        tools = loaded.tools;
        // Keys are not needed to read who may do what: an empty env leaves every agent disabled but listed.
        const access = loadAccess(accessFile ?? readVar("BACKLOG_ACCESS_FILE"), {});
        entitlements = access.agents.find((a) => a.name === SCHEDULER_AGENT)?.entitlements ?? null;
      } catch (err) {
        return [(err as Error).message];
      }
      return diffTools(jobs, tools, entitlements, accessFile ?? "config/access.yml");
    },
  };
}
