/**
 * The one dispatcher: find the tool and action, check the entitlement, validate params, run.
 * Errors are AppErrors so every caller (CLI, HTTP, scheduler) reports them the same way:
 * unknown tool/action → not_found naming the known ones; bad params → invalid_input per field;
 * missing entitlement → forbidden naming it.
 */
import { hasEntitlement } from "../access/entitlements.ts";
import { jsonValueProblem, MAX_BODY_DEPTH } from "../domain/schemas.ts";
import { AppError, parseOrThrow } from "../core/errors.ts";
import { unmigratedError } from "../pg/table-hint.ts";
import type { ActionName, ToolName, ToolResult } from "./index.ts";
import type { Tool, ToolCall, ToolContext } from "./types.ts";

export type Registry = ReadonlyMap<string, Tool>;

export function createRegistry(tools: Tool[]): Registry {
  return new Map(tools.map((t) => [t.name, t]));
}

export function resolveAction(registry: Registry, call: Pick<ToolCall, "tool" | "action">) {
  const tool = registry.get(call.tool);
  if (!tool) {
    throw new AppError("not_found", `Unknown tool ${JSON.stringify(call.tool)}. Known tools: ${[...registry.keys()].join(", ")}.`, {
      details: { known_tools: [...registry.keys()] },
    });
  }
  const action = Object.hasOwn(tool.actions, call.action) ? tool.actions[call.action] : undefined;
  if (!action) {
    const known = Object.keys(tool.actions);
    throw new AppError("not_found", `Unknown action ${JSON.stringify(call.action)} for ${tool.name}. Known actions: ${known.join(", ")}.`, {
      details: { tool: tool.name, known_actions: known },
    });
  }
  return { tool, action };
}

/**
 * A call naming its tool and action literally answers that action's result type (no cast at the caller);
 * a call built at run time (HTTP, the scheduler, scripts/tool.ts) answers unknown. Params are checked here,
 * at run time, against the action's schema either way.
 */
export function dispatch<T extends ToolName, A extends ActionName<T>>(registry: Registry, call: { tool: T; action: A; params?: Record<string, unknown> }, ctx: ToolContext): Promise<ToolResult<T, A>>;
export function dispatch(registry: Registry, call: ToolCall, ctx: ToolContext): Promise<unknown>;
export async function dispatch(registry: Registry, call: ToolCall, ctx: ToolContext): Promise<unknown> {
  const { tool, action } = resolveAction(registry, call);
  if (!hasEntitlement(ctx.entitlements, action.entitlement)) {
    throw new AppError("forbidden", `Agent ${ctx.agent} lacks the entitlement ${action.entitlement} needed for ${tool.name}.${call.action}.`, {
      details: { required: action.entitlement },
    });
  }
  const what = `Invalid params for ${tool.name}.${call.action}`;
  // One text rule for every entry (HTTP, CLI, scheduler): NUL and lone surrogates never reach a store.
  const problem = jsonValueProblem(call.params ?? {}, MAX_BODY_DEPTH);
  if (problem) throw new AppError("invalid_input", `${what}:\n  ${problem}`, { details: [problem] });
  const params = parseOrThrow(action.params, call.params ?? {}, what);
  const started = performance.now();
  let result: unknown;
  try {
    result = await action.run(params, ctx);
  } catch (err) {
    throw unmigratedError(err) ?? err;
  }
  // Reads are polled (dashboards, probes): log them at debug so they do not flood the log.
  ctx.log[action.writes ? "info" : "debug"]("tool executed", {
    tool: tool.name,
    action: call.action,
    agent: ctx.agent,
    dry_run: Boolean((params as { dry_run?: unknown }).dry_run),
    ms: Math.round(performance.now() - started),
  });
  return result;
}
