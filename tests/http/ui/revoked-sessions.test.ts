/**
 * Signing out on one replica ends the session on the others: two apps (two replicas) with one session
 * secret over one shared backend — JSONL (two stores on one directory) and Postgres (two pools on one
 * database). Then the JSONL file stays bounded (rewritten without expired sign-outs) and another process
 * reading it through the rewrite still sees what is revoked.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../../../lib/core/log.ts";
import { JsonlRevokedSessions, openRevokedSessions, REVOKED_FILE } from "../../../lib/http/ui/revoked-sessions.ts";
import { resolvePgConfig } from "../../../lib/pg/db.ts";
import { JsonlBacklogStore } from "../../../lib/store/jsonl/store.ts";
import { PostgresBacklogStore } from "../../../lib/store/postgres/store.ts";
import type { BacklogStore } from "../../../lib/store/types.ts";
import { freshDatabase, type TestDb } from "../../helpers/pg.ts";
import { csrfOf, FORM, login, uiApp } from "./ui-app.ts";

const NOW = new Date("2026-11-23T10:00:00Z");
const dirs: string[] = [];
const dbs: TestDb[] = [];
const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of closers) await c();
  for (const d of dbs) await d.drop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "bb-ui-revoked-"));
  dirs.push(d);
  return d;
};

const backends: Record<string, () => Promise<[BacklogStore, BacklogStore]>> = {
  JSONL: async () => {
    const dir = tempDir();
    const mk = () => new JsonlBacklogStore({ dir, clock: () => NOW, log: silentLogger });
    const stores: [BacklogStore, BacklogStore] = [mk(), mk()];
    closers.push(...stores.map((s) => () => s.close()));
    return stores;
  },
  Postgres: async () => {
    const db = await freshDatabase({ migrated: true });
    dbs.push(db);
    const mk = () => new PostgresBacklogStore({ config: resolvePgConfig({ dsn: db.dsn }, {})!, clock: () => NOW, log: silentLogger });
    const stores: [BacklogStore, BacklogStore] = [mk(), mk()];
    closers.push(...stores.map((s) => () => s.close()));
    return stores;
  },
};

for (const [label, open] of Object.entries(backends)) {
  test(`${label}: a sign-out on one replica ends the session on the other`, async () => {
    const [sa, sb] = await open();
    const a = (await uiApp({ store: sa, revoked: openRevokedSessions(sa) })).app;
    const b = (await uiApp({ store: sb, revoked: openRevokedSessions(sb) })).app;
    const { session } = await login(a);
    const other = (await login(a)).session!; // a second browser of the same agent
    const onB = async (cookie: string) => (await b.request("/ui", { headers: { cookie } })).status;
    expect(await onB(session!)).toBe(200);

    const csrf = csrfOf(await (await a.request("/ui", { headers: { cookie: session! } })).text());
    const out = await a.request("http://localhost/ui/logout", { method: "POST", headers: { ...FORM, cookie: session! }, body: new URLSearchParams({ csrf }) });
    expect(out.status).toBe(303);
    expect(await onB(session!)).toBe(303); // to the sign-in page
    expect((await a.request("/ui", { headers: { cookie: session! } })).status).toBe(303);
    expect(await onB(other)).toBe(200); // only that session ended
  });
}

test("JSONL: the file is rewritten without expired sign-outs, and another process follows the rewrite", async () => {
  const dir = tempDir();
  const writer = new JsonlRevokedSessions(dir);
  const reader = new JsonlRevokedSessions(dir);
  const lines = () => readFileSync(join(dir, REVOKED_FILE), "utf8").split("\n").filter(Boolean).length;
  await writer.revoke("keep", 1_000_000, 0);
  expect(await reader.isRevoked("keep", 1)).toBe(true);
  let most = 0;
  for (let i = 1; i <= 400; i++) {
    await writer.revoke(`n${i}`, i * 10 + 5, i * 10); // each expires before the next sign-out
    most = Math.max(most, lines());
  }
  expect(most).toBeLessThanOrEqual(2 * 2 + 100); // two live sign-outs at a time: keep and the latest
  expect(lines()).toBeLessThan(2 * 2 + 100);
  expect(await reader.isRevoked("keep", 4_000)).toBe(true);
  expect(await reader.isRevoked("n400", 4_001)).toBe(true);
  expect(await reader.isRevoked("n399", 4_001)).toBe(false);
  expect(await reader.isRevoked("never", 4_001)).toBe(false);
});
