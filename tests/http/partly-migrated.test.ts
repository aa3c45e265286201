/**
 * A partly migrated database (the backlog tables only: what the store's open check needs) behind the
 * real server.ts, on the default backend (auto, with a DSN) and on postgres: /readyz says not ready and
 * names the missing migrations, and the routes that read other tables answer 503 naming the fix, never
 * a 500 with a driver stack. After the migrations, ready and 200.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { loadMigrations, migrate } from "../../lib/pg/migrate.ts";
import { freshDatabase, type TestDb } from "../helpers/pg.ts";
import { tempDir } from "../helpers/tmp.ts";
import { ACCESS_ENV, KEYS } from "./harness.ts";
import { startServer, type SpawnedServer } from "./server-spawn.ts";

const READS = ["/metrics", "/v1/backlog/dashboard?env=prod", "/dashboard?env=prod", "/v1/scheduler/jobs"];

for (const backend of ["auto", "postgres"]) {
  describe(`${backend}: partly migrated`, () => {
    let db: TestDb;
    let srv: SpawnedServer;
    beforeAll(async () => {
      db = await freshDatabase();
      await migrate(db.sql, (await loadMigrations()).filter((m) => ["000001_backlog.sql", "000005_auto_replay.sql"].includes(m.name)));
      srv = await startServer({ ...ACCESS_ENV, PORT: "0", BACKLOG_BACKEND: backend, BACKLOG_POSTGRES_DSN: db.dsn, BACKLOG_JSONL_DIR: tempDir("bb-partly-") });
    });
    afterAll(async () => {
      srv?.child.kill("SIGTERM");
      await srv?.exited;
      await db?.drop();
    });

    test("/readyz 503 naming the missing migrations; the other reads 503 naming the fix; after migrating, ready and 200", async () => {
      const ready = await fetch(`${srv.url}/readyz`);
      const body = (await ready.json()) as { ready: boolean; detail: string };
      expect([ready.status, body.ready]).toEqual([503, false]);
      expect(body.detail).toContain("is not fully migrated (missing 000002_setup_job.sql, 000003_scheduler_runs.sql");
      expect(body.detail).toContain("npx bun run scripts/migrate.ts");

      const auth = { authorization: `Bearer ${KEYS.reader}` };
      for (const path of READS) {
        const res = await fetch(srv.url + path, { headers: auth });
        const text = await res.text();
        expect({ path, status: res.status }).toEqual({ path, status: 503 });
        expect({ path, text }).toEqual({ path, text: expect.stringMatching(/migrat/) });
      }
      expect(srv.output()).not.toContain('"stack"');
      expect(srv.output()).not.toContain(new URL(db.dsn).password);

      await migrate(db.sql, await loadMigrations());
      expect((await fetch(`${srv.url}/readyz`)).status).toBe(200);
      for (const path of READS) expect({ path, status: (await fetch(srv.url + path, { headers: auth })).status }).toEqual({ path, status: 200 });
    });
  });
}
