/** The notifier's pure planning: reminder slots at their edges, fingerprints, grouping, resolved notices. */
import { describe, expect, test } from "bun:test";
import { fingerprint, planNotices, reminderSlot } from "../../lib/notify/plan.ts";
import { noticeKey, type NoticeRecord } from "../../lib/notify/state.ts";
import type { BacklogItem } from "../../lib/store/types.ts";

const H = 3_600_000;
const policy = { warn_days: 3, remind_days: 2, remind_every_hours: 12 };

describe("reminderSlot", () => {
  // due 2026-11-20: overdue from 2026-11-21T00:00Z
  const breach = Date.parse("2026-11-21T00:00:00Z");
  const at = (h: number) => new Date(breach + h * H);
  test("slot 0 at the breach, one more every remind_every_hours, none from remind_days after it", () => {
    expect(reminderSlot("2026-11-20", new Date(breach - 1), policy)).toBeNull();
    expect(reminderSlot("2026-11-20", at(0), policy)).toBe(0);
    expect(reminderSlot("2026-11-20", at(11.99), policy)).toBe(0);
    expect(reminderSlot("2026-11-20", at(12), policy)).toBe(1);
    expect(reminderSlot("2026-11-20", at(36), policy)).toBe(3); // 36 h < 48 h
    expect(reminderSlot("2026-11-20", at(47.99), policy)).toBe(3);
    expect(reminderSlot("2026-11-20", at(48), policy)).toBeNull(); // slot 4 starts at 48 h: outside
  });
  test("remind_days 0: told once, within the first day", () => {
    const once = { remind_days: 0, remind_every_hours: 24 };
    expect(reminderSlot("2026-11-20", at(1), once)).toBe(0);
    expect(reminderSlot("2026-11-20", at(25), once)).toBeNull();
  });
});

const item = (id: string, over: Partial<BacklogItem>): BacklogItem => ({
  id, env: "prod", service: "gw", category: "c", title: id, description: "", priority: "P1", status: "open", owner: "a",
  due_date: null, source: "s", dedupe_key: id, tags: [], meta: {}, created_at: "", updated_at: "", ...over,
});

describe("planNotices", () => {
  const now = new Date("2026-11-23T10:00:00Z");
  test("groups by owner (unowned → default), warns, reminds, resolves; a re-planned item is a new fingerprint", () => {
    const items = [
      item("bl_1", { due_date: "2026-11-22", owner: "b" }), // overdue, slot 0 (breach 11-23 00:00, 10 h ago)
      item("bl_2", { due_date: "2026-11-26" }), // due soon (edge: today + 3)
      item("bl_3", { due_date: "2026-11-27" }), // beyond
      item("bl_4", { due_date: "2026-11-23", owner: null }), // due today: due soon, default owner
      item("bl_5", { due_date: "2026-11-01", status: "done" }), // closed
    ];
    const gone: NoticeRecord = {
      key: "x", webhook: "w", fingerprint: fingerprint({ id: "bl_9", due_date: "2026-11-20" }), kind: "overdue", slot: 0, owner: "a",
      item: { id: "bl_9", env: "prod", service: "gw", title: "old", priority: "P0", due_date: "2026-11-20" }, status: "sent", run_id: "r", claimed_at: "", sent_at: "",
    };
    const still: NoticeRecord = { ...gone, fingerprint: fingerprint({ id: "bl_1", due_date: "2026-11-22" }), owner: "b" };
    const plan = planNotices("w", items, [gone, still], now, policy, "oncall");
    expect(plan.map((p) => [p.owner, p.notices.map((n) => `${n.item.id}:${n.kind}:${n.slot}`)])).toEqual([
      ["a", ["bl_2:warn:0", "bl_9:resolved:0"]],
      ["b", ["bl_1:overdue:0"]],
      ["oncall", ["bl_4:warn:0"]],
    ]);
    expect(plan[0]!.notices[1]!.was).toBe("overdue");
    expect(plan[1]!.notices[0]!.key).toBe(noticeKey("w", fingerprint({ id: "bl_1", due_date: "2026-11-22" }), "overdue", 0));
    expect(fingerprint({ id: "bl_1", due_date: "2026-11-22" })).not.toBe(fingerprint({ id: "bl_1", due_date: "2026-11-29" }));
  });
});
