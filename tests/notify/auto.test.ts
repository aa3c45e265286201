/**
 * The notifier on the auto store: its sent state follows the backend the router serves, and notices
 * recorded on the JSONL fallback during an outage are carried into Postgres on recovery (the replay hook),
 * so nothing is sent again after the switch back. A private Postgres cluster is stopped like a crash.
 */
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { silentLogger } from "../../lib/core/log.ts";
import { runNotify } from "../../lib/notify/dispatch.ts";
import { openNotifyState } from "../../lib/notify/state-open.ts";
import { parsePolicyText } from "../../lib/generation/policy.ts";
import { AutoBacklogStore } from "../../lib/store/auto/store.ts";
import { autoHarness, pgConfig } from "../store/auto-harness.ts";
import { receiver, type Receiver } from "./receivers.ts";

setDefaultTimeout(120_000);
const { pause, resume, database, tempDir } = autoHarness();
const NOW = new Date("2026-11-23T10:00:00.000Z");
const receivers: Receiver[] = [];
afterAll(async () => {
  for (const r of receivers) await r.close();
});

test("sent during an outage on JSONL, replayed into Postgres on recovery: the next run sends nothing again", async () => {
  const { dsn, sql } = await database();
  const dir = tempDir();
  const r = await receiver();
  receivers.push(r);
  const policy = parsePolicyText(`notify:\n  webhooks:\n    - { name: h, format: slack, url_env: H, min_interval_ms: 0 }\n`, "p.yml");
  const env = { H: r.url };

  await pause();
  const store = await AutoBacklogStore.open({ pg: pgConfig(dsn), dir, retrySeconds: 3600, clock: () => NOW, log: silentLogger });
  try {
    expect(store.name).toBe("JsonlBacklogStore");
    const state = openNotifyState(store, silentLogger);
    expect(openNotifyState(store, silentLogger)).toBe(state); // one per store: the hook is registered once
    for (const [i, owner] of ["team-a", "team-b"].entries()) {
      await store.upsert({ env: "prod", service: "gw", category: "security", title: `t${i}`, priority: "P0", dedupe_key: `k${i}`, owner, due_date: "2026-11-20" }, { actor: "t" });
    }
    const first = await runNotify({ store, state, policy, env, now: () => NOW, log: silentLogger });
    expect(state.name).toBe("JsonlNotifyState");
    expect(first.webhooks[0]!.messages).toBe(2);

    resume();
    expect(await store.recover()).toBe(true);
    expect(store.name).toBe("PostgresBacklogStore");
    expect(state.name).toBe("PostgresNotifyState");
    const rows = await sql<{ status: string }[]>`select status from notify_sent order by key`;
    expect(rows.map((x) => x.status)).toEqual(["sent", "sent"]);

    const second = await runNotify({ store, state, policy, env, now: () => new Date(NOW.getTime() + 60_000), log: silentLogger });
    expect(second.webhooks[0]!.messages).toBe(0);
    expect(r.delivered()).toHaveLength(2);

    // pruning reaches both sides: the Postgres table and the JSONL fallback file it was replayed from
    expect(await state.prune(async (all) => all)).toBe(4);
    expect(await sql`select 1 from notify_sent`).toHaveLength(0);
    expect(await state.prune(async (all) => all)).toBe(0);
  } finally {
    await store.close();
  }
});
