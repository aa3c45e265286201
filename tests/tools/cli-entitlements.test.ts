/**
 * Local runs act as agent `cli` "with admin on every domain" (README, docs/generation.md): every action of
 * every tool must be callable from scripts/tool.ts, including domains added after the CLI's grant was written.
 */
import { describe, expect, test } from "bun:test";
import { hasEntitlement } from "../../lib/access/entitlements.ts";
import { parsePolicyText } from "../../lib/generation/policy.ts";
import { CLI_ENTITLEMENTS, loadToolRegistry } from "../../lib/tools/index.ts";
import { expectExit } from "../helpers/exit.ts";
import { runScript } from "../helpers/run.ts";
import { tempDir } from "../helpers/tmp.ts";

describe("the cli agent", () => {
  test("holds the entitlement of every registered action", async () => {
    const registry = await loadToolRegistry({ policy: parsePolicyText("{}\n", "policy.yml") });
    const missing: string[] = [];
    for (const tool of registry.values()) {
      for (const [name, action] of Object.entries(tool.actions)) {
        if (!hasEntitlement(CLI_ENTITLEMENTS, action.entitlement)) missing.push(`${tool.name}.${name} needs ${action.entitlement}`);
      }
    }
    expect(missing).toEqual([]);
  });

  test("docs/alerting.md's dry run of the notifier works from scripts/tool.ts", async () => {
    const dir = tempDir("bb-cli-notify-");
    const r = await runScript("scripts/tool.ts", ["notify_tool", "dispatch", "--params-json", '{"dry_run": true}'], {
      env: { BACKLOG_BACKEND: "jsonl", BACKLOG_JSONL_DIR: dir, BACKLOG_REPORTS_DIR: dir },
    });
    expectExit(r, 0);
    expect(JSON.parse(r.stdout).dry_run).toBe(true);
  });
});
