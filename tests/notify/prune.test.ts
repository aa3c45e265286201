/**
 * The sent state stays bounded and nothing is sent twice: the prune rule with data, then the daily cleanup
 * (backlog_tool.cleanup) between real notifier runs against a real receiver, on JSONL and on Postgres — the
 * state shrinks (the JSONL file is compacted), and the runs after it send nothing already sent, even for a
 * reopened item.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolvePgConfig } from "../../lib/pg/db.ts";
import { silentLogger } from "../../lib/core/log.ts";
import { runNotify } from "../../lib/notify/dispatch.ts";
import { planPrune, quietFrom, type PruneRule } from "../../lib/notify/prune.ts";
import { openNotifyState } from "../../lib/notify/state-open.ts";
import { NOTIFY_FILE } from "../../lib/notify/state-jsonl.ts";
import { parsePolicyText } from "../../lib/generation/policy.ts";
import { JsonlBacklogStore } from "../../lib/store/jsonl/store.ts";
import { PostgresBacklogStore } from "../../lib/store/postgres/store.ts";
import type { BacklogStore } from "../../lib/store/types.ts";
import { dispatch } from "../../lib/tools/dispatch.ts";
import { createToolContext, loadToolRegistry, resolveToolPaths } from "../../lib/tools/index.ts";
import { freshDatabase, type TestDb } from "../helpers/pg.ts";
import { receiver, type Receiver } from "./receivers.ts";
import { rec } from "./state-contract.ts";

const NOW = new Date("2026-11-23T10:00:00.000Z");
const DAY = 86_400_000;
const rule = (now: Date, over: Partial<PruneRule> = {}): PruneRule => ({ now, remindDays: 7, retentionDays: 180, leaseMs: 15 * 60_000, ...over });

describe("the prune rule", () => {
  // rec(): webhook "hook", item due 2026-11-20, so quiet from 2026-11-20 + 1 + 7 + 1 days
  const quiet = new Date(quietFrom("2026-11-20", 7) + "T00:00:00Z");
  const sent = (fp: string, kind: "warn" | "overdue" | "resolved", at: Date, slot = 0) =>
    rec(fp, kind, "r", { slot, status: "sent", claimed_at: at.toISOString(), sent_at: at.toISOString() });

  test("nothing goes while a warn or overdue notice could still be planned for the due date", () => {
    expect(quietFrom("2026-11-20", 7)).toBe("2026-11-29");
    expect(quietFrom("2026-11-20", 0)).toBe("2026-11-23"); // remind_days 0 still reminds once, on breach day
    const records = [sent("a", "overdue", NOW), sent("a", "resolved", NOW)];
    expect(planPrune(records, rule(new Date(quiet.getTime() - 1))).drop).toEqual([]);
    expect(planPrune(records, rule(quiet)).drop.map((r) => r.kind)).toEqual(["overdue", "resolved"]);
  });

  test("a resolved or never-sent group goes; a firing one only when its item is gone or it is older than retention; a claim in flight never", () => {
    const later = new Date(quiet.getTime() + 30 * DAY);
    const records = [
      sent("resolved", "overdue", NOW), sent("resolved", "resolved", NOW),
      rec("crashed", "overdue", "dead", { claimed_at: NOW.toISOString() }),
      sent("firing", "overdue", NOW, 3),
      sent("ancient", "warn", new Date(later.getTime() - 181 * DAY)),
      rec("inflight", "resolved", "now", { claimed_at: new Date(later.getTime() - 60_000).toISOString() }),
    ];
    const plan = planPrune(records, rule(later));
    expect(plan.drop.map((r) => r.fingerprint).sort()).toEqual(["ancient", "crashed", "resolved", "resolved"]);
    expect([...plan.ifGone.keys()]).toEqual(["bl_firing"]);
  });
});

const dirs: string[] = [];
const dbs: TestDb[] = [];
const closers: (() => Promise<void>)[] = [];
const receivers: Receiver[] = [];
afterAll(async () => {
  for (const c of closers) await c();
  for (const r of receivers) await r.close();
  for (const d of dbs) await d.drop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Backend {
  store: BacklogStore;
  /** Records held, and for JSONL the file's lines. */
  size(): Promise<{ records: number; lines?: number }>;
}

const backends: Record<string, (clock: () => Date) => Promise<Backend>> = {
  JSONL: async (clock) => {
    const dir = mkdtempSync(join(tmpdir(), "bb-notify-prune-"));
    dirs.push(dir);
    const store = new JsonlBacklogStore({ dir, clock, log: silentLogger });
    closers.push(() => store.close());
    const lines = () => readFileSync(join(dir, NOTIFY_FILE), "utf8").split("\n").filter(Boolean).length;
    return { store, size: async () => ({ records: (await (openNotifyState(store, silentLogger) as import("../../lib/notify/state-jsonl.ts").JsonlNotifyState).all()).length, lines: lines() }) };
  },
  Postgres: async (clock) => {
    const db = await freshDatabase({ migrated: true });
    dbs.push(db);
    const store = new PostgresBacklogStore({ config: resolvePgConfig({ dsn: db.dsn }, {})!, clock, log: silentLogger });
    closers.push(() => store.close());
    return { store, size: async () => ({ records: (await db.sql<{ n: number }[]>`select count(*)::int as n from notify_sent`)[0]!.n }) };
  },
};

for (const [label, open] of Object.entries(backends)) {
  test(`${label}: the daily cleanup prunes the sent state, and the notifier sends nothing twice after it`, async () => {
    const clock = { now: NOW };
    const { store, size } = await open(() => clock.now);
    const r = await receiver();
    receivers.push(r);
    const policy = parsePolicyText(`notify:\n  webhooks:\n    - { name: h, format: slack, url_env: H, min_interval_ms: 0 }\n`, "p.yml");
    const registry = await loadToolRegistry({ policy, notify: { env: { H: r.url } } });
    const ctx = createToolContext({ store, paths: resolveToolPaths({}), agent: "scheduler", entitlements: ["tools.backlog.admin", "tools.notify.write"], now: () => clock.now, log: silentLogger });
    const cleanup = (params: Record<string, unknown> = {}) => dispatch(registry, { tool: "backlog_tool", action: "cleanup", params }, ctx) as Promise<{ notify_sent: { removed: number; kept: number } }>;
    const notify = async () => (await runNotify({ store, state: openNotifyState(store, silentLogger), policy, env: { H: r.url }, now: () => clock.now, log: silentLogger })).webhooks[0]!.messages;
    const base = { env: "prod", service: "gw", category: "security", priority: "P1" as const };
    const a = (await store.upsert({ ...base, title: "a", dedupe_key: "a", owner: "team-a", due_date: "2026-11-20" }, { actor: "t" })).item;
    const b = (await store.upsert({ ...base, title: "b", dedupe_key: "b", owner: "team-b", due_date: "2026-11-25" }, { actor: "t" })).item;

    expect(await notify()).toBe(2); // a overdue, b due soon
    await store.setStatus(a.id, "done", { actor: "t" });
    clock.now = new Date(NOW.getTime() + 3_600_000);
    expect(await notify()).toBe(1); // a resolved
    expect(await size()).toEqual(label === "JSONL" ? { records: 3, lines: 6 } : { records: 3 });

    clock.now = new Date("2026-12-15T03:40:00Z"); // both due dates are past their reminder window
    expect((await cleanup({ dry_run: true })).notify_sent).toEqual({ removed: 2, kept: 1 });
    expect((await size()).records).toBe(3);
    expect((await cleanup()).notify_sent).toEqual({ removed: 2, kept: 1 }); // a's overdue + resolved; b is still firing
    expect(await size()).toEqual(label === "JSONL" ? { records: 1, lines: 1 } : { records: 1 });

    await store.setStatus(a.id, "open", { actor: "t" }); // reopened, its due date long past: no reminder again
    expect(await notify()).toBe(0);
    await store.setStatus(b.id, "done", { actor: "t" });
    expect(await notify()).toBe(1); // b resolved: its firing record was kept for this
    expect((await cleanup()).notify_sent).toEqual({ removed: 2, kept: 0 });
    expect(await notify()).toBe(0);
    expect(r.delivered()).toHaveLength(4);
  });
}
