/**
 * alert_intake.ingest on the auto store while its PRIVATE Postgres cluster is stopped and started.
 * On the JSONL fallback a group's item may exist only in Postgres, so the intake cannot know what a
 * notification should do: it answers 503 (Alertmanager sends it again) and writes nothing, instead of a
 * 200 "ignored" for a resolve whose item it cannot see (the item then stayed open for good). Identical
 * notifications racing a restart leave exactly one item, and every id an answer acknowledged is it.
 */
import { expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { silentLogger } from "../../lib/core/log.ts";
import { parsePolicyText } from "../../lib/generation/policy.ts";
import { JOURNAL_FILE } from "../../lib/store/auto/journal.ts";
import { AutoBacklogStore } from "../../lib/store/auto/store.ts";
import { createToolContext, dispatch, loadToolRegistry } from "../../lib/tools/index.ts";
import { autoHarness, pgConfig, waitFor } from "../store/auto-harness.ts";
import { alert, payload } from "./payloads.ts";

setDefaultTimeout(60_000);
const { pause, resume, database, tempDir, cleanups } = autoHarness();
const POLICY = parsePolicyText("alert_intake:\n  auto_resolve: true\n", "intake.yml");
const REGISTRY = await loadToolRegistry({ policy: POLICY, only: ["alert_intake"] });

async function open() {
  const { dsn, sql } = await database();
  const dir = tempDir();
  const store = await AutoBacklogStore.open({ pg: pgConfig(dsn), dir, retrySeconds: 1, log: silentLogger });
  cleanups.push(() => store.close());
  expect(store.name).toBe("PostgresBacklogStore");
  const ctx = createToolContext({ store, agent: "alertmanager", entitlements: ["tools.alerts.write"], log: silentLogger, paths: { root: "/nonexistent", reportsDir: "/nonexistent", policyFile: "intake.yml" } });
  const ingest = (p: unknown) => dispatch(REGISTRY, { tool: "alert_intake", action: "ingest", params: p as Record<string, unknown> }, ctx) as Promise<{ outcome: string; item_id: string }>;
  const journal = () => (existsSync(join(dir, JOURNAL_FILE)) ? readFileSync(join(dir, JOURNAL_FILE), "utf8") : "");
  return { store, sql, ingest, journal };
}

const resolved = () => payload({ status: "resolved", alerts: [alert({ status: "resolved" })] });

test("Postgres down: a resolve (and a firing) answers 503 and writes nothing; sent again after the recovery, it closes the item", async () => {
  const { store, sql, ingest, journal } = await open();
  const created = await ingest(payload());
  expect(created.outcome).toBe("created");

  await pause();
  await store.list(); // fails over to JSONL
  expect(store.name).toBe("JsonlBacklogStore");
  for (const p of [resolved(), payload(), payload({ groupKey: "{}:{alertname=\"NewDuringOutage\"}" })]) {
    await expect(ingest(p)).rejects.toMatchObject({ code: "degraded", status: 503 });
  }
  expect((await store.list()).total).toBe(0);
  expect(journal()).toBe("");

  resume();
  await waitFor("the switch back to Postgres", () => store.name === "PostgresBacklogStore");
  // Alertmanager's retry of the resolve it was refused.
  expect(await ingest(resolved())).toMatchObject({ outcome: "resolved", item_id: created.item_id });
  const rows = await sql<{ id: string; status: string }[]>`select id, status from backlog_items`;
  expect([...rows]).toEqual([{ id: created.item_id, status: "done" }]);
});

// The first wave usually ends before the stop lands (measured: 4 of 4 runs), so this is "around" the
// restart, not a race inside one commit; the claim under test is no duplicate whatever the timing.
test("identical notifications at once, before, during and after a Postgres restart: one item, and every acknowledged answer names it", async () => {
  const { store, sql, ingest } = await open();
  const answers: PromiseSettledResult<{ outcome: string; item_id: string }>[] = [];
  const wave = async () => answers.push(...(await Promise.allSettled(Array.from({ length: 4 }, () => ingest(payload())))));
  await Promise.all([wave(), pause().then(wave)]);
  await wave();
  resume();
  await waitFor("the switch back to Postgres", () => store.name === "PostgresBacklogStore");
  await wave(); // Alertmanager's retry of whatever was refused

  for (const a of answers) if (a.status === "rejected") expect(a.reason).toMatchObject({ status: 503 });
  const rows = await sql<{ id: string; status: string }[]>`select id, status from backlog_items`;
  expect(rows).toHaveLength(1);
  expect(rows[0]!.status).toBe("open");
  const acknowledged = answers.flatMap((a) => (a.status === "fulfilled" ? [a.value] : []));
  // The last wave runs on Postgres and is acknowledged; no two answers may say they created the item
  // (at least one did unless its answer was lost with the connection at the stop).
  expect(acknowledged.length).toBeGreaterThan(0);
  expect(acknowledged.filter((a) => a.outcome === "created").length).toBeLessThanOrEqual(1);
  // An id handed out on the fallback stays valid (an alias of the Postgres item).
  for (const a of acknowledged) expect((await store.get(a.item_id))!.id).toBe(rows[0]!.id);
});
