/** Issue 16, item 5: every environment variable declared once (lib/config), parsed from an injected env, failing named. */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { loadConfig, readVar, REPO_ROOT, renderEnvTable, VARS } from "../../lib/config/index.ts";
import { startServer } from "../../server.ts";
import { expectExit } from "../helpers/exit.ts";
import { REPO, runScript } from "../helpers/run.ts";

describe("lib/config", () => {
  test("bad LOG_LEVEL and LOG_FORMAT are refused, naming the variable, what is allowed and what was given", () => {
    expect(() => readVar("LOG_LEVEL", { LOG_LEVEL: "verbose" })).toThrow('LOG_LEVEL must be one of debug|info|warn|error, got "verbose".');
    expect(() => readVar("LOG_FORMAT", { LOG_FORMAT: "xml" })).toThrow('LOG_FORMAT must be one of json|pretty, got "xml".');
    expect(readVar("LOG_LEVEL", { LOG_LEVEL: " WARN " })).toBe("warn");
    expect(readVar("LOG_LEVEL", {})).toBe("info");
    expect(readVar("LOG_FORMAT", { LOG_FORMAT: "" })).toBe("json"); // empty = unset
  });

  test("every problem at once; numbers, ports and booleans parsed; secrets never echoed", () => {
    expect(() => loadConfig({ LOG_LEVEL: "verbose", PORT: "http", SCHEDULER_ENABLED: "maybe" })).toThrow(
      'PORT must be a port number 0-65535 (0 = any free port), got "http". SCHEDULER_ENABLED must be true or false, got "maybe". LOG_LEVEL must be one of debug|info|warn|error, got "verbose".',
    );
    const cfg = loadConfig({ PORT: "0", SCHEDULER_ENABLED: "yes", BACKLOG_PG_RETRY_SECONDS: "2.5" });
    expect(cfg).toMatchObject({ PORT: 0, SCHEDULER_ENABLED: true, BACKLOG_PG_RETRY_SECONDS: 2.5, BACKLOG_MAX_BODY_KB: 256, POSTGRES_HOST: undefined });
    let message = "";
    try {
      readVar("BACKLOG_POSTGRES_DSN", { BACKLOG_POSTGRES_DSN: "mysql://u:hunter2@db/x" });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toBe(
      'BACKLOG_POSTGRES_DSN must be a postgres:// or postgresql:// URL, got "mysql://u:***@db/x". Example: postgresql://user:pass@host:5432/daarion (URL-encode reserved characters in the password: @ → %40, : → %3A, / → %2F).',
    );
  });

  test("relative paths are taken from the repository root, absolute ones kept", () => {
    expect(readVar("BACKLOG_ACCESS_FILE", { BACKLOG_ACCESS_FILE: "config/access.yml" })).toBe(join(REPO_ROOT, "config/access.yml"));
    expect(readVar("SCHEDULER_CRON_FILE", {})).toBe(join(REPO_ROOT, "ops/cron/jobs.cron"));
    expect(readVar("BACKLOG_TASK_REGISTRY_FILE", { BACKLOG_TASK_REGISTRY_FILE: "/etc/reg.yml" })).toBe("/etc/reg.yml");
    const paths = VARS.filter((s) => s.path).map((s) => s.name);
    expect(paths).toEqual(["BACKLOG_JSONL_DIR", "BACKLOG_POLICY_FILE", "BACKLOG_RISK_POLICY_FILE", "BACKLOG_ACCESS_FILE", "BACKLOG_REPORTS_DIR", "BACKLOG_TASK_REGISTRY_FILE", "SCHEDULER_CRON_FILE"]);
  });

  test("each variable is declared once, with a description", () => {
    const names = VARS.map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
    for (const s of VARS) expect({ name: s.name, described: s.description.length > 10 }).toEqual({ name: s.name, described: true });
  });

  test("README's environment table is the one rendered from the declarations", () => {
    expect(readFileSync(join(REPO, "README.md"), "utf8")).toContain(renderEnvTable());
  });

  test("lib/config is the only reader of process.env in lib/", () => {
    const readers: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const p = join(dir, name);
        if (statSync(p).isDirectory()) walk(p);
        else if (/\.tsx?$/.test(name) && readFileSync(p, "utf8").includes("process.env")) readers.push(relative(REPO, p));
      }
    };
    walk(join(REPO, "lib"));
    expect(readers).toEqual(["lib/config/index.ts"]);
  });
});

describe("entry points fail at start on a bad value", () => {
  test("a script with LOG_LEVEL=verbose exits 1 naming it, before any work", async () => {
    const r = await runScript("scripts/cleanup.ts", ["--dry-run"], { env: { LOG_LEVEL: "verbose", BACKLOG_BACKEND: "memory" } });
    expectExit(r, 1, "cleanup.ts with LOG_LEVEL=verbose");
    expect(r.stderr).toContain('error: LOG_LEVEL must be one of debug|info|warn|error, got "verbose".');
    expect(r.stdout).not.toContain('"removed"'); // no work done
  });

  test("the server with LOG_FORMAT=xml refuses to start, naming it", async () => {
    await expect(startServer({ env: { LOG_FORMAT: "xml", BACKLOG_BACKEND: "memory", PORT: "0" } })).rejects.toThrow('LOG_FORMAT must be one of json|pretty, got "xml".');
  });

  test("a relative BACKLOG_TASK_REGISTRY_FILE is found from any current directory", async () => {
    const elsewhere = mkdtempSync(join(tmpdir(), "bb-cwd-"));
    try {
      const r = await runScript(join(REPO, "scripts/check.ts"), [], { cwd: elsewhere, env: { BACKLOG_TASK_REGISTRY_FILE: "ops/task_registry.yml", BACKLOG_ACCESS_FILE: "config/access.yml" } });
      expectExit(r, 0, "check.ts from another directory");
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });
});
