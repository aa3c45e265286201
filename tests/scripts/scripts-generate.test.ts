/**
 * scripts/generate.ts, cleanup.ts and tool.ts as child processes (the way cron and operators run them),
 * on the JSONL and the Postgres backend, with the fixture digest.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../../lib/core/log.ts";
import { openStore } from "../../lib/store/index.ts";
import type { BacklogStore } from "../../lib/store/types.ts";
import { freshDatabase, type TestDb } from "../helpers/pg.ts";
import { runScript, type RunResult } from "../helpers/run.ts";
import { expectExit } from "../helpers/exit.ts";

const FIXTURE = new URL("../fixtures/platform-2026-W47.json", import.meta.url).pathname;
const MISSING = "No platform digest found. Run architecture_pressure_tool.digest first.";

function json(r: RunResult): any {
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout); // stdout is only the result: logs went to stderr
}

interface Backend {
  name: string;
  env(): Record<string, string>;
  open(clock?: () => Date): Promise<BacklogStore>;
}

const tmp = mkdtempSync(join(tmpdir(), "bb-scripts-"));
const dbs: TestDb[] = [];
afterAll(async () => {
  rmSync(tmp, { recursive: true, force: true });
  for (const d of dbs) await d.drop();
});

function backends(): Backend[] {
  const jsonlDir = join(tmp, "jsonl");
  let db: TestDb | null = null;
  return [
    {
      name: "jsonl",
      env: () => ({ BACKLOG_BACKEND: "jsonl", BACKLOG_JSONL_DIR: jsonlDir }),
      open: (clock) => openStore({ backend: "jsonl", dir: jsonlDir, clock, log: silentLogger }, {}),
    },
    {
      name: "postgres",
      env: () => ({ BACKLOG_BACKEND: "postgres", BACKLOG_POSTGRES_DSN: db!.dsn }),
      open: async (clock) => {
        if (!db) dbs.push((db = await freshDatabase({ migrated: true })));
        return openStore({ backend: "postgres", dsn: db.dsn, clock, log: silentLogger }, {});
      },
    },
  ];
}

describe.each(backends())("scripts on $name", (backend) => {
  const reports = join(tmp, `reports-${backend.name}`);
  const policyFile = join(tmp, `policy-${backend.name}.yml`);
  let env: Record<string, string>;
  const run = (script: string, args: string[], extra: Record<string, string> = {}) => runScript(`scripts/${script}`, args, { env: { ...env, ...extra } });
  async function withStore<T>(fn: (s: BacklogStore) => Promise<T>, clock?: () => Date): Promise<T> {
    const s = await backend.open(clock);
    try {
      return await fn(s);
    } finally {
      await s.close();
    }
  }

  beforeAll(async () => {
    mkdirSync(join(reports, "platform"), { recursive: true });
    copyFileSync(FIXTURE, join(reports, "platform/2026-W47.json"));
    writeFileSync(policyFile, "ownership:\n  overrides:\n    gateway: team-edge\n");
    await withStore(async () => {}); // creates the database / directory
    env = { ...backend.env(), BACKLOG_REPORTS_DIR: reports, BACKLOG_POLICY_FILE: policyFile };
  });

  test("generate: dry run writes nothing; a run creates the items; a re-run creates none and keeps a changed owner", async () => {
    const dry = json(await run("generate.ts", ["--env", "prod", "--dry-run"]));
    expect(dry).toMatchObject({ env: "prod", week: "2026-W47", created: 10, updated: 0, unchanged: 0, capped: 0, dry_run: true });
    expect(await withStore((s) => s.list())).toEqual({ items: [], total: 0 });

    const first = await run("generate.ts", ["--week", "2026-W47"]);
    const created = json(first);
    expect(created).toMatchObject({ env: "prod", week: "2026-W47", created: 10, dry_run: false });
    expect(first.stderr).toContain('"event":"generate: done"');
    const byKey = await withStore(async (s) => new Map((await s.list({ limit: 100 })).items.map((i) => [i.dedupe_key, i])));
    expect(byKey.size).toBe(10);
    const gw = byKey.get("platform_backlog:2026-W47:prod:gateway:security")!;
    expect(gw).toMatchObject({ owner: "team-edge", priority: "P0", status: "open", source: "weekly_digest" });
    expect(byKey.get("platform_backlog:2026-W47:prod:auth:security")!.owner).toBe("oncall");
    expect((await withStore((s) => s.events(gw.id)))[0]).toMatchObject({ type: "created", actor: "cli" });

    // An operator moves the item (runbook 7: upsert with an explicit owner), then the job runs again.
    const moved = json(await run("tool.ts", ["backlog_tool", "upsert", "--params-json", JSON.stringify({ env: "prod", service: "gateway", category: "security", title: gw.title, dedupe_key: gw.dedupe_key, owner: "alice" })]));
    expect(moved).toMatchObject({ created: false, changed: true, item: { owner: "alice" } });
    const again = json(await run("generate.ts", []));
    expect(again).toMatchObject({ created: 0, updated: 0, unchanged: 10, dry_run: false });
    const after = await withStore(async (s) => (await s.list({ limit: 100 })).items);
    expect(after.length).toBe(10);
    expect(after.find((i) => i.id === gw.id)!.owner).toBe("alice");
  });

  test("cleanup removes exactly the old done/canceled items", async () => {
    const old = new Date(Date.now() - 400 * 86_400_000);
    const ids = await withStore(async (s) => {
      const out: Record<string, string> = {};
      for (const [key, status] of [["old-done", "done"], ["old-canceled", "canceled"], ["old-open", "open"], ["old-blocked", "blocked"]] as const) {
        const { item } = await s.upsert({ env: "prod", service: "svc", category: "tech_debt", title: key, priority: "P3", dedupe_key: key }, { actor: "test" });
        if (status !== "open") await s.setStatus(item.id, status, { actor: "test" });
        out[key] = item.id;
      }
      return out;
    }, () => old);
    await withStore(async (s) => {
      const { item } = await s.upsert({ env: "prod", service: "svc", category: "tech_debt", title: "recent", priority: "P3", dedupe_key: "recent-done" }, { actor: "test" });
      await s.setStatus(item.id, "done", { actor: "test" });
    });

    expect(json(await run("cleanup.ts", ["--dry-run"]))).toMatchObject({ removed: 2, retention_days: 180, dry_run: true });
    expect(await withStore((s) => s.get(ids["old-done"]!))).not.toBeNull();
    expect(json(await run("cleanup.ts", []))).toMatchObject({ removed: 2, retention_days: 180, dry_run: false });
    const keys = await withStore(async (s) => (await s.list({ limit: 100 })).items.map((i) => i.dedupe_key));
    expect(keys).toContain("old-open");
    expect(keys).toContain("old-blocked");
    expect(keys).toContain("recent-done");
    expect(keys).not.toContain("old-done");
    expect(keys).not.toContain("old-canceled");
    expect(keys.length).toBe(13);
    expect(json(await run("tool.ts", ["--call-json", '{ "tool": "backlog_tool", "action": "cleanup", "retention_days": 180 }']))).toMatchObject({ removed: 0 });
  });

  test("missing digest: exit 1 with the exact message, nothing written", async () => {
    const empty = join(tmp, `empty-${backend.name}`);
    mkdirSync(empty, { recursive: true });
    const before = await withStore((s) => s.list({ limit: 1 }));
    const r = await run("generate.ts", [], { BACKLOG_REPORTS_DIR: empty });
    expectExit(r, 1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(`error: ${MISSING}\n`);
    expect((await withStore((s) => s.list({ limit: 1 }))).total).toBe(before.total);
  });
});

describe("script errors (no store needed)", () => {
  const env = { BACKLOG_BACKEND: "memory", BACKLOG_REPORTS_DIR: join(tmp, "none") };

  test("unknown action and invalid params: exit 1, known actions / every bad field listed", async () => {
    const unknown = await runScript("scripts/tool.ts", ["backlog_tool", "purge"], { env });
    expectExit(unknown, 1);
    expect(unknown.stderr).toContain('error: Unknown action "purge" for backlog_tool. Known actions: list, get, dashboard, upsert, set_status, add_comment, snooze, auto_generate_weekly, auto_generate_daily, cleanup.');
    const bad = await runScript("scripts/tool.ts", ["backlog_tool", "auto_generate_weekly", "--params-json", '{"env":"qa","week":"2026-W54","x":1}'], { env });
    expectExit(bad, 1);
    expect(bad.stderr).toContain('env: expected one of prod|staging|dev, got "qa"');
    expect(bad.stderr).toContain('week: must be an ISO week like 2026-W47 (W53 only in 53-week years), got "2026-W54"');
    expect(bad.stderr).toContain('x: unknown parameter "x" (allowed: env, week, dry_run)');
    expect(bad.stderr).not.toContain("backlog_store: using"); // refused before opening the store
    const flags = await runScript("scripts/generate.ts", ["--daily", "--week", "2026-W47"], { env });
    expectExit(flags, 1);
    expect(flags.stderr).toContain("--week is for weekly generation; with --daily use --date YYYY-MM-DD.");
    const days = await runScript("scripts/cleanup.ts", ["--retention-days", "ten"], { env });
    expect(days.stderr).toContain('--retention-days: expected a whole number of days (1-36500), got "ten".');
  });

  test("an invalid policy stops every script with the file, key and line", async () => {
    const bad = join(tmp, "bad-policy.yml");
    writeFileSync(bad, "categories:\n  security:\n    priority: P9\n");
    for (const script of ["generate.ts", "cleanup.ts"]) {
      const r = await runScript(`scripts/${script}`, [], { env: { ...env, BACKLOG_POLICY_FILE: bad } });
      expectExit(r, 1);
      expect(r.stderr).toContain(`${bad} is invalid:`);
      expect(r.stderr).toContain('categories.security.priority: expected one of P0|P1|P2|P3, got "P9" (line 3)');
    }
  });

  test("--help answers on stdout with exit 0", async () => {
    for (const script of ["generate.ts", "cleanup.ts", "tool.ts"]) {
      const r = await runScript(`scripts/${script}`, ["--help"], { env });
      expectExit(r, 0);
      expect(r.stdout).toStartWith(`Usage: npx bun run scripts/${script}`);
    }
  });
});
