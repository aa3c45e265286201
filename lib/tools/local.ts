/**
 * Runs one tool call in this process, the way scripts/tool.ts, generate.ts and cleanup.ts do:
 * config (policy validated) → unknown action / bad params refused → open the store → dispatch as agent
 * "cli" with admin on every domain → close the store. Nothing is opened when the call is invalid.
 * Only the called tool is loaded (start-up of cron runs); an unknown tool loads all, to name them.
 */
import { parseOrThrow } from "../core/errors.ts";
import { log as defaultLog, type Logger } from "../core/log.ts";
import { openStore } from "../store/index.ts";
import { CLI_AGENT, CLI_ENTITLEMENTS, createToolContext, loadToolConfig } from "./context.ts";
import { dispatch, resolveAction } from "./dispatch.ts";
import { loadToolRegistry, TOOL_NAMES } from "./index.ts";
import type { ToolCall } from "./types.ts";
import { processEnv } from "../config/index.ts";

export async function runLocalTool(call: ToolCall, opts: { env?: Record<string, string | undefined>; log?: Logger } = {}): Promise<unknown> {
  const env = opts.env ?? processEnv();
  const log = opts.log ?? defaultLog;
  const config = loadToolConfig(env);
  const known = (TOOL_NAMES as readonly string[]).includes(call.tool);
  const registry = await loadToolRegistry({ policy: config.policy, ...(known ? { only: [call.tool] } : {}) });
  const { tool, action } = resolveAction(registry, call);
  parseOrThrow(action.params, call.params ?? {}, `Invalid params for ${tool.name}.${call.action}`);

  const store = await openStore({ log }, env);
  try {
    return await dispatch(registry, call, createToolContext({ store, paths: config.paths, agent: CLI_AGENT, entitlements: CLI_ENTITLEMENTS, log }));
  } finally {
    await store.close();
  }
}
