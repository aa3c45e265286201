import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, writeFileSync, appendFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { loadMigrations, migrate, migrationStatus } from "../../lib/pg/migrate.ts";
import { freshDatabase, type TestDb } from "../helpers/pg.ts";
import { REPO, runScript } from "../helpers/run.ts";

// Derived from the files, so adding a migration does not break these tests.
const FILES = (await loadMigrations()).map((m) => m.name);
const N = FILES.length;
import { TEST_PG_PASSWORD, freePort } from "../helpers/pg-cluster.ts";
import { tempDir } from "../helpers/tmp.ts";
import { expectExit } from "../helpers/exit.ts";
import { lossyProxy } from "../helpers/lossy-proxy.ts";

const dbs: TestDb[] = [];
async function db() {
  const d = await freshDatabase();
  dbs.push(d);
  return d;
}
afterAll(async () => {
  for (const d of dbs) await d.drop();
});

async function ledger(d: TestDb) {
  return d.sql<{ name: string }[]>`select name from backlog_migrations order by name`;
}

describe("migrate (library)", () => {
  test("fresh apply creates every table and one ledger row per file; a re-run applies nothing", async () => {
    const d = await db();
    const files = await loadMigrations();
    const first = await migrate(d.sql, files);
    expect(first.applied).toEqual(files.map((f) => f.name));
    const tables = await d.sql<{ t: string }[]>`
      select table_name as t from information_schema.tables where table_schema = 'public' order by 1`;
    expect(tables.map((r) => r.t)).toEqual(
      expect.arrayContaining(["backlog_events", "backlog_items", "backlog_migrations", "stories", "story_tasks", "tasks"]),
    );
    const second = await migrate(d.sql, files);
    expect(second).toEqual({ applied: [], alreadyApplied: files.length });
    expect((await ledger(d)).map((r) => r.name)).toEqual(files.map((f) => f.name));
  });

  test("the runbook's indexes exist", async () => {
    const d = await db();
    await migrate(d.sql, await loadMigrations());
    const idx = await d.sql<{ indexdef: string }[]>`select indexdef from pg_indexes where schemaname = 'public'`;
    const defs = idx.map((r) => r.indexdef).join("\n");
    for (const cols of ["(env, status)", "(service)", "(due_date)", "(owner)", "(category)", "(item_id)", "(ts)", "(dedupe_key)"]) {
      expect(defs).toContain(cols);
    }
  });

  test("concurrent migrators serialise: every file applied exactly once", async () => {
    const d = await db();
    const files = await loadMigrations();
    // four independent pools racing on the same database
    const { default: postgres } = await import("postgres");
    const sqls = [0, 1, 2, 3].map(() => postgres(d.dsn, { max: 2, onnotice: () => {} }));
    const results = await Promise.all(sqls.map((s) => migrate(s as never, files)));
    await Promise.all(sqls.map((s) => s.end()));
    const appliedCounts = files.map((f) => results.filter((r) => r.applied.includes(f.name)).length);
    expect(appliedCounts).toEqual(files.map(() => 1));
    expect((await ledger(d)).length).toBe(files.length);
  });

  test("constraints reject a bad status and a bad priority", async () => {
    const d = await db();
    await migrate(d.sql, await loadMigrations());
    const row = (status: string, priority: string, key: string) => d.sql`
      insert into backlog_items (id, env, service, category, title, priority, status, owner, dedupe_key)
      values (${"bl_" + key}, 'prod', 'gateway', 'security', 't', ${priority}, ${status}, 'oncall', ${key})`;
    await row("open", "P1", "ok1");
    await expect(row("wontfix", "P1", "bad1")).rejects.toThrow(/check constraint/);
    await expect(row("open", "P9", "bad2")).rejects.toThrow(/check constraint/);
    await expect(row("open", "P1", "ok1")).rejects.toThrow(/duplicate key/);
  });

  test("events cascade when their item is deleted", async () => {
    const d = await db();
    await migrate(d.sql, await loadMigrations());
    await d.sql`insert into backlog_items (id, env, service, category, title, priority, dedupe_key)
                values ('bl_x', 'prod', 's', 'c', 't', 'P2', 'k')`;
    await d.sql`insert into backlog_events (id, item_id, type, actor) values ('ev_1', 'bl_x', 'created', 'test')`;
    await d.sql`delete from backlog_items where id = 'bl_x'`;
    expect((await d.sql`select * from backlog_events`).length).toBe(0);
  });
});

describe("scripts/migrate.ts", () => {
  test("--dry-run --dsn prints the pending SQL and changes nothing", async () => {
    const d = await db();
    const r = await runScript("scripts/migrate.ts", ["--dry-run", "--dsn", d.dsn]);
    expectExit(r, 0);
    expect(r.stdout).toContain("-- 000001_backlog.sql (pending)");
    expect(r.stdout).toContain("create table backlog_items");
    const [row] = await d.sql<{ reg: string | null }[]>`select to_regclass('public.backlog_migrations')::text as reg`;
    const reg = row!.reg;
    expect(reg).toBeNull();
  });

  test("apply twice via env DSN: one ledger row per file, second run says nothing to apply", async () => {
    const d = await db();
    const env = { BACKLOG_POSTGRES_DSN: d.dsn };
    const a = await runScript("scripts/migrate.ts", [], { env });
    expectExit(a, 0);
    expect(a.stdout).toContain(`Applied ${N} migrations.`);
    const b = await runScript("scripts/migrate.ts", [], { env });
    expectExit(b, 0);
    expect(b.stdout).toContain(`Nothing to apply: ${N} migrations already applied.`);
    expect((await ledger(d)).length).toBe(N);
    // passwords never printed
    expect(a.stdout + a.stderr + b.stdout + b.stderr).not.toContain(TEST_PG_PASSWORD);
  });

  test("two concurrent processes apply each file once", async () => {
    const d = await db();
    const env = { POSTGRES_DSN: d.dsn };
    const [a, b] = await Promise.all([runScript("scripts/migrate.ts", [], { env }), runScript("scripts/migrate.ts", [], { env })]);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect((await ledger(d)).length).toBe(N);
  });

  test("--status lists applied and pending", async () => {
    const d = await db();
    const before = await runScript("scripts/migrate.ts", ["--status", "--dsn", d.dsn]);
    expect(JSON.parse(before.stdout).pending).toEqual(FILES);
    await runScript("scripts/migrate.ts", ["--dsn", d.dsn]);
    const after = JSON.parse((await runScript("scripts/migrate.ts", ["--status", "--dsn", d.dsn])).stdout);
    expect(after.pending).toEqual([]);
    expect(after.applied.map((r: { name: string }) => r.name)).toEqual(FILES);
    expect(after.target).not.toContain(TEST_PG_PASSWORD);
  });

  test("an applied file that was edited is an error naming the file", async () => {
    const d = await db();
    const dir = tempDir("bb-mig-");
    cpSync(join(REPO, "migrations"), dir, { recursive: true });
    expectExit(await runScript("scripts/migrate.ts", ["--dsn", d.dsn, "--dir", dir]), 0);
    appendFileSync(join(dir, "000001_backlog.sql"), "\n-- sneaky edit\n");
    const r = await runScript("scripts/migrate.ts", ["--dsn", d.dsn, "--dir", dir]);
    expectExit(r, 1);
    expect(r.stderr).toContain("Migration 000001_backlog.sql was edited after it was applied");
  });

  test("a SQL error names the file and line, and rolls that file back", async () => {
    const d = await db();
    const dir = tempDir("bb-mig-");
    cpSync(join(REPO, "migrations"), dir, { recursive: true });
    writeFileSync(join(dir, "999999_broken.sql"), "create table ok_before (id int);\n\ncreate tabel broken (id int);\n");
    const r = await runScript("scripts/migrate.ts", ["--dsn", d.dsn, "--dir", dir]);
    expectExit(r, 1);
    expect(r.stderr).toContain("Migration 999999_broken.sql failed at line 3 (create tabel broken (id int);)");
    const [row] = await d.sql<{ reg: string | null }[]>`select to_regclass('public.ok_before')::text as reg`;
    const reg = row!.reg;
    expect(reg).toBeNull();
    expect((await ledger(d)).length).toBe(N);
  });

  test("a bad password is a clear error without the password", async () => {
    const d = await db();
    const bad = d.dsn.replace(TEST_PG_PASSWORD, "wrong-pass-123");
    const r = await runScript("scripts/migrate.ts", ["--dsn", bad]);
    expectExit(r, 1);
    expect(r.stderr).toContain("rejected the credentials");
    expect(r.stdout + r.stderr).not.toContain("wrong-pass-123");
  });

  test("the connection dies in the middle of a migration: a clear error, no stack trace, that file rolled back; the next run applies it", async () => {
    // postgres.js wrote the transaction's ROLLBACK on the closed socket from a setImmediate: an uncaught
    // TypeError and its stack were the script's last words (lib/pg/begin-safely.ts).
    const d = await db();
    const proxy = await lossyProxy(d.dsn);
    try {
      const lost = proxy.loseRequest("create table tasks");
      const run = runScript("scripts/migrate.ts", ["--dsn", proxy.dsn]);
      await lost.happened;
      lost.cut();
      const r = await run;
      expectExit(r, 1);
      expect(r.stderr).not.toMatch(/TypeError|\n\s+at |socket\.write/);
      expect(r.stderr).toContain(`Lost the connection to Postgres while applying ${FILES[1]}`);
      expect(r.stderr).toContain("Run migrate again once Postgres answers.");
      expect(r.stdout + r.stderr).not.toContain(TEST_PG_PASSWORD);
      expect((await ledger(d)).map((x) => x.name)).toEqual(FILES.slice(0, 1));
      expectExit(await runScript("scripts/migrate.ts", ["--dsn", d.dsn]), 0);
      expect((await ledger(d)).map((x) => x.name)).toEqual(FILES);
    } finally {
      await proxy.close();
    }
  });

  test("connection refused is reported at once with the redacted target", async () => {
    const port = await freePort();
    const r = await runScript("scripts/migrate.ts", ["--dsn", `postgresql://u:hunter2@127.0.0.1:${port}/db`]);
    expectExit(r, 1);
    expect(r.stderr).toContain(`Cannot connect to Postgres at postgresql://u:***@127.0.0.1:${port}/db`);
    expect(r.stderr).toContain("connection refused");
    expect(r.stdout + r.stderr).not.toContain("hunter2");
  });

  describe("a server that accepts but never answers", () => {
    let server: Server;
    let port: number;
    beforeAll(async () => {
      server = createServer(() => {}); // swallow: never speak the protocol
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      port = (server.address() as { port: number }).port;
    });
    afterAll(() => server.close());

    test("fails within BACKLOG_PG_CONNECT_TIMEOUT instead of hanging", async () => {
      const r = await runScript("scripts/migrate.ts", ["--dsn", `postgresql://u:p@127.0.0.1:${port}/db`], {
        env: { BACKLOG_PG_CONNECT_TIMEOUT: "1" },
        timeoutMs: 30_000,
      });
      // The message names the configured 1 s, not the driver's default; a hang is killed at timeoutMs
      // (exit code null), so the exit check fails then: no wall-clock assertion needed.
      expectExit(r, 1);
      expect(r.stderr).toContain("no answer within 1s");
    });
  });

  test("dry-run without any database prints every migration", async () => {
    const r = await runScript("scripts/migrate.ts", ["--dry-run"]);
    expectExit(r, 0);
    expect(r.stdout).toContain("no database given");
    expect(r.stdout).toContain("-- 000002_setup_job.sql");
  });

  test("status of an unmigrated database via the library", async () => {
    const d = await db();
    const s = await migrationStatus(d.sql, await loadMigrations());
    expect(s.applied).toEqual([]);
    expect(s.pending.length).toBe(N);
  });
});
