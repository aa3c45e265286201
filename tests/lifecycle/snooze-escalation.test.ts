/**
 * backlog_tool.snooze and the SLA pass of backlog_tool.cleanup with an injected clock, on all four
 * backends: a snoozed overdue item leaves the dashboard's overdue count and alerts until its date; on
 * that date the daily job writes snooze_expired; overdue items climb one priority step per 7 days,
 * each step once; re-running the job the same day takes no step.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { attentionSource } from "../../lib/alerting/source.ts";
import { silentLogger } from "../../lib/core/log.ts";
import { parsePolicyText } from "../../lib/generation/policy.ts";
import { createToolContext, loadToolRegistry, dispatch } from "../../lib/tools/index.ts";
import { BACKENDS, type Opened } from "./backends.ts";

const POLICY = parsePolicyText("lifecycle:\n  max_snooze_days: 30\nsla:\n  escalate_after_days_overdue: 7\nalerts:\n  overdue_notify_above: 0\n", "p.yml");

let opened: Opened | null = null;
afterEach(async () => {
  await opened?.dispose();
  opened = null;
});

for (const [backend, open] of Object.entries(BACKENDS)) {
  describe(`snooze and escalation on ${backend}`, () => {
    test("snooze keeps an item out of overdue and alerts until the date; cleanup expires it and escalates the rest", async () => {
      let now = new Date("2026-11-20T09:00:00Z");
      opened = await open(() => now);
      const store = opened.store;
      const tools = await loadToolRegistry({ policy: POLICY });
      const call = (action: string, params: Record<string, unknown>, agent = "alice") =>
        dispatch(tools, { tool: "backlog_tool", action, params }, createToolContext({
          store, agent, entitlements: ["tools.backlog.admin", "tools.backlog.write", "tools.backlog.read"], now: () => now, log: silentLogger,
          paths: { root: "/nonexistent", reportsDir: "/nonexistent", policyFile: "p.yml" },
        })) as Promise<any>;
      const mk = async (key: string, priority: string, due: string) =>
        (await call("upsert", { env: "prod", service: key, category: "security", title: key, dedupe_key: key, priority, due_date: due })).item;
      const a = await mk("a", "P2", "2026-11-19"); // 1 day overdue
      const b = await mk("b", "P2", "2026-11-13"); // 7 days overdue

      expect((await call("dashboard", { env: "prod" })).overdue_count).toBe(2);
      const alerts = attentionSource(store); // /metrics and the notifier read this
      const overdueP2 = async () => (await alerts.counts(now, 3, ["prod"])).envs.prod!.overdue.P2;
      expect(await overdueP2()).toBe(2);
      const bad = await call("snooze", { id: a.id, until: "2027-01-01", reason: "x" }).catch((e) => e);
      expect(bad.message).toContain("until: at most lifecycle.max_snooze_days (30) ahead, i.e. 2026-12-20 or earlier; got 2027-01-01.");
      const dry = await call("snooze", { id: a.id, until: "2026-11-27", reason: "vendor patch on the 26th", dry_run: true });
      expect(dry.item.meta.snoozed_until).toBe("2026-11-27");
      expect((await store.get(a.id))!.meta.snoozed_until).toBeUndefined();
      await call("snooze", { id: a.id, until: "2026-11-27", reason: "vendor patch on the 26th" });
      let d = await call("dashboard", { env: "prod" });
      expect(d.overdue_count).toBe(1);
      expect(d.overdue.map((o: any) => o.id)).toEqual([b.id]);
      expect(await overdueP2()).toBe(1);
      expect((await alerts.attentionItems(now, 3)).map((i) => i.id)).toEqual([b.id]);

      // Day's job: b is 7 days overdue → P1 (one step); a is snoozed → untouched.
      now = new Date("2026-11-20T23:30:00Z");
      let r = await call("cleanup", {}, "scheduler");
      expect(r.sla).toMatchObject({ snooze_expired: 0, escalated: 1 });
      expect((await store.get(b.id))!.priority).toBe("P1");
      expect((await call("cleanup", {}, "scheduler")).sla.steps).toEqual([]); // same day again: nothing

      // On the snooze date: expiry event, a is overdue again; b (14 days) → P0.
      now = new Date("2026-11-27T03:30:00Z");
      expect((await call("cleanup", { dry_run: true }, "scheduler")).sla).toMatchObject({ snooze_expired: 1, escalated: 2 }); // b, and a once its snooze ended
      expect((await store.get(b.id))!.priority).toBe("P1");
      r = await call("cleanup", {}, "scheduler");
      expect(r.sla.steps.map((s: any) => [s.item_id, s.type])).toEqual(expect.arrayContaining([[a.id, "snooze_expired"], [b.id, "escalated"]]));
      expect((await store.get(b.id))!.priority).toBe("P0");
      d = await call("dashboard", { env: "prod" });
      expect(d.overdue_count).toBe(2);
      expect((await alerts.attentionItems(now, 3)).map((i) => i.id).sort()).toEqual([a.id, b.id].sort());
      // a: 8 days overdue now → one step as well.
      expect((await store.get(a.id))!.priority).toBe("P1");
      // 100 days later: b stays P0, a reaches P0, each step once.
      now = new Date("2027-03-01T03:30:00Z");
      await call("cleanup", {}, "scheduler");
      await call("cleanup", {}, "scheduler");
      const types = async (id: string) => (await store.events(id)).map((e) => `${e.type}:${e.actor}`);
      expect(await types(a.id)).toEqual(["created:alice", "snoozed:alice", "snooze_expired:scheduler", "escalated:scheduler", "escalated:scheduler"]);
      expect(await types(b.id)).toEqual(["created:alice", "escalated:scheduler", "escalated:scheduler"]);
      expect((await store.get(a.id))!.priority).toBe("P0");
    }, 60_000);
  });
}

describe("due_soon and lineage grouping (memory; the snooze-aware due_within_days filter is in the store contract)", () => {
  test("with hundreds due soon, the 50 listed and the count are those of the whole window (priorities order the boundary day)", async () => {
    const now = new Date("2026-11-20T09:00:00Z");
    opened = await BACKENDS.memory!(() => now);
    const store = opened.store;
    const policy = parsePolicyText("notify:\n  warn_days: 3\n", "p.yml");
    const ctx = createToolContext({
      store, agent: "alice", entitlements: ["tools.backlog.write", "tools.backlog.read"], now: () => now, log: silentLogger,
      paths: { root: "/nonexistent", reportsDir: "/nonexistent", policyFile: "p.yml" },
    });
    // 40 due today, 300 tomorrow: the 50th listed is due tomorrow, so tomorrow is the boundary day
    const prio = ["P3", "P2", "P1", "P0"];
    const inputs = [
      ...Array.from({ length: 40 }, (_, i) => ({ day: "2026-11-20", priority: prio[i % 4]!, key: `a${String(i).padStart(3, "0")}` })),
      // tomorrow's P0s come last in id (and so in due-then-id) order: only a complete read of the day finds them
      ...Array.from({ length: 300 }, (_, i) => ({ day: "2026-11-21", priority: i >= 290 ? "P0" : "P2", key: `b${String(i).padStart(3, "0")}` })),
    ];
    await store.upsertMany(inputs.map((x) => ({ env: "prod", service: "gateway", category: "security", title: x.key, dedupe_key: x.key, priority: x.priority as "P0", due_date: x.day })), { actor: "t" });
    const d = (await dispatch(await loadToolRegistry({ policy }), { tool: "backlog_tool", action: "dashboard", params: { env: "prod" } }, ctx)) as any;
    const all = (await store.list({ env: "prod", limit: 1000 }, now)).items;
    const want = all
      .map((i) => ({ id: i.id, due_date: i.due_date!, priority: i.priority }))
      .sort((a, b) => (a.due_date !== b.due_date ? (a.due_date < b.due_date ? -1 : 1) : a.priority !== b.priority ? (a.priority < b.priority ? -1 : 1) : a.id < b.id ? -1 : 1))
      .slice(0, 50)
      .map((i) => i.id);
    expect(d.due_soon_count).toBe(340);
    expect(d.due_soon.map((e: any) => e.id)).toEqual(want);
    expect(d.due_soon.slice(40).every((e: any) => e.priority === "P0")).toBe(true);
  });

  test("dashboard lists open unsnoozed items due within notify.warn_days; list groups by lineage", async () => {
    const now = new Date("2026-11-20T09:00:00Z");
    opened = await BACKENDS.memory!(() => now);
    const store = opened.store;
    const policy = parsePolicyText("notify:\n  warn_days: 3\n", "p.yml");
    const call = async (action: string, params: Record<string, unknown>) =>
      dispatch(await loadToolRegistry({ policy }), { tool: "backlog_tool", action, params }, createToolContext({
        store, agent: "alice", entitlements: ["tools.backlog.write", "tools.backlog.read"], now: () => now, log: silentLogger,
        paths: { root: "/nonexistent", reportsDir: "/nonexistent", policyFile: "p.yml" },
      })) as Promise<any>;
    const mk = async (key: string, due: string | null, priority = "P2", meta: Record<string, unknown> = {}) =>
      (await call("upsert", { env: "prod", service: "gateway", category: "security", title: key, dedupe_key: key, priority, due_date: due, meta })).item;
    const today = await mk("today", "2026-11-20", "P1");
    const edge = await mk("edge", "2026-11-23");
    await mk("later", "2026-11-24");
    await mk("overdue", "2026-11-19");
    await mk("none", null);
    const snoozed = await mk("snoozed", "2026-11-21");
    await call("snooze", { id: snoozed.id, until: "2026-11-25", reason: "waiting on vendor" });
    const done = await mk("done", "2026-11-21");
    await call("set_status", { id: done.id, status: "done" });
    const d = await call("dashboard", { env: "prod" });
    expect(d.warn_days).toBe(3);
    expect(d.due_soon_count).toBe(2);
    expect(d.due_soon.map((e: any) => [e.id, e.days_left])).toEqual([[today.id, 0], [edge.id, 3]]);
    expect(d.overdue_count).toBe(1);

    const g = await call("list", { group_by: "lineage", status: "open" });
    expect(g.lineages).toEqual([
      expect.objectContaining({ lineage_key: "platform_backlog:prod:gateway:security", env: "prod", service: "gateway", category: "security", open: 6, priority: "P1" }),
    ]);
  });
});
