/** A real tool for scheduler tests: `test_tool.count` records each call's tag, optionally slowly. */
import * as v from "valibot";
import { defineAction, type Tool } from "../../lib/tools/types.ts";

export function countingTool(calls: string[], delayMs = 0): Tool {
  return {
    name: "test_tool",
    description: "counts",
    actions: {
      count: defineAction({
        description: "records a call",
        params: v.strictObject({ tag: v.optional(v.string()) }),
        entitlement: "tools.backlog.write",
        writes: false,
        async run(p) {
          calls.push(p.tag ?? "");
          if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
          return { counted: calls.length };
        },
      }),
    },
  };
}
