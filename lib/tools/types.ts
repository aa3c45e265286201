/**
 * Tools are the one implementation behind the CLI (scripts/tool.ts), HTTP (POST /v1/tools/execute) and
 * the scheduler. Each action declares its params schema (valibot) and the entitlement it needs.
 */
import type * as v from "valibot";
import type { Logger } from "../core/log.ts";
import type { BacklogStore } from "../store/types.ts";

export interface ToolContext {
  store: BacklogStore;
  /** Who is acting: recorded as the actor of every write. */
  agent: string;
  /** What the agent may do, e.g. ["tools.backlog.admin"]. The dispatcher checks it. */
  entitlements: readonly string[];
  now: () => Date;
  log: Logger;
  /** Filesystem roots the tools read and write (reports, config). */
  paths: ToolPaths;
}

export interface ToolPaths {
  /** Repository/deployment root; relative paths below resolve against it. */
  root: string;
  /** ops/reports: platform/YYYY-WW.json, risk/YYYY-MM-DD.json */
  reportsDir: string;
  /** config/backlog_policy.yml */
  policyFile: string;
}

export interface ToolAction<S extends v.GenericSchema = v.GenericSchema, R = unknown> {
  description: string;
  params: S;
  /** e.g. tools.backlog.read | tools.backlog.write | tools.backlog.admin */
  entitlement: string;
  /** Writes something (then `dry_run: true` must be honoured). */
  writes: boolean;
  /**
   * Decides from the whole store, so it refuses (503) while the auto store is degraded (lib/store/index.ts
   * refuseWhileDegraded); the in-process scheduler then defers its fire instead of claiming it.
   */
  needs_full_view?: boolean;
  run(params: v.InferOutput<S>, ctx: ToolContext): Promise<R>;
}

export interface Tool<A extends Record<string, ToolAction> = Record<string, ToolAction>> {
  name: string;
  description: string;
  actions: A;
}

/**
 * Keeps each action's params schema and result type (a tool factory returns its literal `satisfies Tool`),
 * so lib/tools/index.ts can derive what dispatch answers for each tool and action.
 */
export function defineAction<S extends v.GenericSchema, R>(action: ToolAction<S, R>): ToolAction<S, R> {
  return action;
}

export interface ToolCall {
  tool: string;
  action: string;
  params?: Record<string, unknown>;
}
