/** Pure SLA and snooze rules with data (lib/lifecycle/sla.ts, snooze.ts). */
import { describe, expect, test } from "bun:test";
import { attentionOf, isDueSoon } from "../../lib/alerting/due.ts";
import { planEscalation, stepUp } from "../../lib/lifecycle/sla.ts";
import { planSnooze, planSnoozeExpiry } from "../../lib/lifecycle/snooze.ts";
import type { BacklogItem } from "../../lib/store/types.ts";

const it = (over: Partial<BacklogItem> = {}): BacklogItem => ({
  id: "bl_1", env: "prod", service: "gateway", category: "security", title: "t", description: "", priority: "P2", status: "open",
  owner: "o", due_date: "2026-11-10", source: "weekly_digest", dedupe_key: "k", tags: [], meta: {}, created_at: "x", updated_at: "x", ...over,
});

describe("due soon and overdue leave snoozed items out (lib/alerting/due.ts, shared with metrics)", () => {
  test.each([
    ["due today", { due_date: "2026-11-20" }, true],
    ["due at the edge of warn_days", { due_date: "2026-11-23" }, true],
    ["due after warn_days", { due_date: "2026-11-24" }, false],
    ["overdue is not due soon", { due_date: "2026-11-19" }, false],
    ["no due date", { due_date: null }, false],
    ["closed", { due_date: "2026-11-21", status: "done" as const }, false],
    ["snoozed", { due_date: "2026-11-21", meta: { snoozed_until: "2026-11-25" } }, false],
    ["snooze ended", { due_date: "2026-11-21", meta: { snoozed_until: "2026-11-20" } }, true],
  ])("%s", (_n, over, want) => {
    expect(isDueSoon(it(over), "2026-11-20", 3)).toBe(want);
  });
  test("overdue but snoozed needs no attention; on the snooze date it is overdue again", () => {
    const snoozed = it({ due_date: "2026-11-01", meta: { snoozed_until: "2026-11-25" } });
    expect(attentionOf(snoozed, "2026-11-20", 3)).toBeNull();
    expect(attentionOf(snoozed, "2026-11-25", 3)).toBe("overdue");
  });
});

describe("escalation ladder", () => {
  const steps = (over: Partial<BacklogItem>, today: string, after = 7) => planEscalation(it(over), today, after).map((t) => [t.set!.priority, t.set!.meta!.escalations]);
  test.each([
    ["6 days overdue: nothing yet", {}, "2026-11-16", []],
    ["7 days overdue: one step", {}, "2026-11-17", [["P1", 1]]],
    ["14 days overdue: two steps, each once", {}, "2026-11-24", [["P1", 1], ["P0", 2]]],
    ["the first step already taken", { priority: "P1" as const, meta: { escalations: 1 } }, "2026-11-24", [["P0", 2]]],
    ["both taken: nothing", { priority: "P0" as const, meta: { escalations: 2 } }, "2026-11-24", []],
    ["never above P0", { priority: "P1" as const }, "2026-12-30", [["P0", 1]]],
    ["P0 stays", { priority: "P0" as const }, "2026-12-30", []],
    ["snoozed: not overdue", { meta: { snoozed_until: "2026-12-31" } }, "2026-11-24", []],
    ["closed", { status: "canceled" as const }, "2026-11-24", []],
  ])("%s", (_n, over, today, want) => {
    expect(steps(over, today)).toEqual(want as never);
  });
  test("off (0) never escalates; the event states days overdue and the step", () => {
    expect(planEscalation(it(), "2027-01-01", 0)).toEqual([]);
    const [t] = planEscalation(it(), "2026-11-17", 7);
    expect(t).toMatchObject({ type: "escalated", message: "escalated from P2 to P1: 7 days overdue (step 1, every 7 days)", meta: { from: "P2", to: "P1", days_overdue: 7, step: 1 } });
    expect(stepUp("P0")).toBe("P0");
  });
});

describe("snooze bounds and expiry", () => {
  test("until after today and within max days; a reason; open items only", () => {
    expect(planSnooze(it(), "2026-11-30", " vendor fix due ", "2026-11-20", 10)).toEqual({
      type: "snoozed", message: "snoozed until 2026-11-30: vendor fix due", set: { meta: { snoozed_until: "2026-11-30" } }, meta: { until: "2026-11-30", reason: "vendor fix due" },
    });
    expect(() => planSnooze(it(), "2026-11-20", "r", "2026-11-20", 10)).toThrow("until: must be after today (2026-11-20), got 2026-11-20.");
    expect(() => planSnooze(it(), "2026-12-01", "r", "2026-11-20", 10)).toThrow("until: at most lifecycle.max_snooze_days (10) ahead, i.e. 2026-11-30 or earlier; got 2026-12-01.");
    expect(() => planSnooze(it(), "2026-11-25", "  ", "2026-11-20", 10)).toThrow("reason: say why");
    expect(() => planSnooze(it({ status: "done" }), "2026-11-25", "r", "2026-11-20", 10)).toThrow("only open work can be snoozed");
  });
  test("expiry on the date, once", () => {
    expect(planSnoozeExpiry(it({ meta: { snoozed_until: "2026-11-30" } }), "2026-11-29")).toBeNull();
    expect(planSnoozeExpiry(it({ meta: { snoozed_until: "2026-11-30" } }), "2026-11-30")).toMatchObject({ type: "snooze_expired", set: { meta: { snoozed_until: null } } });
    expect(planSnoozeExpiry(it({ meta: { snoozed_until: null } }), "2026-12-30")).toBeNull();
  });
});
