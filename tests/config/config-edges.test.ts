/**
 * Issue 15 item 6: config edges are refused with one line naming the file and the key, and large valid
 * files load (the yaml library's quadratic duplicate-key check is replaced by a linear one; timings are
 * in the report, not asserted here).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildAccess, loadAccess } from "../../lib/access/config.ts";
import { MemoryBacklogStore } from "../../lib/store/memory.ts";
import { ownerFor, parsePolicyText } from "../../lib/generation/policy.ts";
import { REPO } from "../helpers/run.ts";
import { ACCESS_ENV, auth, buildTestApp } from "../http/harness.ts";
import { startServer } from "../http/server-spawn.ts";

const tmp = mkdtempSync(join(tmpdir(), "bb-cfg-edges-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const basePolicy = readFileSync(join(REPO, "config/backlog_policy.yml"), "utf8");

describe("config edges", () => {
  test("two agents sharing one key variable are refused, naming the file and both agents", () => {
    const raw = { agents: { admin: { key_env: "SHARED_KEY", entitlements: ["tools.backlog.admin"] }, reader: { key_env: "SHARED_KEY", entitlements: ["tools.backlog.read"] } } };
    expect(() => buildAccess(raw, { SHARED_KEY: "k" }, "config/access.yml")).toThrow(
      "config/access.yml: agents.reader.key_env: SHARED_KEY is already the key variable of agent admin",
    );
    const file = join(tmp, "access.yml");
    writeFileSync(file, "agents:\n  a: { key_env: K1, entitlements: [] }\n  a: { key_env: K2, entitlements: [] }\n");
    expect(() => loadAccess(file, {})).toThrow(`${file}: duplicate key "a" at line 3, column 3`);
  });

  test("a YAML alias bomb in the backlog policy is refused naming the file", () => {
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++) bomb.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(",")}]`);
    let err: Error | undefined;
    try {
      parsePolicyText(bomb.join("\n") + "\n", "config/bomb_policy.yml");
    } catch (e) {
      err = e as Error;
    }
    expect(err?.message).toStartWith("config/bomb_policy.yml: cannot be loaded");
    expect(err?.message.split("\n")).toHaveLength(1);
  });

  test("20,000 ownership overrides load and resolve; a duplicate one is refused with its line", () => {
    const n = 20_000;
    const over = Array.from({ length: n }, (_, i) => `    svc-${i}: team-${i % 50}`).join("\n");
    const policy = parsePolicyText(basePolicy.replace("  overrides: {}", "  overrides:\n" + over), "big.yml");
    expect(Object.keys(policy.ownership.overrides)).toHaveLength(n);
    expect(ownerFor(policy, "svc-19999")).toBe("team-49");
    const dup = basePolicy.replace("  overrides: {}", "  overrides:\n    gateway: a\n    edge: b\n    gateway: c");
    expect(() => parsePolicyText(dup, "dup.yml")).toThrow(/^dup\.yml: duplicate key "gateway" at line \d+/);
  });

  test("a digest path that is a directory is a 422 like any malformed digest", async () => {
    const reports = join(tmp, "reports");
    mkdirSync(join(reports, "platform/2026-W47.json"), { recursive: true });
    const { app } = buildTestApp(new MemoryBacklogStore(), { reportsDir: reports });
    const res = await app.request("/v1/backlog/generate/weekly?env=prod&week=2026-W47", { method: "POST", headers: auth("admin") });
    expect(res.status).toBe(422);
    expect(((await res.json()) as { error: string }).error).toContain("is a directory");
    writeFileSync(join(reports, "platform/2026-W46.json"), "{not json");
    expect((await app.request("/v1/backlog/generate/weekly?env=prod&week=2026-W46", { method: "POST", headers: auth("admin") })).status).toBe(422);
  });

  test("with the scheduler enabled, a cron line naming an unknown tool stops start-up naming file and line", async () => {
    const cron = readFileSync(join(REPO, "ops/cron/jobs.cron"), "utf8").replace("--tool risk_history_tool --action snapshot", "--tool risk_histroy_tool --action snapshot");
    const file = join(tmp, "jobs.cron");
    writeFileSync(file, cron);
    const line = cron.split("\n").findIndex((l) => l.includes("risk_histroy_tool")) + 1;
    const env = { ...ACCESS_ENV, PORT: "0", BACKLOG_BACKEND: "memory", SCHEDULER_CRON_FILE: file };
    await expect(startServer({ ...env, SCHEDULER_ENABLED: "true" })).rejects.toThrow(`${file}:${line}: job hourly_risk_snapshot: Unknown tool "risk_histroy_tool"`);
    // Disabled, the file is only shown, so start-up goes on.
    const srv = await startServer({ ...env, SCHEDULER_ENABLED: "false" });
    srv.child.kill("SIGTERM");
    expect(await srv.exited).toBe(0);
  });
});
