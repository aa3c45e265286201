/** resolveStoreConfig precedence (option → env → default) and errors; openStore for each backend. */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../../lib/core/log.ts";
import { AutoBacklogStore } from "../../lib/store/auto/store.ts";
import { REPO_ROOT } from "../../lib/config/index.ts";
import { DEFAULT_JSONL_DIR, openStore, resolveStoreConfig } from "../../lib/store/index.ts";
import { JsonlBacklogStore } from "../../lib/store/jsonl/store.ts";
import { MemoryBacklogStore } from "../../lib/store/memory.ts";
import { PostgresBacklogStore } from "../../lib/store/postgres/store.ts";
import { freshDatabase, type TestDb } from "../helpers/pg.ts";

const dirs: string[] = [];
const dbs: TestDb[] = [];
afterAll(async () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  for (const d of dbs) await d.drop();
});

describe("resolveStoreConfig", () => {
  test("defaults: auto, no Postgres, <repo>/ops/backlog, retry every 300 s", () => {
    const cfg = resolveStoreConfig({}, {});
    expect(cfg).toMatchObject({ backend: "auto", pg: null, dir: DEFAULT_JSONL_DIR, retrySeconds: 300 });
    expect(DEFAULT_JSONL_DIR).toBe(join(REPO_ROOT, "ops/backlog"));
    expect(cfg.sources).toEqual({ backend: "default", dir: "default", retrySeconds: "default" });
  });

  test("option beats env beats default, for every setting", () => {
    const env = {
      BACKLOG_BACKEND: "jsonl",
      BACKLOG_JSONL_DIR: "/var/lib/backlog",
      BACKLOG_PG_RETRY_SECONDS: "30",
      BACKLOG_POSTGRES_DSN: "postgresql://env:pw@envhost/db",
    };
    expect(resolveStoreConfig({}, env)).toMatchObject({ backend: "jsonl", dir: "/var/lib/backlog", retrySeconds: 30, pg: null });
    const cfg = resolveStoreConfig({ backend: "auto", dir: "/tmp/x", retrySeconds: 1, dsn: "postgresql://opt:pw@opthost/db" }, env);
    expect(cfg).toMatchObject({ backend: "auto", dir: "/tmp/x", retrySeconds: 1 });
    expect(cfg.pg).toMatchObject({ source: "--dsn", dsn: "postgresql://opt:pw@opthost/db" });
    expect(resolveStoreConfig({ backend: "auto" }, env).pg).toMatchObject({ source: "BACKLOG_POSTGRES_DSN" });
    expect(resolveStoreConfig({ backend: "auto" }, { POSTGRES_DSN: "postgresql://u@h/d" }).pg).toMatchObject({ source: "POSTGRES_DSN" });
    expect(resolveStoreConfig({ backend: "postgres" }, { POSTGRES_HOST: "db", POSTGRES_USER: "u" }).pg).toMatchObject({ host: "db", port: 5432 });
  });

  test("a relative BACKLOG_JSONL_DIR is under the repository root, not the current directory; an explicit dir is taken as given", () => {
    expect(resolveStoreConfig({}, { BACKLOG_JSONL_DIR: "data/backlog" }).dir).toBe(join(REPO_ROOT, "data/backlog"));
    expect(resolveStoreConfig({ dir: "rel/dir" }, {}).dir).toBe(join(process.cwd(), "rel/dir"));
  });

  test("backend names are checked; the error lists what is allowed and what was given", () => {
    expect(resolveStoreConfig({}, { BACKLOG_BACKEND: " Postgres ", POSTGRES_DSN: "postgresql://u@h/d" }).backend).toBe("postgres");
    expect(() => resolveStoreConfig({}, { BACKLOG_BACKEND: "sqlite" })).toThrow('BACKLOG_BACKEND must be one of auto|postgres|jsonl|memory, got "sqlite".');
    expect(() => resolveStoreConfig({ backend: "mongo" }, {})).toThrow(/option backend must be one of auto\|postgres\|jsonl\|memory, got "mongo"/);
  });

  test("postgres without any DSN names every variable that would configure it", () => {
    const err = (() => {
      try {
        resolveStoreConfig({}, { BACKLOG_BACKEND: "postgres" });
      } catch (e) {
        return e as Error & { code: string };
      }
    })()!;
    expect(err.code).toBe("config");
    for (const name of ["BACKLOG_POSTGRES_DSN", "POSTGRES_DSN", "POSTGRES_HOST", "--dsn"]) expect(err.message).toContain(name);
  });

  test("bad retry periods and DSNs are refused with the variable's name; jsonl/memory ignore Postgres settings", () => {
    expect(() => resolveStoreConfig({}, { BACKLOG_PG_RETRY_SECONDS: "soon" })).toThrow(/BACKLOG_PG_RETRY_SECONDS must be a number of seconds .* got "soon"/);
    expect(() => resolveStoreConfig({}, { BACKLOG_PG_RETRY_SECONDS: "0" })).toThrow(/BACKLOG_PG_RETRY_SECONDS/);
    expect(() => resolveStoreConfig({ retrySeconds: -1 }, {})).toThrow(/option retrySeconds/);
    expect(() => resolveStoreConfig({}, { BACKLOG_POSTGRES_DSN: "mysql://u:pw@h/d" })).toThrow(/BACKLOG_POSTGRES_DSN must be a postgres/);
    expect(resolveStoreConfig({}, { BACKLOG_BACKEND: "jsonl", BACKLOG_POSTGRES_DSN: "mysql://u:pw@h/d" }).pg).toBeNull();
  });
});

describe("openStore", () => {
  const capture = () => {
    const lines: { level: string; event: string }[] = [];
    return { lines, log: createLogger({ write: (l) => lines.push(JSON.parse(l)) }) };
  };

  test("memory and jsonl open the runbook's classes and log which one", async () => {
    const mem = capture();
    const m = await openStore({ backend: "memory", log: mem.log }, {});
    expect(m).toBeInstanceOf(MemoryBacklogStore);
    expect(mem.lines).toEqual([expect.objectContaining({ level: "info", event: "backlog_store: using MemoryBacklogStore" })]);

    const dir = mkdtempSync(join(tmpdir(), "bb-open-"));
    dirs.push(dir);
    const js = capture();
    const j = await openStore({ log: js.log }, { BACKLOG_BACKEND: "jsonl", BACKLOG_JSONL_DIR: join(dir, "nested") });
    expect(j).toBeInstanceOf(JsonlBacklogStore);
    expect(js.lines[0]).toMatchObject({ level: "info", event: "backlog_store: using JsonlBacklogStore", dir: join(dir, "nested") });
    await j.upsert({ env: "dev", service: "s", category: "c", title: "t", priority: "P3", dedupe_key: "k" }, { actor: "a" });
    await j.close();
  });

  test("jsonl on a directory that cannot be created fails at open, naming it", async () => {
    const err = await openStore({ backend: "jsonl", dir: "/proc/nope/backlog", log: capture().log }, {}).catch((e) => e);
    expect(err.code).toBe("unavailable");
    expect(err.message).toContain("/proc/nope/backlog");
  });

  test("postgres opens a pinged store; an unreachable server is an error naming the target without its password", async () => {
    const db = await freshDatabase({ migrated: true });
    dbs.push(db);
    const pg = capture();
    const s = await openStore({ log: pg.log }, { BACKLOG_BACKEND: "postgres", POSTGRES_DSN: db.dsn });
    expect(s).toBeInstanceOf(PostgresBacklogStore);
    expect(pg.lines[0]).toMatchObject({ level: "info", event: "backlog_store: using PostgresBacklogStore" });
    expect(JSON.stringify(pg.lines)).not.toContain("test-secret-pw");
    expect((await s.health()).degraded).toBe(false);
    await s.close();

    const err = await openStore({ log: capture().log }, { BACKLOG_BACKEND: "postgres", BACKLOG_POSTGRES_DSN: "postgresql://u:hunter2@127.0.0.1:1/x", BACKLOG_PG_CONNECT_TIMEOUT: "2" }).catch((e) => e);
    expect(err.code).toBe("unavailable");
    expect(err.message).toContain("postgresql://u:***@127.0.0.1:1/x");
    expect(err.message).not.toContain("hunter2");
  });

  test("auto without any Postgres settings is plain JSONL: a warning with the reason, not degraded", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bb-open-"));
    dirs.push(dir);
    const a = capture();
    const s = await openStore({ log: a.log, dir }, {});
    expect(s).toBeInstanceOf(AutoBacklogStore);
    expect(s.name).toBe("JsonlBacklogStore");
    expect(a.lines).toEqual([expect.objectContaining({ level: "warn", event: "backlog_store: using JsonlBacklogStore", degraded: false })]);
    expect(await s.health()).toMatchObject({ backend: "JsonlBacklogStore", degraded: false });
    // Unknown ids are simply not found here: there is no Postgres that could hold them.
    await expect(s.setStatus("bl_nope", "done", { actor: "a" })).rejects.toMatchObject({ code: "not_found" });
    await s.close();
  });
});
