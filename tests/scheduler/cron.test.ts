/** bun run check and the cron file: registry ↔ cron file ↔ CronJobs ↔ tools/RBAC, and cron.d parsing. */
import { describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import * as v from "valibot";
import { cronFileCheck, runChecks } from "../../lib/scheduler/checks.ts";
import { diffCron, parseCron, renderCron, shellWords } from "../../lib/scheduler/cron-file.ts";
import { renderCronJobs } from "../../lib/scheduler/k8s-cronjobs.ts";
import { ENVELOPE_KEYS } from "../../lib/scheduler/ledger.ts";
import { loadRegistry, parseRegistry } from "../../lib/scheduler/registry.ts";
import { diffTools } from "../../lib/scheduler/tools-check.ts";
import { createRegistry } from "../../lib/tools/dispatch.ts";
import { defineAction } from "../../lib/tools/types.ts";
import { REPO, runScript } from "../helpers/run.ts";
import { tempDir } from "../helpers/tmp.ts";
import { expectExit } from "../helpers/exit.ts";

const REGISTRY = join(REPO, "ops/task_registry.yml");
const CRON = join(REPO, "ops/cron/jobs.cron");
const tmp = tempDir;

describe("registry ↔ cron file drift", () => {
  test("the shipped files are in sync (bun run check exits 0)", async () => {
    const r = await runScript("scripts/check.ts");
    expectExit(r, 0);
    expect(r.stdout).toContain(`ok   tools and access: ${loadRegistry().length} jobs name real tool actions the scheduler agent may run, with valid params`);
    expect(r.stdout).toContain(`ok   cron file ops/cron/jobs.cron: ${loadRegistry().length} jobs match the registry`);
    expect(r.stdout).toContain(`ok   Kubernetes CronJobs ops/k8s/governance-cronjobs.yml: ${loadRegistry().length} jobs match the registry`);
  });

  test("the cron file is exactly what render_cron.ts produces", async () => {
    expect(readFileSync(CRON, "utf8")).toBe(renderCron(loadRegistry()));
    const dir = tmp("bb-render-");
    const outs = ["--out", join(dir, "jobs.cron"), "--cronjobs-out", join(dir, "cj.yml")];
    const r = await runScript("ops/scripts/render_cron.ts", outs);
    expectExit(r, 0);
    expect(readFileSync(join(dir, "jobs.cron"), "utf8")).toBe(readFileSync(CRON, "utf8"));
    expect(readFileSync(join(dir, "cj.yml"), "utf8")).toBe(readFileSync(join(REPO, "ops/k8s/governance-cronjobs.yml"), "utf8"));
    expect((await runScript("ops/scripts/render_cron.ts", ["--stdout"])).stdout).toBe(readFileSync(CRON, "utf8"));
    writeFileSync(join(dir, "a-file"), "");
    const bad = await runScript("ops/scripts/render_cron.ts", ["--out", join(dir, "a-file", "jobs.cron")]);
    expectExit(bad, 1);
    expect(bad.stderr).toContain(`error: Cannot write ${join(dir, "a-file", "jobs.cron")}`);
    expect(bad.stderr).not.toContain("report");
  });

  test("an edited cron file fails the check with a readable diff, both directions", async () => {
    const dir = tmp("bb-cron-");
    const text = readFileSync(CRON, "utf8");
    const edited = text
      .replace("20 6 * * 1 backlog", "25 6 * * 1 backlog") // schedule
      .replace("&& node_modules/.bin/bun run ops/scripts/run_governance_job.ts --job hourly_risk_snapshot", "&& bun run ops/scripts/run_governance_job.ts --job hourly_risk_snapshot") // a global bun
      .replace(`--params-json '{"env":"prod"}' >> /var/log/daarion/risk_digest.log`, `--params-json '{"env":"dev"}' >> /var/log/daarion/risk_digest.log`) // params
      .split("\n")
      .filter((l) => !l.includes("--job daily_backlog_cleanup")) // a job missing
      .join("\n")
      .concat(`\n5 5 * * * backlog bun run ops/scripts/run_governance_job.ts --job rogue_job --tool backlog_tool --action cleanup\n`);
    writeFileSync(join(dir, "jobs.cron"), edited);
    const r = await runScript("scripts/check.ts", ["--cron", join(dir, "jobs.cron")]);
    expectExit(r, 1);
    expect(r.stderr).toContain('weekly_backlog_generate: schedule is "20 6 * * 1" in the registry but "25 6 * * 1" in the cron file');
    expect(r.stderr).toContain('daily_risk_digest: params is {"env":"prod"} in the registry but {"env":"dev"} in the cron file');
    expect(r.stderr).toContain("daily_backlog_cleanup: in the registry but missing from the cron file");
    expect(r.stderr).toMatch(/rogue_job: in the cron file \(line \d+\) but not in the registry/);
    expect(r.stderr).toContain('hourly_risk_snapshot: runs the runner with "bun" (line 19); cron\'s PATH has no bun after npm ci, so use node_modules/.bin/bun');
    expect(r.stderr).toContain("fix: npx bun run ops/scripts/render_cron.ts");
  });

  test("an edited registry fails against the shipped cron file (tool, action, new job)", () => {
    const reg = loadRegistry();
    reg[0] = { ...reg[0]!, tool: "other_tool", action: "other_action" };
    reg.push({ ...reg[1]!, id: "brand_new_job" });
    const problems = diffCron(reg, parseCron(readFileSync(CRON, "utf8")));
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining("hourly_risk_snapshot: tool is other_tool in the registry but risk_history_tool"),
        expect.stringContaining("hourly_risk_snapshot: action is other_action"),
        "brand_new_job: in the registry but missing from the cron file",
      ]),
    );
    const report = runChecks(REGISTRY, [cronFileCheck(CRON)]);
    expect(report.ok).toBe(true);
  });

  test("the Kubernetes CronJobs are exactly what render_cron.ts produces, and drift fails the check", async () => {
    const file = join(REPO, "ops/k8s/governance-cronjobs.yml");
    const text = readFileSync(file, "utf8");
    expect(text).toBe(renderCronJobs(loadRegistry()));
    const dir = tmp("bb-cronjobs-");
    const edited = text.replace("schedule: 20 6 * * 1", "schedule: 30 6 * * 1").replace("timeZone: UTC", "timeZone: Europe/Kyiv");
    expect(edited).not.toBe(text);
    writeFileSync(join(dir, "cj.yml"), edited.split("---\n").slice(0, -1).join("---\n"));
    const r = await runScript("scripts/check.ts", ["--cronjobs", join(dir, "cj.yml")]);
    expectExit(r, 1);
    expect(r.stdout + r.stderr).toContain("ok   cron file");
    expect(r.stderr).toContain('weekly_backlog_generate: schedule is "20 6 * * 1" in the registry but "30 6 * * 1" in CronJob governance-weekly-backlog-generate');
    expect(r.stderr).toContain('hourly_risk_snapshot: timeZone is "UTC" in the registry but "Europe/Kyiv"');
    const last = loadRegistry().at(-1)!.id; // the CronJob cut off above
    expect(r.stderr).toContain(`${last}: in the registry but no CronJob governance-${last.replaceAll("_", "-")}`);
  });

  test("registry validation names the job and the field", () => {
    const good = { jobs: { a_job: { schedule: "0 * * * *", tool: "backlog_tool", action: "cleanup", entitlement: "tools.backlog.admin", log: "a.log", description: "x" } } };
    expect(parseRegistry(good)[0]).toMatchObject({ id: "a_job", params: {}, catchUpMs: 0, dry_run: false });
    const bad = (job: object) => () => parseRegistry({ jobs: { a_job: { ...good.jobs.a_job, ...job } } });
    expect(bad({ schedule: "61 * * * *" })).toThrow(/jobs.a_job.schedule: must be a 5-field cron expression/);
    for (const croneronly of ["0 9 L * *", "0 9 * * 5#2", "0 9 ? * *", "0 9 15W * *", "0 6 * * mon-fri"]) {
      expect(bad({ schedule: croneronly })).toThrow(/jobs.a_job.schedule: .*that cron and croner both read/);
    }
    expect(parseRegistry({ jobs: { a_job: { ...good.jobs.a_job, schedule: "*/15 0-6,22 * jan mon" } } })[0]!.schedule).toBe("*/15 0-6,22 * jan mon");
    expect(bad({ entitlement: "admin" })).toThrow(/jobs.a_job.entitlement: must look like tools/);
    expect(bad({ catch_up: "3 days" })).toThrow(/jobs.a_job.catch_up/);
    expect(bad({ typo: 1 })).toThrow(/typo/);
    expect(() => parseRegistry({ timezone: "Europe/Kyiv", jobs: good.jobs })).toThrow(/timezone: must be "UTC"/);
    // params are spread next to tool/action/job in the HTTP body: those names would hijack the call
    expect(bad({ params: { env: "prod", tool: "other_tool" } })).toThrow(/jobs.a_job.params: must not use tool, action, params, job, scheduled_at/);
  });
});

describe("cron file parsing", () => {
  test("comments, env lines and quoted JSON params", () => {
    const text = [
      "# comment",
      "SHELL=/bin/bash",
      'ROUTER_URL="http://router:8000"',
      "",
      `*/5 * * * * backlog cd "$REPO_ROOT" && node_modules/.bin/bun run ops/scripts/run_governance_job.ts --job j1 --tool t --action a --params-json '{"env":"prod","note":"it'\\''s fine"}' >> /var/log/daarion/j1.log 2>&1`,
      "   # indented comment",
      "0 1 * * 1-5 root bun run ops/scripts/run_governance_job.ts --job j2 --tool t --action b",
    ].join("\n");
    const f = parseCron(text);
    expect(f.env).toEqual({ SHELL: "/bin/bash", ROUTER_URL: "http://router:8000" });
    expect(f.jobs).toEqual([
      { id: "j1", schedule: "*/5 * * * *", user: "backlog", tool: "t", action: "a", params: { env: "prod", note: "it's fine" }, log: "j1.log", suspended: false, bin: "node_modules/.bin/bun", line: 5 },
      { id: "j2", schedule: "0 1 * * 1-5", user: "root", tool: "t", action: "b", params: {}, log: null, suspended: false, bin: "bun", line: 7 },
    ]);
    expect(shellWords(`a 'b c' "d \\"e\\"" f\\ g`)).toEqual(["a", "b c", 'd "e"', "f g"]);
  });

  test("any params survive render → parse (quotes, %, backslashes, spaces, unicode)", () => {
    const base = loadRegistry()[0]!;
    const tricky = { note: "it's 50% done \\% \\n  two  spaces", q: '"x"', u: "ünï ✓", nested: { a: [1, null, true] } };
    const line = renderCron([{ ...base, params: tricky }]).split("\n").find((l) => l.includes("--job"))!;
    expect(line).toContain("50\\%"); // escaped for cron
    expect(parseCron(line).jobs[0]!.params).toEqual(tricky);
    fc.assert(
      fc.property(fc.dictionary(fc.string().filter((k) => !ENVELOPE_KEYS.includes(k as never)), fc.jsonValue()), (params) => {
        const text = renderCron([{ ...base, params }]);
        expect(parseCron(text).jobs[0]!.params).toEqual(JSON.parse(JSON.stringify(params)));
      }),
      { numRuns: 300 },
    );
  });

  test("bad lines name the line and what is wrong", () => {
    const run = "bun run ops/scripts/run_governance_job.ts";
    const err = (line: string) => () => parseCron(`# x\n${line}`, "jobs.cron");
    expect(err(`@daily backlog ${run} --job j --tool t --action a`)).toThrow("jobs.cron line 2: @-schedules");
    expect(err(`0 25 * * * backlog ${run} --job j --tool t --action a`)).toThrow('jobs.cron line 2: invalid schedule "0 25 * * *"');
    expect(err(`0 * * * * backlog ${run} --tool t --action a`)).toThrow("jobs.cron line 2: the runner needs --job, --tool and --action");
    expect(err(`0 * * * * backlog ${run} --job j --tool t --action a --params-json '{bad'`)).toThrow("jobs.cron line 2: --params-json is not valid JSON");
    expect(err(`0 * * * * backlog ${run} --job j --tool t --action a --params-json '{"x":1}`)).toThrow("unterminated single quote");
    expect(err(`0 * * * * backlog echo hi there`)).toThrow("does not run ops/scripts/run_governance_job.ts");
    expect(err(`0 * * * *`)).toThrow("expected 5 schedule fields, a user and a command");
    expect(err(`0 * * * * backlog ${run} --job j --tool t --action a --params-json '{"p":"50%"}'`)).toThrow("jobs.cron line 2: an unescaped % ends a cron command");
    expect(err(`0 9 L * * backlog ${run} --job j --tool t --action a`)).toThrow('jobs.cron line 2: invalid schedule "0 9 L * *"'); // croner reads it, cron does not
    expect(() => parseCron(`0 * * * * u ${run} --job j --tool t --action a\n1 * * * * u ${run} --job j --tool t --action a`)).toThrow("line 2: job j appears twice");
  });
});


describe("registry ↔ tools ↔ config/access.yml", () => {
  test("an edited registry or access file fails bun run check, naming the job and the fix", async () => {
    const dir = tmp("bb-tools-check-");
    const reg = readFileSync(REGISTRY, "utf8")
      .replace(/(daily_backlog_cleanup:[\s\S]*?entitlement: )tools\.backlog\.admin/, "$1tools.backlog.write") // understated right
      .replace(/(risk_history_cleanup:[\s\S]*?params: )\{ env: prod \}/, "$1{ env: prod, keep_days: 3 }"); // a param the action refuses
    writeFileSync(join(dir, "registry.yml"), reg);
    const access = readFileSync(join(REPO, "config/access.yml"), "utf8").replace("[tools.backlog.admin, tools.pressure.write, tools.risk.write, tools.notify.write]", "[tools.backlog.admin, tools.risk.write, tools.notify.write]");
    writeFileSync(join(dir, "access.yml"), access);
    const r = await runScript("scripts/check.ts", ["--registry", join(dir, "registry.yml"), "--access", join(dir, "access.yml")]);
    expectExit(r, 1);
    expect(r.stderr).toContain("FAIL tools and access disagree with ops/task_registry.yml:");
    expect(r.stderr).toContain("daily_backlog_cleanup: entitlement is tools.backlog.write in the registry but backlog_tool.cleanup requires tools.backlog.admin");
    expect(r.stderr).toMatch(/risk_history_cleanup: params rejected by risk_history_tool\.cleanup: .*keep_days/);
    expect(r.stderr).toContain(`weekly_platform_priority_digest: the scheduler agent in ${join(dir, "access.yml")} lacks tools.pressure.write`);
    expect(r.stderr).toContain("fix: make ops/task_registry.yml name the tool's real action");
    // the same registry is otherwise still in sync with the cron file's jobs
    expect(r.stderr).not.toContain("in the registry but missing");
  });

  test("unknown tools and actions, dry_run claims, a missing scheduler agent", () => {
    const tools = createRegistry([
      {
        name: "t_tool",
        description: "test",
        actions: {
          plain: defineAction({ description: "no dry run", params: v.strictObject({}), entitlement: "tools.backlog.write", writes: true, run: async () => ({}) }),
          safe: defineAction({ description: "dry run", params: v.strictObject({ dry_run: v.optional(v.boolean()) }), entitlement: "tools.backlog.write", writes: true, run: async () => ({}) }),
        },
      },
    ]);
    const job = (id: string, over: object) => parseRegistry({ jobs: { [id]: { schedule: "0 * * * *", tool: "t_tool", action: "safe", entitlement: "tools.backlog.write", log: "x.log", description: "x", dry_run: true, ...over } } })[0]!;
    const jobs = [job("ok_job", {}), job("no_dry_run", { action: "plain" }), job("no_tool", { tool: "ghost_tool" }), job("no_action", { action: "ghost" })];
    expect(diffTools(jobs, tools, ["tools.backlog.admin"])).toEqual([
      "no_dry_run: dry_run is true in the registry but t_tool.plain does not take dry_run",
      "no_tool: tool ghost_tool does not exist (known: t_tool)",
      "no_action: t_tool has no action ghost (known: plain, safe)",
    ]);
    expect(diffTools([jobs[0]!], tools, null)).toEqual(['config/access.yml has no agent "scheduler": every job would be refused (add it with the entitlements the jobs need)']);
    expect(diffTools([jobs[0]!], tools, ["tools.backlog.admin"])).toEqual([]);
  });
});
