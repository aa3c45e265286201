/**
 * Building what tools run with, in one place for scripts, the server and the scheduler:
 *   policy file   BACKLOG_POLICY_FILE → config/backlog_policy.yml
 *   reports dir   BACKLOG_REPORTS_DIR → ops/reports          (relative values: from the repository root)
 *   store         openStore() from lib/store/index.ts (BACKLOG_BACKEND, BACKLOG_POSTGRES_DSN, ...)
 */
import { log as defaultLog, type Logger } from "../core/log.ts";
import { loadPolicy, resolvePolicyFile, type Policy } from "../generation/policy.ts";
import type { BacklogStore } from "../store/types.ts";
import type { ToolContext, ToolPaths } from "./types.ts";
import { processEnv, readVar, REPO_ROOT, type Env } from "../config/index.ts";


/** The declared default (lib/config/vars.ts), read with an empty environment. */
export const DEFAULT_REPORTS_DIR = readVar("BACKLOG_REPORTS_DIR", {})!;

/** Local runs (scripts/tool.ts, generate.ts, cleanup.ts) act as "cli" with admin on every domain. */
export const CLI_AGENT = "cli";
export const CLI_ENTITLEMENTS = ["tools.backlog.admin", "tools.risk.admin", "tools.pressure.admin", "tools.notify.admin", "tools.alerts.admin"] as const;

export function resolveToolPaths(env: Env = processEnv()): ToolPaths {
  return {
    root: REPO_ROOT,
    reportsDir: readVar("BACKLOG_REPORTS_DIR", env)!,
    policyFile: resolvePolicyFile(undefined, env),
  };
}

export interface ToolConfig {
  paths: ToolPaths;
  /** Loaded and validated: a bad policy stops a script or the server before it touches the store. */
  policy: Policy;
}

export function loadToolConfig(env: Env = processEnv()): ToolConfig {
  const paths = resolveToolPaths(env);
  // Same file as paths.policyFile; resolved again so a missing file is blamed on BACKLOG_POLICY_FILE.
  return { paths, policy: loadPolicy(undefined, env) };
}

export function createToolContext(o: {
  store: BacklogStore;
  paths: ToolPaths;
  agent: string;
  entitlements: readonly string[];
  now?: () => Date;
  log?: Logger;
}): ToolContext {
  return { store: o.store, paths: o.paths, agent: o.agent, entitlements: o.entitlements, now: o.now ?? (() => new Date()), log: o.log ?? defaultLog };
}
