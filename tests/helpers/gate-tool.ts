/**
 * A real tool for run-now tests: `gate_tool.run` records each call (tag, dry_run, agent) and, while a gate
 * is closed, waits for it to open — so a test holds a run "running" without timing anything.
 */
import * as v from "valibot";
import { AppError } from "../../lib/core/errors.ts";
import { defineAction, type Tool } from "../../lib/tools/types.ts";

export interface Gate {
  closed: Promise<void> | null;
  open(): void;
  close(): void;
}

export function gate(): Gate {
  let release = () => {};
  const g: Gate = {
    closed: null,
    open() {
      g.closed = null;
      release();
    },
    close() {
      g.closed = new Promise<void>((r) => (release = r));
    },
  };
  return g;
}

export interface GateCall {
  tag: string;
  dry_run: boolean;
  agent: string;
}

export function gateTool(calls: GateCall[], g: Gate = gate()): Tool {
  return {
    name: "gate_tool",
    description: "records calls, waits on a gate",
    actions: {
      run: defineAction({
        description: "records a call",
        params: v.strictObject({ tag: v.optional(v.string()), dry_run: v.optional(v.boolean()) }),
        entitlement: "tools.backlog.write",
        writes: true,
        async run(p, ctx) {
          calls.push({ tag: p.tag ?? "", dry_run: p.dry_run === true, agent: ctx.agent });
          if (g.closed) await g.closed;
          return { ran: p.tag ?? "", dry_run: p.dry_run === true };
        },
      }),
      fail: defineAction({
        description: "fails like a tool whose input is missing (a 404)",
        params: v.strictObject({}),
        entitlement: "tools.risk.write",
        writes: false,
        async run() {
          throw new AppError("not_found", "No input found. Run the input job first.");
        },
      }),
    },
  };
}
