/**
 * Typed dispatch and typed flags (issue 16 item 6): the answers are checked at run time here and their
 * types by `tsc --noEmit` (each `@ts-expect-error` line fails the type check if the type loosens to
 * unknown or any). Also: a local run loads only the tool it calls.
 */
import { describe, expect, test } from "bun:test";
import { parseCli } from "../../lib/core/cli.ts";
import { silentLogger } from "../../lib/core/log.ts";
import { parsePolicyText } from "../../lib/generation/policy.ts";
import { MemoryBacklogStore } from "../../lib/store/memory.ts";
import { createToolContext, dispatch, loadToolRegistry, TOOL_NAMES, type ToolResult } from "../../lib/tools/index.ts";
import { runLocalTool } from "../../lib/tools/local.ts";
import { rejectionOf } from "../helpers/app-error.ts";

const POLICY = parsePolicyText("{}\n", "policy.yml");

describe("dispatch answers the action's own result type", () => {
  test("backlog_tool.upsert then list and cleanup: fields used without a cast", async () => {
    const now = new Date("2026-11-16T06:20:00Z");
    const store = new MemoryBacklogStore({ clock: () => now });
    const registry = await loadToolRegistry({ policy: POLICY, only: ["backlog_tool"] });
    const ctx = createToolContext({ store, agent: "t", entitlements: ["tools.backlog.admin"], now: () => now, log: silentLogger, paths: { root: "/", reportsDir: "/", policyFile: "p.yml" } });
    await dispatch(registry, { tool: "backlog_tool", action: "upsert", params: { env: "prod", service: "gateway", category: "security", title: "t", dedupe_key: "k1" } }, ctx);
    const list = await dispatch(registry, { tool: "backlog_tool", action: "list", params: { env: "prod" } }, ctx);
    const total: number = list.total;
    const service: string = list.items[0]!.service;
    expect({ total, service }).toEqual({ total: 1, service: "gateway" });
    const cleaned: ToolResult<"backlog_tool", "cleanup"> = await dispatch(registry, { tool: "backlog_tool", action: "cleanup", params: { dry_run: true } }, ctx);
    expect(cleaned.removed).toBe(0);
    // @ts-expect-error a list answer has no such field: the type is the action's, not unknown
    expect(list.no_such_field).toBeUndefined();
    // A call built at run time (HTTP, scheduler) names no literal action: its answer is unknown.
    const action: string = "dashboard";
    const loose = await dispatch(registry, { tool: "backlog_tool", action, params: {} }, ctx);
    // @ts-expect-error unknown until the caller checks it
    expect(loose.total).toBe(1);
  });

  test("a local run of an unknown tool still names every known tool (it loads them all to say so)", async () => {
    const err = await rejectionOf(runLocalTool({ tool: "backlog_tol", action: "list" }, { env: {}, log: silentLogger }));
    expect(err.code).toBe("not_found");
    expect(err.message).toBe(`Unknown tool "backlog_tol". Known tools: ${TOOL_NAMES.join(", ")}.`);
  });

  test("only: loads just the named tools; the full registry has every tool", async () => {
    expect([...(await loadToolRegistry({ policy: POLICY, only: ["backlog_tool"] })).keys()]).toEqual(["backlog_tool"]);
    expect([...(await loadToolRegistry({ policy: POLICY })).keys()]).toEqual(TOOL_NAMES);
  });
});

describe("parseCli types each flag from the spec", () => {
  test("strings are strings, booleans booleans, help is apart", () => {
    const spec = { name: "x", usage: "", flags: { "retention-days": { type: "string" }, "dry-run": { type: "boolean" }, tag: { type: "string", multiple: true } } } as const;
    const { values, help } = parseCli(spec, ["--retention-days", "30", "--dry-run", "--tag", "a", "--tag", "b"]);
    const days: string | undefined = values["retention-days"];
    const dry: boolean | undefined = values["dry-run"];
    const tags: string[] | undefined = values.tag;
    expect({ days, dry, tags, help }).toEqual({ days: "30", dry: true, tags: ["a", "b"], help: false });
    // @ts-expect-error a boolean flag is not a string
    const wrong: string | undefined = values["dry-run"];
    void wrong;
    // @ts-expect-error no such flag in the spec
    expect(values.nope).toBeUndefined();
    expect(parseCli(spec, ["-h"]).help).toBe(true);
  });
});
