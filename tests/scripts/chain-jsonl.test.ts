/**
 * The whole governance chain on the JSONL backend: through the dispatcher, through the scripts
 * operators run (risk.ts --from-file, tool.ts, demo.ts), and the demo's dashboard over loopback.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { silentLogger } from "../../lib/core/log.ts";
import { REPO_ROOT } from "../../lib/config/index.ts";
import { loadPolicy } from "../../lib/generation/policy.ts";
import { JsonlBacklogStore } from "../../lib/store/jsonl/store.ts";
import { dispatch } from "../../lib/tools/dispatch.ts";
import { loadToolRegistry } from "../../lib/tools/index.ts";
import { expectItemsMatchDigest, runChain, SAMPLE, SCHEDULER, WEEK } from "./chain-helpers.ts";
import { REPO, runScript } from "../helpers/run.ts";
import { expectExit } from "../helpers/exit.ts";

const dirs: string[] = [];
let child: ChildProcess | undefined;
afterAll(() => {
  child?.kill("SIGKILL");
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});
const temp = (p: string) => {
  const d = mkdtempSync(join(tmpdir(), p));
  dirs.push(d);
  return d;
};

describe("chain on JSONL through the dispatcher", () => {
  test("record → snapshot → risk digest → platform digest → weekly generation; a re-run creates nothing", async () => {
    const dir = temp("bb-chain-");
    const reportsDir = join(dir, "reports");
    const store = new JsonlBacklogStore({ dir: join(dir, "backlog"), log: silentLogger, clock: () => new Date("2026-03-11T10:30:00.000Z") });
    const registry = await loadToolRegistry({ policy: loadPolicy(undefined, {}) });
    const ctx = {
      store,
      agent: "scheduler",
      entitlements: SCHEDULER,
      now: () => new Date("2026-03-11T10:30:00.000Z"),
      log: silentLogger,
      paths: { root: REPO_ROOT, reportsDir, policyFile: join(REPO_ROOT, "config/backlog_policy.yml") },
    };
    const call = (tool: string, action: string, params: Record<string, unknown> = {}) => dispatch(registry, { tool, action, params }, ctx) as Promise<any>;
    try {
      const { platform, generated } = await runChain(call, reportsDir);
      await expectItemsMatchDigest(store, platform, generated);
      expect(readdirSync(join(dir, "backlog")).sort()).toEqual(expect.arrayContaining(["items.jsonl", "risk_history.jsonl", "risk_signals.jsonl"]));

      // The Monday jobs re-run for the same week: the same files are rewritten, and no new items appear.
      // (The items generated a moment ago are now open work, so pressure and the items' meta move.)
      const again = await call("architecture_pressure_tool", "digest", { env: "prod" });
      expect(again.digest.services.find((s: any) => s.service === "gateway").signals.open_items).toBe(1);
      expect(await call("backlog_tool", "auto_generate_weekly", { env: "prod" })).toMatchObject({ created: 0 });
      expect(readdirSync(join(reportsDir, "platform")).sort()).toEqual([`${WEEK}.json`, `${WEEK}.md`]);
    } finally {
      await store.close();
    }
  });
});

describe("chain on JSONL through the scripts", () => {
  test("risk.ts --from-file validates the whole file first (line named, nothing written), then imports; tool.ts runs the rest", async () => {
    const dir = temp("bb-chain-scripts-");
    const env = { BACKLOG_BACKEND: "jsonl", BACKLOG_JSONL_DIR: join(dir, "backlog"), BACKLOG_REPORTS_DIR: join(dir, "reports") };
    const now = new Date();
    const hour = (h: number) => new Date(now.getTime() - h * 3_600_000).toISOString();
    const lines = [
      JSON.stringify({ env: "prod", service: "gateway", ts: hour(30), signals: { incidents_sev1_30d: 1, slo_burn_rate: 2 } }),
      JSON.stringify({ env: "prod", service: "ledger", ts: hour(30), signals: { critical_vulns: 2, change_failure_rate: 0.1 } }),
      "",
      JSON.stringify({ env: "prod", service: "gateway", ts: hour(1), signals: { incidents_sev1_30d: 3, slo_burn_rate: 5 } }),
      JSON.stringify({ env: "prod", service: "ledger", ts: hour(1), signals: { critical_vulns: 7, change_failure_rate: 0.3 } }),
    ];
    const file = join(dir, "signals.jsonl");
    writeFileSync(file, [...lines, JSON.stringify({ env: "prod", service: "ledger", signals: { critical_vulnz: 1 } })].join("\n") + "\n");
    const bad = await runScript("scripts/risk.ts", ["--from-file", file], { env });
    expectExit(bad, 1);
    expect(bad.stderr).toContain("is invalid; nothing was recorded:");
    expect(bad.stderr).toContain('line 6: signals.critical_vulnz: unknown signal "critical_vulnz"');
    expect(existsSync(join(dir, "backlog", "risk_signals.jsonl"))).toBe(false);

    writeFileSync(file, lines.join("\n") + "\n");
    const ok = await runScript("scripts/risk.ts", ["--from-file", file], { env });
    expect({ code: ok.code, stderr: ok.code === 0 ? "" : ok.stderr }).toEqual({ code: 0, stderr: "" });
    expect(JSON.parse(ok.stdout)).toMatchObject({ recorded: 4, storage: "JsonlRiskHistory" });

    const tool = async (t: string, action: string, params: Record<string, unknown>) => {
      const r = await runScript("scripts/tool.ts", [t, action, "--params-json", JSON.stringify(params)], { env });
      expect({ code: r.code, stderr: r.code === 0 ? "" : r.stderr }).toEqual({ code: 0, stderr: "" });
      return JSON.parse(r.stdout);
    };
    expect(await tool("risk_history_tool", "snapshot", { env: "prod", at: hour(29) })).toMatchObject({ inserted: 2 });
    expect(await tool("risk_history_tool", "snapshot", { env: "prod" })).toMatchObject({ inserted: 2 });
    expect((await tool("risk_history_tool", "digest", { env: "prod" })).written).toBe(true);
    const platform = await tool("architecture_pressure_tool", "digest", { env: "prod" });
    expect(platform.digest.services.map((s: any) => [s.service, s.recommended_categories])).toEqual([
      ["gateway", ["slo_hardening"]],
      ["ledger", ["security", "refactor"]],
    ]);
    const gen = await tool("backlog_tool", "auto_generate_weekly", { env: "prod" });
    expect(gen.items.map((i: any) => `${i.service}:${i.category}`).sort()).toEqual(["gateway:slo_hardening", "ledger:refactor", "ledger:security"]);
    expect(await tool("risk_history_tool", "cleanup", { dry_run: true })).toMatchObject({ would_remove: { signals: 0, history: 0 } });
  });

  test("demo.ts --no-serve runs the chain on the sample; --help explains it", async () => {
    const dir = temp("bb-demo-");
    const r = await runScript("scripts/demo.ts", ["--no-serve", "--data-dir", dir]);
    expect({ code: r.code, stderr: r.code === 0 ? "" : r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(r.stdout).toContain("SAMPLE data from ops/samples/risk_signals.sample.json on JsonlBacklogStore");
    expect(r.stdout).toMatch(/5\. backlog prod \d{4}-W\d{2}: 5 created/);
    expect(readdirSync(join(dir, "reports", "platform")).length).toBe(2);
    const again = await runScript("scripts/demo.ts", ["--no-serve", "--data-dir", dir]);
    expect(again.stdout).toMatch(/5\. backlog prod \d{4}-W\d{2}: 0 created/);
    const help = await runScript("scripts/demo.ts", ["--help"]);
    expect(help.stdout).toContain("Runs the governance chain end to end on SAMPLE data");
  });
});

describe("demo dashboard", () => {
  test("serves the generated backlog on loopback without a key (demo mode only); writes still need one", async () => {
    const dir = temp("bb-demo-serve-");
    const env = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp" };
    child = spawn(process.execPath, ["run", "scripts/demo.ts", "--port", "0", "--data-dir", dir], { cwd: REPO, env });
    let out = "";
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`demo did not serve:\n${out}`)), 30_000);
      child!.stdout!.on("data", (d) => {
        out += d;
        const m = /Dashboard: (http:\/\/127\.0\.0\.1:\d+)\/dashboard\?env=prod/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      child!.stderr!.on("data", (d) => (out += d));
      child!.on("close", () => reject(new Error(`demo exited:\n${out}`)));
    });
    const page = await fetch(`${url}/dashboard?env=prod`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("gateway");
    const json = await (await fetch(`${url}/v1/backlog/dashboard?env=prod`)).json();
    expect(json).toMatchObject({ total: 5, backend: "JsonlBacklogStore" });
    const write = await fetch(`${url}/v1/tools/execute`, { method: "POST", body: JSON.stringify({ tool: "risk_history_tool", action: "cleanup" }) });
    expect(write.status).toBe(401);
    const exited = new Promise((r) => child!.on("close", r));
    child!.kill("SIGINT");
    expect(await exited).toBe(0);
    child = undefined;
  });
});

test("the sample file says it is sample data", () => {
  expect(JSON.parse(readFileSync(SAMPLE, "utf8")).description).toMatch(/^SAMPLE DATA/);
});
