import { describe, expect, test } from "bun:test";
import { describePg, resolvePgConfig } from "../../lib/pg/db.ts";

describe("lib/pg/db resolvePgConfig precedence: --dsn → BACKLOG_POSTGRES_DSN → POSTGRES_DSN → parts", () => {
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
