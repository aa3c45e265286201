/**
 * Sign-outs on the auto store: recorded in the JSONL fallback while Postgres is down (a private cluster
 * stopped like a crash), copied into Postgres on recovery by the replay hook, so the session stays ended
 * for every replica reading Postgres afterwards.
 */
import { expect, setDefaultTimeout, test } from "bun:test";
import { silentLogger } from "../../../lib/core/log.ts";
import { openRevokedSessions, PostgresRevokedSessions } from "../../../lib/http/ui/revoked-sessions.ts";
import { AutoBacklogStore } from "../../../lib/store/auto/store.ts";
import { autoHarness, pgConfig } from "../../store/auto-harness.ts";

setDefaultTimeout(120_000);
const { pause, resume, database, tempDir } = autoHarness();
// The replay hook keeps sign-outs not yet expired by the real clock (it has no other): expiries are real-time.
const NOW = Date.now();

test("a sign-out during an outage is in Postgres after recovery", async () => {
  const { dsn, sql } = await database();
  await pause();
  const store = await AutoBacklogStore.open({ pg: pgConfig(dsn), dir: tempDir(), retrySeconds: 3600, clock: () => new Date(NOW), log: silentLogger });
  try {
    expect(store.name).toBe("JsonlBacklogStore");
    const revoked = openRevokedSessions(store, silentLogger);
    await revoked.revoke("nonce-1", NOW + 3_600_000, NOW);
    expect(await revoked.isRevoked("nonce-1", NOW)).toBe(true);

    resume();
    expect(await store.recover()).toBe(true);
    expect(store.name).toBe("PostgresBacklogStore");
    expect(await new PostgresRevokedSessions(sql).isRevoked("nonce-1", NOW)).toBe(true);
    expect(await revoked.isRevoked("nonce-1", NOW)).toBe(true);
    expect(await revoked.isRevoked("nonce-2", NOW)).toBe(false);
  } finally {
    await store.close();
  }
});
