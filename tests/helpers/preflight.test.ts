/** Issue 16, item 3: a missing external program stops the run at its start, named, with its install command. */
import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import process from "node:process";
import { missingPrograms, preflightReport, REQUIREMENTS } from "./preflight.ts";
import { REPO } from "./run.ts";

describe("preflight", () => {
  test("on this machine nothing is missing", () => {
    expect(missingPrograms()).toEqual([]);
  });

  test("every program missing: one line each, naming it and its install command", () => {
    const problems = missingPrograms({}, REQUIREMENTS, () => false);
    expect(problems.map((p) => p.split(" (")[0])).toEqual([
      "missing PostgreSQL initdb",
      "missing PostgreSQL pg_ctl",
      ...(process.getuid?.() === 0 ? ["missing runuser"] : []),
      "missing Chromium",
      "missing Deno 2",
      "missing systemd-analyze",
      "missing promtool",
      "missing Prometheus",
      "missing Alertmanager",
    ]);
    const line = (name: string) => problems.find((p) => p.startsWith(`missing ${name} `))!;
    for (const [name, install] of [
      ["PostgreSQL initdb", "apt-get install -y postgresql"],
      ["Chromium", "apt-get install -y chromium"],
      ["Deno 2", "npm ci"],
      ["systemd-analyze", "apt-get install -y systemd"],
      ["promtool", "apt-get install -y prometheus"],
      ["Prometheus", "apt-get install -y prometheus"],
      ["Alertmanager", "apt-get install -y prometheus-alertmanager"],
    ] as const) expect(line(name)).toContain(install);
    expect(line("Chromium")).toContain("looked in /usr/bin/chromium");
    expect(preflightReport(problems)).toStartWith(`preflight: the test suite drives real programs and ${problems.length} are missing; no test ran.\n  - missing PostgreSQL`);
  });

  test("an existing server (TEST_POSTGRES_DSN) needs no Postgres binaries; PG_BIN and CHROMIUM_PATH are where it looks", () => {
    const none = missingPrograms({ TEST_POSTGRES_DSN: "postgresql://x@127.0.0.1/db" }, REQUIREMENTS, () => false);
    expect(none.some((p) => p.includes("PostgreSQL"))).toBe(false);
    const seen: string[] = [];
    missingPrograms({ PG_BIN: "/opt/pg/bin", CHROMIUM_PATH: "/opt/chrome" }, REQUIREMENTS, (p) => (seen.push(p), false));
    expect(seen).toContain("/opt/pg/bin/initdb");
    expect(seen[0]).toBe("/opt/pg/bin/initdb");
    expect(seen).toContain("/opt/chrome");
  });

  test("a deno that is not Deno 2 is reported as unusable", () => {
    const problems = missingPrograms({ DENO_PATH: "/bin/echo" }, REQUIREMENTS.filter((r) => r.name === "Deno 2"));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toStartWith("unusable Deno 2: /bin/echo --version did not report Deno 2");
  });

  test("a run with Chromium missing stops before any test, naming it", () => {
    const r = spawnSync(process.execPath, ["test", "tests/core/isoweek.test.ts"], {
      cwd: REPO,
      encoding: "utf8",
      env: { ...process.env, CHROMIUM_PATH: "/nonexistent/chromium" },
      timeout: 60_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("preflight: the test suite drives real programs and one is missing; no test ran.");
    expect(r.stderr).toContain("missing Chromium (looked in /nonexistent/chromium), needed by the dashboard in a headless browser (tests/http): apt-get install -y chromium");
    expect(r.stdout + r.stderr).not.toContain("(pass)");
  });
});
