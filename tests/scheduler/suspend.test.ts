/**
 * `suspend: true` in ops/task_registry.yml: validation, the cron file and Kubernetes CronJobs (render and
 * drift check), and the in-process scheduler. The HTTP claim path and the runner: suspend-http.test.ts.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import YAML from "yaml";
import { AppError } from "../../lib/core/errors.ts";
import { createLogger, silentLogger } from "../../lib/core/log.ts";
import { cronFileCheck, cronJobsCheck, runChecks } from "../../lib/scheduler/checks.ts";
import { parseCron, renderCron, SUSPENDED_PREFIX } from "../../lib/scheduler/cron-file.ts";
import { renderCronJobs } from "../../lib/scheduler/k8s-cronjobs.ts";
import { MemoryRunLedger } from "../../lib/scheduler/ledger-open.ts";
import { loadRegistry, parseRegistry, suspendedJobs } from "../../lib/scheduler/registry.ts";
import { createScheduler } from "../../lib/scheduler/scheduler.ts";
import { MemoryBacklogStore } from "../../lib/store/memory.ts";
import { createRegistry } from "../../lib/tools/dispatch.ts";
import { createToolContext, resolveToolPaths } from "../../lib/tools/index.ts";
import { countingTool } from "../helpers/counting-tool.ts";
import { REPO } from "../helpers/run.ts";
import { tempDir } from "../helpers/tmp.ts";

const REGISTRY = join(REPO, "ops/task_registry.yml");

/** The shipped registry with `daily_backlog_cleanup` suspended (the YAML text, as an operator edits it). */
function suspendedRegistryText(extra = "    suspend: true\n    suspend_reason: migration to the new retention, INC-42\n"): string {
  const text = readFileSync(REGISTRY, "utf8");
  const out = text.replace(/(  daily_backlog_cleanup:\n(?: {4}.*\n)+)/, (block) => block + extra);
  expect(out).not.toBe(text);
  return out;
}

describe("registry: suspend and suspend_reason", () => {
  const good = { schedule: "0 * * * *", tool: "backlog_tool", action: "cleanup", entitlement: "tools.backlog.admin", log: "a.log", description: "x" };

  test("optional, default false; the reason only with suspend: true", () => {
    expect(parseRegistry({ jobs: { a_job: good } })[0]).toMatchObject({ suspend: false });
    const s = parseRegistry({ jobs: { a_job: { ...good, suspend: true, suspend_reason: "INC-42" }, b_job: { ...good, suspend: true } } });
    expect([...suspendedJobs(s)]).toEqual([["a_job", "INC-42"], ["b_job", null]]);
    const bad = (job: object) => () => parseRegistry({ jobs: { a_job: { ...good, ...job } } });
    expect(bad({ suspend: "yes" })).toThrow("jobs.a_job.suspend: must be true or false (true stops every scheduled run of the job)");
    expect(bad({ suspend_reason: "left over" })).toThrow("jobs.a_job.suspend_reason: is only for a suspended job (suspend: true); remove it when resuming");
    expect(bad({ suspend: true, suspend_reason: "two\nlines" })).toThrow("jobs.a_job.suspend_reason: must be one line without %");
    expect(bad({ suspend: true, suspend_reason: "" })).toThrow("jobs.a_job.suspend_reason: must say why the job is suspended");
  });

  test("an error in the registry file names the line", () => {
    const file = join(tempDir("bb-suspend-reg-"), "registry.yml");
    writeFileSync(file, suspendedRegistryText("    suspend: yes please\n"));
    const line = readFileSync(file, "utf8").split("\n").findIndex((l) => l.includes("suspend: yes please")) + 1;
    expect(() => loadRegistry(file)).toThrow(`jobs.daily_backlog_cleanup.suspend: must be true or false (true stops every scheduled run of the job) (line ${line})`);
  });
});

describe("cron file and Kubernetes CronJobs follow the registry", () => {
  const dir = tempDir("bb-suspend-render-");
  const registryFile = join(dir, "registry.yml");
  writeFileSync(registryFile, suspendedRegistryText());
  const jobs = loadRegistry(registryFile);

  test("the cron file comments a suspended job out (cron runs nothing) and parseCron still reads it", () => {
    const text = renderCron(jobs);
    const lines = text.split("\n");
    const at = lines.findIndex((l) => l.includes("--job daily_backlog_cleanup"));
    expect(lines[at]!.startsWith(SUSPENDED_PREFIX)).toBe(true);
    expect(lines[at - 1]).toBe("# SUSPENDED in ops/task_registry.yml (migration to the new retention, INC-42): cron does not run it. Resume: remove suspend, re-render, re-install.");
    // every other job stays a live cron line
    expect(lines.filter((l) => l.includes("run_governance_job.ts --job") && !l.startsWith("#"))).toHaveLength(jobs.length - 1);
    const parsed = parseCron(text).jobs;
    expect(parsed.map((j) => [j.id, j.suspended]).filter(([, s]) => s)).toEqual([["daily_backlog_cleanup", true]]);
    expect(parsed).toHaveLength(jobs.length);
  });

  test("the CronJob has spec.suspend: true and the reason as an annotation", () => {
    const docs = YAML.parseAllDocuments(renderCronJobs(jobs)).map((d) => d.toJS());
    const cj = docs.find((d) => d.metadata.labels["backlog-bridge/job"] === "daily_backlog_cleanup");
    expect(cj.spec.suspend).toBe(true);
    expect(cj.metadata.annotations["backlog-bridge/suspend-reason"]).toBe("migration to the new retention, INC-42");
    expect(docs.filter((d) => d.spec.suspend === false)).toHaveLength(jobs.length - 1);
  });

  test("the drift check fails both ways, naming the job, the file's line and the fix", () => {
    // registry suspends, shipped files do not
    const stale = runChecks(registryFile, [cronFileCheck(), cronJobsCheck()]);
    expect(stale.ok).toBe(false);
    const line = readFileSync(join(REPO, "ops/cron/jobs.cron"), "utf8").split("\n").findIndex((l) => l.includes("--job daily_backlog_cleanup")) + 1;
    expect(stale.lines).toContain(`  - daily_backlog_cleanup: suspend is true in the registry but false in the cron file (line ${line})`);
    expect(stale.lines).toContain("  - daily_backlog_cleanup: suspend is true in the registry but false in CronJob governance-daily-backlog-cleanup");
    expect(stale.lines.filter((l) => l.includes("fix: npx bun run ops/scripts/render_cron.ts"))).toHaveLength(2);
    // rendered files suspend, the shipped registry does not (resumed without re-rendering)
    writeFileSync(join(dir, "jobs.cron"), renderCron(jobs));
    writeFileSync(join(dir, "cj.yml"), renderCronJobs(jobs));
    const resumed = runChecks(REGISTRY, [cronFileCheck(join(dir, "jobs.cron")), cronJobsCheck(join(dir, "cj.yml"))]);
    expect(resumed.lines.join("\n")).toContain("daily_backlog_cleanup: suspend is false in the registry but true in the cron file");
    expect(resumed.lines.join("\n")).toContain("daily_backlog_cleanup: suspend is false in the registry but true in CronJob governance-daily-backlog-cleanup");
    // and in sync when both say so
    expect(runChecks(registryFile, [cronFileCheck(join(dir, "jobs.cron")), cronJobsCheck(join(dir, "cj.yml"))]).ok).toBe(true);
  });
});

describe("in-process scheduler", () => {
  const CRON = [
    "0 * * * * backlog bun run ops/scripts/run_governance_job.ts --job hourly_count --tool test_tool --action count --params-json '{\"tag\":\"hourly\"}'",
    `${SUSPENDED_PREFIX}40 3 * * * backlog bun run ops/scripts/run_governance_job.ts --job daily_count --tool test_tool --action count --params-json '{"tag":"daily"}'`,
  ].join("\n");

  function make(suspended: Map<string, string | null>, now: Date) {
    const calls: string[] = [];
    const logs: { level: string; event: string; [k: string]: unknown }[] = [];
    const ledger = new MemoryRunLedger();
    const store = new MemoryBacklogStore();
    const skips: string[] = [];
    const s = createScheduler({
      jobs: parseCron(CRON).jobs,
      catchUpMs: { hourly_count: 6 * 3_600_000, daily_count: 6 * 3_600_000 },
      suspended,
      registry: createRegistry([countingTool(calls)]),
      ledger,
      toolContext: (id) => createToolContext({ store, paths: resolveToolPaths({}), agent: id.agent, entitlements: id.entitlements, log: silentLogger }),
      identity: { agent: "scheduler", entitlements: ["tools.backlog.admin"], authenticated: true },
      clock: () => now,
      log: createLogger({ level: "debug", write: (l) => logs.push(JSON.parse(l)) }),
      onRun: (job, outcome, _at, reason) => skips.push(`${job}:${outcome}:${reason ?? ""}`),
    });
    return { s, calls, logs, ledger, skips };
  }

  test("no fire of a suspended job is claimed or run; one debug line per skipped fire; the others run", async () => {
    const now = new Date("2026-11-23T04:00:00Z");
    const { s, calls, logs, ledger, skips } = make(new Map([["daily_count", "INC-42"]]), now);
    const out = await s.runDue(new Date("2026-11-23T03:40:00Z"));
    expect(out).toEqual([{ job: "daily_count", scheduled_at: "2026-11-23T03:40:00.000Z", skipped: "suspended" }]);
    expect(await s.runDue(new Date("2026-11-23T04:00:00Z"))).toMatchObject([{ job: "hourly_count", status: "success" }]);
    expect(calls).toEqual(["hourly"]);
    expect([...ledger.runs.values()].map((r) => r.job)).toEqual(["hourly_count"]);
    expect(skips).toEqual(["daily_count:skipped:suspended", "hourly_count:success:"]);
    const skipLines = logs.filter((l) => l.event === "scheduler: job suspended, fire skipped");
    expect(skipLines).toMatchObject([{ level: "debug", job: "daily_count", scheduled_at: "2026-11-23T03:40:00.000Z" }]);
  });

  test("catch-up after downtime leaves a suspended job alone", async () => {
    const { s, calls, ledger } = make(new Map([["daily_count", null]]), new Date("2026-11-23T04:30:00Z"));
    const out = await s.catchUp();
    expect(out.map((o) => o.job)).toEqual(["hourly_count"]);
    expect(calls).toEqual(["hourly"]);
    expect([...ledger.runs.values()].some((r) => r.job === "daily_count")).toBe(false);
  });

  test("start says once, at info, which jobs are suspended and why; jobs() and claimable() agree", async () => {
    const { s, logs } = make(new Map([["daily_count", "INC-42"]]), new Date("2026-11-23T05:00:00Z"));
    s.start();
    await s.stop(1000);
    expect(logs.filter((l) => l.event.includes("suspended"))).toMatchObject([{ level: "info", event: "scheduler: suspended jobs are not run (ops/task_registry.yml suspend)", suspended: ["daily_count (INC-42)"] }]);
    const view = await s.jobs();
    expect(view.find((j) => j.id === "daily_count")).toMatchObject({ suspended: true, suspend_reason: "INC-42" });
    expect(view.find((j) => j.id === "hourly_count")).toMatchObject({ suspended: false });
    expect(view.find((j) => j.id === "hourly_count")).not.toHaveProperty("suspend_reason");
    let err: unknown;
    try {
      s.claimable("daily_count", new Date("2026-11-23T03:40:00Z"));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).status).toBe(409);
    expect(s.claimable("daily_count", new Date("2026-11-23T03:40:00Z"), undefined, true).minute).toBe("2026-11-23T03:40:00.000Z");
  });

  test("resuming (no suspend) runs the next fire normally", async () => {
    const { s, calls } = make(new Map(), new Date("2026-11-24T03:40:10Z"));
    expect(await s.runDue(new Date("2026-11-24T03:40:00Z"))).toMatchObject([{ job: "daily_count", status: "success" }]);
    expect(calls).toEqual(["daily"]);
  });
});

