/**
 * The first thing a test run does (tests/helpers/preload.ts): check every external program the suite
 * drives for real, and stop in the first seconds with one line per missing piece and its install command,
 * instead of a `(fail) (unnamed)` minutes later. Nothing is skipped: a missing program fails the run.
 * The paths here are the ones the suites use (they import them from this file or name the same defaults).
 */
import { spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { REPO } from "./run.ts";

export interface Requirement {
  name: string;
  /** Which tests need it. */
  for: string;
  /** Where it is looked for, first hit wins. */
  paths: (env: Env) => string[];
  /** The command that installs it on Debian/Ubuntu (or the project's own step). */
  install: string;
  /** Extra check on the found file (e.g. the major version); returns a problem or null. */
  verify?: (path: string) => string | null;
  /** Not needed in this configuration (e.g. Postgres when TEST_POSTGRES_DSN points at a server). */
  unless?: (env: Env) => boolean;
}

type Env = Record<string, string | undefined>;

export const PG_DIRS = (env: Env) => [env.PG_BIN, "/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/17/bin"].filter((d): d is string => !!d);
export const chromiumPath = (env: Env = process.env) => env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const denoPath = (env: Env = process.env) => env.DENO_PATH ?? join(REPO, "node_modules/.bin/deno");

export const REQUIREMENTS: Requirement[] = [
  {
    name: "PostgreSQL initdb",
    for: "every Postgres test (a throwaway cluster per run)",
    paths: (env) => PG_DIRS(env).map((d) => join(d, "initdb")),
    install: "apt-get install -y postgresql (or set PG_BIN, or TEST_POSTGRES_DSN to a server whose role has CREATEDB)",
    unless: (env) => !!env.TEST_POSTGRES_DSN,
  },
  {
    name: "PostgreSQL pg_ctl",
    for: "every Postgres test",
    paths: (env) => PG_DIRS(env).map((d) => join(d, "pg_ctl")),
    install: "apt-get install -y postgresql (or set PG_BIN)",
    unless: (env) => !!env.TEST_POSTGRES_DSN,
  },
  {
    name: "runuser",
    for: "the throwaway Postgres when the tests run as root (initdb refuses root)",
    paths: (env) => (env.PATH ?? "").split(":").filter(Boolean).map((d) => join(d, "runuser")),
    install: "apt-get install -y util-linux (and /usr/sbin on PATH)",
    unless: (env) => !!env.TEST_POSTGRES_DSN || !(typeof process.getuid === "function" && process.getuid() === 0),
  },
  {
    name: "Chromium",
    for: "the dashboard in a headless browser (tests/http)",
    paths: (env) => [chromiumPath(env)],
    install: "apt-get install -y chromium (or set CHROMIUM_PATH)",
  },
  {
    name: "Deno 2",
    for: "every script under Deno (tests/deploy/deno.test.ts)",
    paths: (env) => [denoPath(env)],
    install: "npm ci (the npm package deno brings its binary; or set DENO_PATH)",
    verify: (path) => {
      const v = spawnSync(path, ["--version"], { encoding: "utf8", timeout: 20_000 });
      return v.status === 0 && /^deno 2\./.test(v.stdout) ? null : `${path} --version did not report Deno 2: ${(v.stdout + v.stderr + (v.error?.message ?? "")).trim().split("\n")[0]}`;
    },
  },
  {
    name: "systemd-analyze",
    for: "the systemd unit check (tests/deploy/systemd.test.ts)",
    paths: () => ["/usr/bin/systemd-analyze"],
    install: "apt-get install -y systemd",
  },
  {
    name: "promtool",
    for: "the alert rules (tests/alerting)",
    paths: () => ["/usr/bin/promtool"],
    install: "apt-get install -y prometheus",
  },
  {
    name: "Prometheus",
    for: "the end-to-end alert test (tests/alerting)",
    paths: () => ["/usr/bin/prometheus"],
    install: "apt-get install -y prometheus",
  },
  {
    name: "Alertmanager",
    for: "the end-to-end alert test (tests/alerting)",
    paths: () => ["/usr/bin/prometheus-alertmanager"],
    install: "apt-get install -y prometheus-alertmanager",
  },
];

const executable = (p: string) => {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** One line per missing or unusable program; empty when everything is there. */
export function missingPrograms(env: Env = process.env, reqs = REQUIREMENTS, isExecutable = executable): string[] {
  const problems: string[] = [];
  for (const r of reqs) {
    if (r.unless?.(env)) continue;
    const candidates = r.paths(env);
    const found = candidates.find(isExecutable);
    if (!found) {
      problems.push(`missing ${r.name} (looked in ${candidates.join(", ")}), needed by ${r.for}: ${r.install}`);
      continue;
    }
    const bad = r.verify?.(found);
    if (bad) problems.push(`unusable ${r.name}: ${bad}, needed by ${r.for}: ${r.install}`);
  }
  return problems;
}

/** The message a run stops with: every missing program at once, so one run shows all of them. */
export function preflightReport(problems: string[]): string {
  return (
    `preflight: the test suite drives real programs and ${problems.length === 1 ? "one is" : `${problems.length} are`} missing; no test ran.\n` +
    problems.map((p) => `  - ${p}\n`).join("") +
    "(.ci/run installs the Debian packages on a fresh machine.)\n"
  );
}
