/**
 * The deciding backlog actions on the auto store while its PRIVATE Postgres cluster is stopped: weekly
 * generation, cleanup (retention + SLA pass) and notify dispatch. The JSONL fallback shows only what was
 * written during outages, so a decision taken from it is wrong after the recovery: a returning item
 * without its link to the previous week's item, an item missing from the digest never auto-resolved, a
 * stale copy escalated over a person's change. They refuse with the store's `degraded` error (503) and
 * write nothing; run again once Postgres serves, the result equals the run with Postgres up.
 */
import { expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { silentLogger } from "../../lib/core/log.ts";
import { parsePolicyText } from "../../lib/generation/policy.ts";
import { JOURNAL_FILE } from "../../lib/store/auto/journal.ts";
import { AutoBacklogStore } from "../../lib/store/auto/store.ts";
import type { BacklogStore } from "../../lib/store/types.ts";
import { createToolContext, dispatch, loadToolRegistry } from "../../lib/tools/index.ts";
import { autoHarness, pgConfig, waitFor } from "../store/auto-harness.ts";

setDefaultTimeout(90_000);
const { pause, resume, database, tempDir, cleanups } = autoHarness();
const POLICY = parsePolicyText(
  "lifecycle:\n  mode: weekly\n  auto_resolve_after: 1\n  reopen_within_days: 14\nsla:\n  escalate_after_days_overdue: 2\n",
  "outage.yml",
);
const TOOLS = await loadToolRegistry({ policy: POLICY, only: ["backlog_tool", "notify_tool"] });

const svc = (service: string, category: string) => ({ service, pressure_score: 70, band: "high", signals: { churn_30d: 120 }, recommended_categories: [category], reasons: ["pressure"] });
const DIGESTS = {
  "2026-W40": { week: "2026-W40", env: "prod", generated_at: "2026-09-28T06:00:00Z", services: [svc("gateway", "security"), svc("ledger", "refactor")] },
  // ledger is gone (auto-resolved after 1 digest), gateway returns (a new item linked to W40's).
  "2026-W41": { week: "2026-W41", env: "prod", generated_at: "2026-10-05T06:00:00Z", services: [svc("gateway", "security")] },
};

async function open() {
  const { dsn, sql } = await database();
  const dir = tempDir();
  const reports = tempDir();
  mkdirSync(join(reports, "platform/prod"), { recursive: true });
  for (const [week, d] of Object.entries(DIGESTS)) writeFileSync(join(reports, `platform/prod/${week}.json`), JSON.stringify(d));
  let now = new Date("2026-09-28T06:20:00Z");
  const store = await AutoBacklogStore.open({ pg: pgConfig(dsn), dir, retrySeconds: 1, clock: () => now, log: silentLogger });
  cleanups.push(() => store.close());
  expect(store.name).toBe("PostgresBacklogStore");
  const ctx = (agent = "scheduler") =>
    createToolContext({ store, agent, entitlements: ["tools.backlog.admin", "tools.backlog.write", "tools.notify.write"], now: () => now, log: silentLogger, paths: { root: reports, reportsDir: reports, policyFile: "outage.yml" } });
  const call = (action: string, params: Record<string, unknown>, agent?: string, tool = "backlog_tool") => dispatch(TOOLS, { tool, action, params }, ctx(agent)) as Promise<any>;
  const journal = () => (existsSync(join(dir, JOURNAL_FILE)) ? readFileSync(join(dir, JOURNAL_FILE), "utf8") : "");
  const fallback = async () => {
    await pause();
    await store.list(); // fails over to JSONL
    expect(store.name).toBe("JsonlBacklogStore");
  };
  const recover = async () => {
    resume();
    await waitFor("the switch back to Postgres", () => store.name === "PostgresBacklogStore");
  };
  return { store, sql, call, journal, fallback, recover, setNow: (d: string) => (now = new Date(d)) };
}

/** Every item with its events, ids replaced by their position, in a form two databases can be compared in. */
async function picture(store: BacklogStore) {
  const { items } = await store.list({ limit: 1000 });
  items.sort((a, b) => (a.dedupe_key < b.dedupe_key ? -1 : 1));
  const ref = (id: unknown) => (typeof id === "string" ? items.findIndex((i) => i.id === id) : null);
  return Promise.all(
    items.map(async (i) => ({
      key: i.dedupe_key,
      status: i.status,
      priority: i.priority,
      prev: ref(i.meta.prev_id),
      next: ref(i.meta.next_id),
      streak: i.meta.streak,
      events: (await store.events(i.id)).map((e) => `${e.type}:${e.actor}`),
    })),
  );
}

test("weekly generation with Postgres down: refused with 503, nothing written; run after the recovery it equals the run with Postgres up", async () => {
  const reference = await open();
  await reference.call("auto_generate_weekly", { env: "prod", week: "2026-W40" });
  reference.setNow("2026-10-05T06:20:00Z");
  await reference.call("auto_generate_weekly", { env: "prod", week: "2026-W41" });
  const expected = await picture(reference.store);
  // What users expect of W41: gateway's new item linked to W40's (recurred), ledger's W40 auto-resolved.
  expect(expected.map((i) => [i.key, i.status, i.prev, i.next])).toEqual([
    ["platform_backlog:2026-W40:prod:gateway:security", "open", null, 2],
    ["platform_backlog:2026-W40:prod:ledger:refactor", "done", null, null],
    ["platform_backlog:2026-W41:prod:gateway:security", "open", 0, null],
  ]);

  const t = await open();
  await t.call("auto_generate_weekly", { env: "prod", week: "2026-W40" });
  t.setNow("2026-10-05T06:20:00Z");
  await t.fallback();
  for (const dry_run of [false, true]) {
    await expect(t.call("auto_generate_weekly", { env: "prod", week: "2026-W41", dry_run })).rejects.toMatchObject({ code: "degraded", status: 503 });
  }
  expect(t.journal()).toBe("");
  expect((await t.store.list()).total).toBe(0);
  await t.recover();
  // The run again (the scheduler's retry or by hand), on the full view.
  await t.call("auto_generate_weekly", { env: "prod", week: "2026-W41" });
  expect(await picture(t.store)).toEqual(expected);
});

test("cleanup (and notify dispatch) with Postgres down: refused with 503 before any step, so a stale fallback copy never escalates an item a person closed", async () => {
  const t = await open();
  t.setNow("2026-09-28T06:20:00Z");
  // An earlier outage leaves a JSONL copy of the item (replayed to Postgres on recovery).
  await t.fallback();
  const created = await t.call("upsert", { env: "prod", service: "gateway", category: "security", title: "Rotate keys", dedupe_key: "manual:gateway:keys", priority: "P3", due_date: "2026-09-30" });
  await t.recover();
  // With Postgres serving, a person closes it: the JSONL copy still says open (and overdue later).
  t.setNow("2026-10-01T09:00:00Z");
  await t.call("set_status", { id: created.item.id, status: "done", message: "rotated" }, "alice");

  t.setNow("2026-10-05T03:40:00Z");
  await t.fallback();
  for (const dry_run of [false, true]) {
    await expect(t.call("cleanup", { dry_run })).rejects.toMatchObject({ code: "degraded", status: 503 });
    await expect(t.call("dispatch", { dry_run }, undefined, "notify_tool")).rejects.toMatchObject({ code: "degraded", status: 503 });
  }
  await t.recover();
  const rows = await t.sql<{ status: string; priority: string }[]>`select status, priority from backlog_items`;
  expect([...rows]).toEqual([{ status: "done", priority: "P3" }]);
  const events = await t.sql<{ type: string }[]>`select type from backlog_events order by ts, id`;
  expect(events.map((e) => e.type)).not.toContain("escalated");
  // After the recovery the daily run decides on the full view: nothing to escalate (the item is done).
  const run = await t.call("cleanup", {});
  expect(run.sla).toMatchObject({ escalated: 0, snooze_expired: 0 });
});
