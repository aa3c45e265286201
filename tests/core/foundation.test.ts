import { describe, expect, test } from "bun:test";
import { createLogger } from "../../lib/core/log.ts";
import { describePg, resolvePgConfig } from "../../lib/pg/db.ts";
import { redactDsn, redactText } from "../../lib/core/redact.ts";
import { findPgBin } from "../helpers/pg-cluster.ts";

describe("test harness", () => {
  test("missing Postgres binaries fail loudly with the install command", () => {
    expect(() => findPgBin(["/nonexistent/bin"])).toThrow(/apt-get install -y postgresql/);
  });
  test("the preload started (or was given) a real server", () => {
    expect(process.env.TEST_POSTGRES_DSN).toMatch(/^postgresql:\/\//);
  });
});

describe("lib/db resolvePgConfig precedence: --dsn → BACKLOG_POSTGRES_DSN → POSTGRES_DSN → parts", () => {
  const env = {
    BACKLOG_POSTGRES_DSN: "postgresql://a:pa@h1/db1",
    POSTGRES_DSN: "postgresql://b:pb@h2/db2",
    POSTGRES_HOST: "backlog-db",
    POSTGRES_PORT: "5433",
    POSTGRES_USER: "u",
    POSTGRES_PASSWORD: "secret-pw",
    POSTGRES_DB: "backlog",
  };
  test("explicit option wins", () => {
    expect(resolvePgConfig({ dsn: "postgresql://x:y@h0/db0" }, env)).toMatchObject({ source: "--dsn", dsn: "postgresql://x:y@h0/db0" });
  });
  test("then BACKLOG_POSTGRES_DSN, then POSTGRES_DSN", () => {
    expect(resolvePgConfig({}, env)?.source).toBe("BACKLOG_POSTGRES_DSN");
    const { BACKLOG_POSTGRES_DSN: _, ...rest } = env;
    expect(resolvePgConfig({}, rest)?.source).toBe("POSTGRES_DSN");
  });
  test("then the POSTGRES_* parts, redacted when described", () => {
    const parts = { POSTGRES_HOST: "backlog-db", POSTGRES_PORT: "5433", POSTGRES_USER: "u", POSTGRES_PASSWORD: "secret-pw", POSTGRES_DB: "backlog" };
    const cfg = resolvePgConfig({}, parts)!;
    expect(cfg).toMatchObject({ host: "backlog-db", port: 5433, user: "u", database: "backlog", connectTimeoutSeconds: 5 });
    expect(describePg(cfg)).toBe("postgresql://u:***@backlog-db:5433/backlog");
  });
  test("nothing configured → null; bad values are named", () => {
    expect(resolvePgConfig({}, {})).toBeNull();
    expect(() => resolvePgConfig({}, { POSTGRES_HOST: "h", POSTGRES_PORT: "abc" })).toThrow(/POSTGRES_PORT must be a port number/);
    expect(() => resolvePgConfig({}, { BACKLOG_PG_CONNECT_TIMEOUT: "-1" })).toThrow(/BACKLOG_PG_CONNECT_TIMEOUT/);
    expect(() => resolvePgConfig({ dsn: "mysql://u:pw@h/db" }, {})).toThrow(/must be a postgres:\/\//);
    expect(() => resolvePgConfig({ dsn: "mysql://u:pw@h/db" }, {})).not.toThrow(/pw@/);
  });
});

describe("redaction", () => {
  test("DSN passwords are masked, the rest stays readable", () => {
    expect(redactDsn("postgresql://user:pa55@db:5432/daarion")).toBe("postgresql://user:***@db:5432/daarion");
    expect(redactText("failed to reach postgres://u:x@h/d and password=hunter2")).toBe("failed to reach postgres://u:***@h/d and password=***");
  });
  test("logger masks secret fields and DSNs inside values", () => {
    const lines: string[] = [];
    const log = createLogger({ write: (l) => lines.push(l), now: () => new Date("2026-01-01T00:00:00Z") });
    log.info("connecting", { dsn: "postgresql://u:topsecret@h/d", password: "topsecret", api_key: "k-123", note: "via postgres://a:b@c/d" });
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain("topsecret");
    expect(lines[0]).not.toContain("k-123");
    expect(JSON.parse(lines[0]!)).toEqual({
      level: "info", event: "connecting", ts: "2026-01-01T00:00:00.000Z",
      dsn: "postgresql://u:***@h/d", password: "***", api_key: "***", note: "via postgres://a:***@c/d",
    });
  });
  test("levels filter and pretty format is one readable line", () => {
    const lines: string[] = [];
    const log = createLogger({ level: "warn", format: "pretty", write: (l) => lines.push(l), now: () => new Date(0) });
    log.info("hidden");
    log.warn("backlog_store: using JsonlBacklogStore", { reason: "down" });
    expect(lines).toEqual(["1970-01-01T00:00:00.000Z WARN  backlog_store: using JsonlBacklogStore  reason=down"]);
  });
});
