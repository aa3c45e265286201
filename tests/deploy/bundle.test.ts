/**
 * scripts/bundle.ts and the bundled Job scripts: dist/seed.js and dist/migrate.js must run on their own
 * (from an empty folder, no node_modules), the way the Kubernetes Jobs run them from a ConfigMap; every
 * other bundle at least answers --help there.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, cpSync, existsSync, readdirSync, statSync, symlinkSync } from "node:fs";
import { basename, join } from "node:path";
import process from "node:process";
import { loadMigrations } from "../../lib/pg/migrate.ts";
import { freshDatabase, type TestDb } from "../helpers/pg.ts";
import { startProjectService, teamMembersBody, type ProjectService } from "../helpers/project-service.ts";
import { REPO, runScript } from "../helpers/run.ts";
import { assignments, expectedEvents, inOrder, jobEnv, logLines, pgPassword } from "../helpers/seed-job.ts";
import { tempDir } from "../helpers/tmp.ts";
import { expectExit } from "../helpers/exit.ts";

const MiB = 1024 * 1024;
const tmp = tempDir;
const dbs: TestDb[] = [];

/**
 * The layout the kubelet gives a ConfigMap volume: the files live in a timestamped folder, `..data`
 * links to it, and each key is a symlink through `..data`.
 */
function configMapMount(source: string): string {
  const mount = tmp("bb-cm-");
  const stamp = "..2026_01_01_00_00_00.000000001";
  cpSync(source, join(mount, stamp), { recursive: true });
  symlinkSync(stamp, join(mount, "..data"));
  for (const f of readdirSync(join(mount, stamp))) symlinkSync(join("..data", f), join(mount, f));
  return mount;
}

let svc: ProjectService;
let out: string;
let summary: { out_dir: string; limit_bytes: number; total_bytes: number; files: { entry: string; output: string; bytes: number }[] };

beforeAll(async () => {
  svc = await startProjectService({ body: teamMembersBody(["K-1", "K-2", "K-3", "K-4"]) });
  out = tmp("bb-bundle-");
  const r = await runScript("scripts/bundle.ts", ["--only", "seed,migrate", "--out-dir", out], { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`bundle failed: ${r.stderr}`);
  summary = JSON.parse(r.stdout);
});
afterAll(async () => {
  await svc.close();
  for (const d of dbs) await d.drop();
});

describe("scripts/bundle.ts", () => {
  test("--only seed,migrate builds both, under 1 MiB, and the JSON summary tells the true sizes", () => {
    expect(summary.limit_bytes).toBe(MiB);
    expect(summary.files.map((f) => f.entry)).toEqual(["scripts/migrate.ts", "scripts/seed.ts"]);
    expect(readdirSync(out).sort()).toEqual(["migrate.js", "seed.js"]);
    for (const f of summary.files) {
      expect(f.output).toBe(join(out, f.entry.replace(/^scripts\/|\.ts$/g, "") + ".js"));
      expect(statSync(f.output).size).toBe(f.bytes);
      expect(f.bytes).toBeLessThan(MiB);
    }
    expect(summary.total_bytes).toBe(summary.files.reduce((n, f) => n + f.bytes, 0));
  });

  test("every entry script bundles, each file fits a ConfigMap and answers --help alone in an empty folder", async () => {
    const dir = tmp("bb-bundle-all-");
    const r = await runScript("scripts/bundle.ts", ["--out-dir", dir], { timeoutMs: 300_000 });
    expect(r.stderr.split("\n").filter((l) => l.includes('"level":"error"'))).toEqual([]);
    expectExit(r, 0);
    const s = JSON.parse(r.stdout) as typeof summary;
    const expected = ["scripts", "ops/scripts"].flatMap((d) =>
      existsSync(join(REPO, d))
        ? readdirSync(join(REPO, d)).filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts") && `${d}/${f}` !== "scripts/bundle.ts").map((f) => `${d}/${f}`)
        : [],
    ).concat("server.ts");
    expect(s.files.map((f) => f.entry).sort()).toEqual(expected.sort());
    for (const f of s.files) expect(statSync(f.output).size).toBeLessThan(MiB);
    // each runs on its own: `bun X.js --help` in an empty folder prints the script's own usage
    for (const f of s.files) {
      const alone = tmp("bb-bundle-alone-");
      copyFileSync(f.output, join(alone, basename(f.output)));
      const [b, src] = await Promise.all([
        runScript(join(alone, basename(f.output)), ["--help"], { cwd: alone, runtime: [process.execPath] }),
        runScript(f.entry, ["--help"]),
      ]);
      expect({ entry: f.entry, code: b.code, stderr: b.stderr }).toEqual({ entry: f.entry, code: 0, stderr: "" });
      expect(b.stdout).toBe(src.stdout);
      expect(readdirSync(alone)).toEqual([basename(f.output)]);
    }
  }, 120_000);

  test("a file over --max-bytes fails naming the file and its size, and writes nothing", async () => {
    const dir = tmp("bb-bundle-big-");
    const r = await runScript("scripts/bundle.ts", ["--only", "seed", "--out-dir", dir, "--max-bytes", "1000"]);
    expectExit(r, 1);
    const seedBytes = summary.files.find((f) => f.entry === "scripts/seed.ts")!.bytes;
    expect(r.stderr).toContain(`${join(dir, "seed.js")} is ${seedBytes} bytes`);
    expect(r.stderr).toContain("over the limit: must be under 1000 bytes");
    // the limit is exclusive: a file of exactly --max-bytes does not fit either
    const exact = await runScript("scripts/bundle.ts", ["--only", "seed", "--out-dir", dir, "--max-bytes", String(seedBytes)]);
    expectExit(exact, 1);
    expect(readdirSync(dir)).toEqual([]); // failed runs leave nothing, not even their staging folder
    expectExit(await runScript("scripts/bundle.ts", ["--only", "seed", "--out-dir", dir, "--max-bytes", String(seedBytes + 1)]), 0);
    expect(readdirSync(dir)).toEqual(["seed.js"]);
  });

  test("bad options are named: unknown entry, bad --max-bytes", async () => {
    const a = await runScript("scripts/bundle.ts", ["--only", "seed,nope", "--out-dir", tmp("bb-b-")]);
    expectExit(a, 1);
    expect(a.stderr).toContain("--only: no entry named nope; entries are:");
    const b = await runScript("scripts/bundle.ts", ["--max-bytes", "1MB"]);
    expectExit(b, 1);
    expect(b.stderr).toContain('--max-bytes: must be a positive whole number of bytes, got "1MB"');
  });
});

describe("bundled Job scripts run alone (empty folder, no node_modules)", () => {
  test("migrate.js --dir <copied migrations>, then seed.js with the Job's env: the seed's log and 8/4/8 rows", async () => {
    const d = await freshDatabase(); // unmigrated: the migrate Job comes first
    dbs.push(d);
    const jobDir = tmp("bb-job-");
    copyFileSync(join(out, "migrate.js"), join(jobDir, "migrate.js"));
    copyFileSync(join(out, "seed.js"), join(jobDir, "seed.js"));
    const migrations = configMapMount(join(REPO, "migrations"));
    const env = jobEnv(d, svc.url);
    const bun = [process.execPath];

    const m = await runScript(join(jobDir, "migrate.js"), ["--dir", migrations], { env, cwd: jobDir, runtime: bun });
    expect(m.stderr).toBe("");
    expectExit(m, 0);
    expect(m.stdout).toContain(`Applied ${(await loadMigrations()).length} migrations.`);

    const r = await runScript(join(jobDir, "seed.js"), [], { env, cwd: jobDir, runtime: bun });
    expect(r.stderr).toBe("");
    expectExit(r, 0);
    const lines = logLines(r.stdout);
    expect(inOrder(lines.map((l) => l.event), expectedEvents())).toBe(true);
    expect(lines.find((l) => l.event === "Retrieved team members for project")).toMatchObject({ count: 4, project_id: "TEST-001" });
    expect(await assignments(d.sql)).toEqual(["K-1", "K-2", "K-3", "K-4", "K-1", "K-2", "K-3", "K-4"]);
    const [c] = await d.sql<{ t: number; s: number; m: number }[]>`
      select (select count(*)::int from tasks) as t, (select count(*)::int from stories) as s, (select count(*)::int from story_tasks) as m`;
    expect(c).toEqual({ t: 8, s: 4, m: 8 });
    expect(m.stdout + r.stdout).not.toContain(pgPassword());
    // nothing was written next to the script (read-only ConfigMap mount in the Job)
    expect(readdirSync(jobDir).sort()).toEqual(["migrate.js", "seed.js"]);
  });

  test("bundled seed.js against an unmigrated database: exit 1, 'run migrations first'", async () => {
    const d = await freshDatabase();
    dbs.push(d);
    const jobDir = tmp("bb-job-");
    copyFileSync(join(out, "seed.js"), join(jobDir, "seed.js"));
    const r = await runScript(join(jobDir, "seed.js"), [], { env: jobEnv(d, svc.url), cwd: jobDir, runtime: [process.execPath] });
    expectExit(r, 1);
    expect(r.stderr).toContain("run migrations first");
  });
});
