/**
 * Every script and server.ts under Deno 2 (the npm package `deno`), with the same behaviour as under
 * Bun: --help and a bad flag for every script, --dry-run output compared where it is deterministic, and
 * real runs against Postgres and JSONL where each runtime reads what the other wrote. One database for
 * the file. Deno missing is a failure with the fix, never a skip.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { stripComments } from "../helpers/env-names.ts";
import { freshDatabase, type TestDb } from "../helpers/pg.ts";
import { startProjectService, teamMembersBody, type ProjectService } from "../helpers/project-service.ts";
import { REPO, runScript, type RunResult } from "../helpers/run.ts";
import { pathWithoutBun } from "../helpers/fresh-clone.ts";
import { denoPath } from "../helpers/preflight.ts";
import { jobEnv, logLines } from "../helpers/seed-job.ts";
import { tempDir } from "../helpers/tmp.ts";
import { expectExit } from "../helpers/exit.ts";

const DENO = denoPath();
const deno = [DENO, "run", "-A"];
const bun = [process.execPath, "run"];

const SCRIPTS = [
  ...readdirSync(join(REPO, "scripts")).filter((f) => f.endsWith(".ts")).map((f) => `scripts/${f}`),
  ...readdirSync(join(REPO, "ops/scripts")).filter((f) => f.endsWith(".ts")).map((f) => `ops/scripts/${f}`),
];

let db: TestDb;
let svc: ProjectService;
const tmp = tempDir;

beforeAll(async () => {
  const fix = `Install the project's dev dependencies (\`npm ci\`, which brings the npm package "deno" and its platform binary), or set DENO_PATH to a Deno 2 binary.`;
  if (!existsSync(DENO)) throw new Error(`Deno not found at ${DENO}. ${fix}`);
  const v = spawnSync(DENO, ["--version"], { encoding: "utf8" });
  if (v.status !== 0 || !/^deno 2\./.test(v.stdout)) {
    throw new Error(`${DENO} --version did not report Deno 2 (exit ${v.status}): ${(v.stdout + v.stderr + (v.error?.message ?? "")).trim()}. ${fix}`);
  }
  db = await freshDatabase();
  svc = await startProjectService({ body: teamMembersBody(["E1", "E2", "E3"]) });
});
afterAll(async () => {
  await svc?.close();
  await db?.drop();
});

function reportsWithFixture(): string {
  const dir = tmp("bb-deno-reports-");
  mkdirSync(join(dir, "platform"), { recursive: true });
  cpSync(join(REPO, "tests/fixtures/platform-2026-W47.json"), join(dir, "platform/2026-W47.json"));
  return dir;
}

const json = (r: RunResult) => {
  try {
    return JSON.parse(r.stdout);
  } catch {
    throw new Error(`not JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
};

describe("Deno 2", () => {
  test("runtime-specific APIs appear only in lib/core/runtime.ts", () => {
    const files = ["server.ts", ...["lib", "scripts", "ops/scripts"].flatMap((d) => readdirSync(join(REPO, d), { recursive: true, encoding: "utf8" }).map((f) => `${d}/${f}`))]
      .filter((f) => /\.tsx?$/.test(f) && f !== "lib/core/runtime.ts");
    expect(files.length).toBeGreaterThan(50);
    const RUNTIME_ONLY = /\bBun\.|\bDeno\.|from\s+["']bun(:[a-z]+)?["']|import\.meta\.dir\b/;
    const offenders = files.filter((f) => RUNTIME_ONLY.test(stripComments(readFileSync(join(REPO, f), "utf8"))));
    expect(offenders).toEqual([]);
    expect(RUNTIME_ONLY.test(stripComments(readFileSync(join(REPO, "lib/core/runtime.ts"), "utf8")))).toBe(true);
  });

  test("--help of every script matches Bun's, exit 0", async () => {
    expect(SCRIPTS.length).toBeGreaterThanOrEqual(10);
    for (const s of SCRIPTS) {
      const [d, b] = await Promise.all([runScript(s, ["--help"], { runtime: deno }), runScript(s, ["--help"], { runtime: bun })]);
      expect({ s, code: d.code }).toEqual({ s, code: 0 });
      expect(d.stdout).toBe(b.stdout);
    }
  }, 120_000);

  test("a bad flag fails every script the same way: exit 1, the same message", async () => {
    const noTs = (t: string) => t.replace(/"ts":"[^"]+"/g, '"ts":"…"');
    for (const s of SCRIPTS) {
      const [d, b] = await Promise.all([runScript(s, ["--bogus"], { runtime: deno }), runScript(s, ["--bogus"], { runtime: bun })]);
      expect({ s, code: d.code, stderr: noTs(d.stderr), stdout: noTs(d.stdout) }).toEqual({ s, code: 1, stderr: noTs(b.stderr), stdout: noTs(b.stdout) });
      expect(d.stderr).toContain("Unknown option '--bogus'");
    }
  }, 120_000);

  test("migrate: --dry-run prints the same SQL; a real apply on Postgres", async () => {
    const [d, b] = await Promise.all([runScript("scripts/migrate.ts", ["--dry-run"], { runtime: deno }), runScript("scripts/migrate.ts", ["--dry-run"], { runtime: bun })]);
    expectExit(d, 0);
    expect(d.stdout).toBe(b.stdout);
    const apply = await runScript("scripts/migrate.ts", ["--dsn", db.dsn], { runtime: deno });
    expectExit(apply, 0);
    expect(apply.stdout).toMatch(/Applied \d+ migrations\./);
    const again = await runScript("scripts/migrate.ts", ["--dsn", db.dsn], { runtime: bun });
    expect(again.stdout).toContain("Nothing to apply");
  }, 60_000);

  test("generate, tool and cleanup on JSONL and on Postgres", async () => {
    const reports = reportsWithFixture();
    for (const env of [
      { BACKLOG_BACKEND: "jsonl", BACKLOG_JSONL_DIR: tmp("bb-deno-jsonl-"), BACKLOG_REPORTS_DIR: reports },
      { BACKLOG_BACKEND: "postgres", BACKLOG_POSTGRES_DSN: db.dsn, BACKLOG_REPORTS_DIR: reports },
    ]) {
      const dryArgs = ["--env", "prod", "--week", "2026-W47", "--dry-run"];
      const [dry, bunDry] = (await Promise.all([runScript("scripts/generate.ts", dryArgs, { runtime: deno, env }), runScript("scripts/generate.ts", dryArgs, { runtime: bun, env })])).map(json);
      expect(dry.dry_run).toBe(true);
      expect(dry).toEqual(bunDry);
      const real = json(await runScript("scripts/generate.ts", ["--env", "prod", "--week", "2026-W47"], { runtime: deno, env }));
      expect(real.created).toBe(dry.created);
      expect(real.created).toBeGreaterThan(0);
      // Bun sees what Deno wrote; a second run (on Bun) creates nothing
      const second = json(await runScript("scripts/generate.ts", ["--env", "prod", "--week", "2026-W47"], { runtime: bun, env }));
      expect(second.created).toBe(0);
      const dash = json(await runScript("scripts/tool.ts", ["backlog_tool", "dashboard", "--params-json", '{"env":"prod"}'], { runtime: deno, env }));
      expect(dash.total).toBe(real.created);
      const clean = json(await runScript("scripts/cleanup.ts", ["--dry-run"], { runtime: deno, env }));
      expect(clean).toMatchObject({ removed: 0, dry_run: true });
    }
  }, 120_000);

  test("risk: --dry-run validates the same; a real import on Postgres that Bun then snapshots", async () => {
    const env = { BACKLOG_BACKEND: "postgres", BACKLOG_POSTGRES_DSN: db.dsn };
    const args = ["--from-file", "ops/samples/risk_signals.sample.json"];
    const ids = (t: string) => t.replace(/rs_[0-9a-f-]{36}/g, "rs_…").replace(/"recorded_at": "[^"]+"/g, "\"recorded_at\": \"…\"");
    const [d, b] = await Promise.all([runScript("scripts/risk.ts", [...args, "--dry-run"], { runtime: deno, env }), runScript("scripts/risk.ts", [...args, "--dry-run"], { runtime: bun, env })]);
    expectExit(d, 0);
    expect(ids(d.stdout)).toBe(ids(b.stdout));
    expect(json(d)).toMatchObject({ dry_run: true, would_record: 40 });
    const real = json(await runScript("scripts/risk.ts", args, { runtime: deno, env }));
    expect(real).toMatchObject({ recorded: 40, storage: expect.stringContaining("Postgres") });
    const [row] = await db.sql<{ n: number }[]>`select count(*)::int as n from risk_signals`;
    expect(row?.n).toBe(40);
    const snap = ["risk_history_tool", "snapshot", "--params-json", '{"env":"prod","at":"2026-03-09T09:30:00Z"}'];
    const first = json(await runScript("scripts/tool.ts", snap, { runtime: bun, env }));
    expect(first.inserted).toBeGreaterThan(0);
    expect(json(await runScript("scripts/tool.ts", snap, { runtime: deno, env }))).toMatchObject({ inserted: 0, existing: first.inserted });
  }, 60_000);

  test("demo --no-serve on JSONL prints the same chain under both runtimes", async () => {
    const run = (runtime: string[]) => {
      const dir = tmp("bb-deno-demo-");
      return runScript("scripts/demo.ts", ["--no-serve", "--data-dir", dir], { runtime }).then((r) => ({ ...r, out: r.stdout.replaceAll(dir, "<dir>") }));
    };
    const [d, b] = await Promise.all([run(deno), run(bun)]);
    expect({ code: d.code, stderr: d.stderr.split("\n").filter((l) => l.includes('"level":"error"')) }).toEqual({ code: 0, stderr: [] });
    // both ran "now": dates only differ if the two straddle midnight UTC
    const undated = (t: string) => t.replace(/\d{4}-(\d{2}-\d{2}|W\d{2})/g, "<date>");
    expect(undated(d.out)).toBe(undated(b.out));
    expect(d.out).toMatch(/5\. backlog prod \d{4}-W\d{2}: [1-9]\d* created/);
  }, 60_000);

  test("render_cron writes the same cron file and CronJobs as the committed (Bun-generated) ones", async () => {
    const dir = tmp("bb-deno-cron-");
    const r = await runScript("ops/scripts/render_cron.ts", ["--out", join(dir, "jobs.cron"), "--cronjobs-out", join(dir, "cronjobs.yml")], { runtime: deno });
    expectExit(r, 0);
    expect(readFileSync(join(dir, "jobs.cron"), "utf8")).toBe(readFileSync(join(REPO, "ops/cron/jobs.cron"), "utf8"));
    expect(readFileSync(join(dir, "cronjobs.yml"), "utf8")).toBe(readFileSync(join(REPO, "ops/k8s/governance-cronjobs.yml"), "utf8"));
  });

  // PATH without bun: under Deno the bundler must find node_modules/.bin/bun (npm leaves no `bun` next
  // to process.execPath, only bun.exe), as after `npm ci` on a fresh machine
  test("bundle under Deno builds with the repository's bun, none on PATH: the same summary as under Bun", async () => {
    const build = async (runtime: string[]) => {
      const dir = tmp("bb-deno-bundle-");
      const r = await runScript("scripts/bundle.ts", ["--only", "migrate", "--out-dir", dir], { runtime, env: { PATH: pathWithoutBun() }, timeoutMs: 120_000 });
      return { code: r.code, summary: r.stdout.replaceAll(dir, "<out>"), dir };
    };
    const d = await build(deno);
    const b = await build(bun);
    expectExit(d, 0);
    expect(d.summary).toBe(b.summary);
    expect(readFileSync(join(d.dir, "migrate.js"))).toEqual(readFileSync(join(b.dir, "migrate.js")));
  }, 120_000);

  test("seed: the setup job under Deno seeds 8/4/8 with the seed's log events", async () => {
    const r = await runScript("scripts/seed.ts", [], { runtime: deno, env: jobEnv(db, svc.url) });
    expectExit(r, 0);
    const events = logLines(r.stdout).map((l) => l.event);
    expect(events).toContain("Created 8 tasks, 4 stories, and 8 story-task mappings");
    const [row] = await db.sql<{ n: number }[]>`select count(*)::int as n from tasks where project_id = 'TEST-001'`;
    expect(row?.n).toBe(8);
  }, 60_000);

  test("check and the runner", async () => {
    expectExit(await runScript("scripts/check.ts", [], { runtime: deno }), 0);
    const r = await runScript("ops/scripts/run_governance_job.ts", ["--tool", "backlog_tool", "--action", "cleanup", "--params-json", "{bad"], { runtime: deno });
    expectExit(r, 1);
    expect(r.stderr).toContain("--params-json is not valid JSON");
  });

  test("server.ts starts under Deno and serves /healthz, the HTML dashboard and the runner (Deno too)", async () => {
    const key = "deno-reader-key";
    const schedulerKey = "deno-scheduler-key";
    const child = spawn(DENO, ["run", "-A", "server.ts"], {
      cwd: REPO,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", PORT: "0", BACKLOG_BACKEND: "jsonl", BACKLOG_JSONL_DIR: tmp("bb-deno-srv-"), BACKLOG_READER_API_KEY: key, SCHEDULER_API_KEY: schedulerKey },
    });
    let out = "";
    const exited = new Promise<number | null>((r) => child.on("close", r));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no start:\n${out}`)), 30_000);
        const on = (d: Buffer) => {
          out += d;
          const m = /"event":"server listening".*?"url":"(http:[^"]+)"/.exec(out);
          if (m) clearTimeout(timer), resolve(m[1]!);
        };
        child.stdout.on("data", on);
        child.stderr.on("data", on);
      });
      expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: "ok" });
      expect(await (await fetch(`${url}/readyz`)).json()).toMatchObject({ ready: true, backend: "JsonlBacklogStore" });
      expect((await fetch(`${url}/dashboard?env=prod`)).status).toBe(401);
      const page = await fetch(`${url}/dashboard?env=prod`, { headers: { authorization: `Bearer ${key}` } });
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain("<!doctype html>");
      expect(html).toContain('data-testid="total"');
      expect(html).toContain("JsonlBacklogStore");
      const run = await runScript("ops/scripts/run_governance_job.ts", ["--tool", "backlog_tool", "--action", "cleanup", "--dry-run"], { runtime: deno, env: { ROUTER_URL: url, SCHEDULER_API_KEY: schedulerKey } });
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
      expect(json(run)).toMatchObject({ removed: 0, dry_run: true });
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    } finally {
      child.kill("SIGKILL");
    }
  }, 60_000);
});
