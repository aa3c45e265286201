/**
 * DSN shapes the driver mishandles on its own: an IPv6 literal host (postgres.js looked up "[") and a
 * URL that does not parse (it threw a bare "Invalid URL"). Both are users' DSNs; neither may print the password.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { connect, createServer, type Socket } from "node:net";
import { connectPg, ping, resolvePgConfig, type PgConfig } from "../../lib/pg/db.ts";
import { adminDsn } from "../helpers/pg.ts";

const PW = "Dsn-Sekr3t";

/** Opens the connection the config describes and runs a query on it. */
async function expectQueryable(cfg: PgConfig): Promise<void> {
  const sql = connectPg(cfg, { max: 1 });
  try {
    await ping(sql, cfg);
    expect((await sql`select 1 as one`)[0]).toEqual({ one: 1 });
  } finally {
    await sql.end({ timeout: 1 });
  }
}

describe("DSN shapes", () => {
  test("a DSN that is no valid URL is refused at configuration with a sentence, without its password", () => {
    for (const dsn of [`postgresql://u:${PW}@/db?host=/var/run/postgresql`, `postgresql://u:${PW}@db.example:notaport/db`]) {
      let msg = "";
      try {
        resolvePgConfig({ dsn }, {});
      } catch (err) {
        msg = (err as Error).message;
      }
      expect(msg).toContain("--dsn is not a valid URL");
      expect(msg).toContain("POSTGRES_HOST");
      expect(msg).not.toContain(PW);
      expect(() => resolvePgConfig({}, { BACKLOG_POSTGRES_DSN: dsn })).toThrow(/BACKLOG_POSTGRES_DSN is not a valid URL/);
    }
  });

  describe("an IPv6 literal host", () => {
    // A plain TCP forwarder on [::1] in front of the test cluster (which listens on 127.0.0.1 only).
    const target = new URL(adminDsn());
    const sockets = new Set<Socket>();
    const forwarder = createServer((client) => {
      const upstream = connect(Number(target.port), target.hostname);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on("error", () => {});
        s.on("close", () => sockets.delete(s));
      }
      client.pipe(upstream).pipe(client);
    });
    const listening = new Promise<number>((resolve) => forwarder.listen(0, "::1", () => resolve((forwarder.address() as { port: number }).port)));
    afterAll(async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => forwarder.close(r));
    });

    test("POSTGRES_HOST=::1 (or [::1]) connects to ::1, not to localhost over IPv4", async () => {
      const port = await listening;
      for (const host of ["::1", "[::1]"]) {
        const parts = { POSTGRES_HOST: host, POSTGRES_PORT: String(port), POSTGRES_USER: target.username, POSTGRES_PASSWORD: decodeURIComponent(target.password), POSTGRES_DB: target.pathname.slice(1) };
        await expectQueryable(resolvePgConfig({}, parts)!);
      }
    });

    test("postgresql://user:pass@[::1]:port/db connects", async () => {
      const port = await listening;
      const dsn = `postgresql://${target.username}:${target.password}@[::1]:${port}${target.pathname}`;
      await expectQueryable(resolvePgConfig({ dsn }, {})!);
    });
  });
});
