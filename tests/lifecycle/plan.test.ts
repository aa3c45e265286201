/** planLifecycle with plain data: the cases the 8-week walk does not reach. */
import { describe, expect, test } from "bun:test";
import { lineageOf } from "../../lib/lifecycle/lineage.ts";
import { planLifecycle, type LifecycleInput } from "../../lib/lifecycle/plan.ts";
import { parsePolicyText } from "../../lib/generation/policy.ts";
import type { BacklogItem, UpsertInput } from "../../lib/store/types.ts";

const policy = (y = "") => parsePolicyText(y, "p.yml");
const item = (over: Partial<BacklogItem> & { meta: Record<string, unknown> }): BacklogItem => ({
  id: "bl_old", env: "prod", service: "gateway", category: "security", title: "t", description: "", priority: "P0", status: "open", owner: "o",
  due_date: "2026-11-01", source: "weekly_digest", dedupe_key: "platform_backlog:2026-W40:prod:gateway:security", tags: [],
  created_at: "2026-09-28T06:20:00.000Z", updated_at: "2026-09-28T06:20:00.000Z", ...over,
});
const input = (week: string, service = "gateway"): UpsertInput => ({
  env: "prod", service, category: "security", title: `${service} ${week}`, priority: "P0", dedupe_key: `platform_backlog:${week}:prod:${service}:security`, meta: { week },
});
const run = (over: Partial<LifecycleInput>): ReturnType<typeof planLifecycle> =>
  planLifecycle({
    env: "prod", period: "2026-W43", periods: ["2026-W40", "2026-W41", "2026-W42", "2026-W43"], candidates: [], present: new Set(), items: [], events: new Map(),
    policy: policy(), now: new Date("2026-10-19T06:20:00Z"), ...over,
  });

describe("planLifecycle", () => {
  test("an item generated before lineages (no lineage_key) joins its lineage by env/service/category and week", () => {
    const legacy = item({ meta: { week: "2026-W42" } });
    expect(lineageOf(legacy, "platform_backlog")).toBe("platform_backlog:prod:gateway:security");
    const steps = run({ candidates: [{ dedupe_key: input("2026-W43").dedupe_key, service: "gateway", category: "security", input: input("2026-W43"), due_days: 7 }], items: [legacy] });
    expect(steps[0]).toMatchObject({ step: "upsert", existing_id: null, input: { meta: { lineage_key: "platform_backlog:prod:gateway:security", streak: 2, prev_id: "bl_old", last_period: "2026-W43" } } });
    expect(steps[1]).toMatchObject({ step: "transition", item_id: "bl_old", next_ref: input("2026-W43").dedupe_key, transition: { type: "recurred" } });
  });

  test("defaults never close anything: auto_resolve_after 0", () => {
    expect(run({ items: [item({ meta: { week: "2026-W40" } })] })).toEqual([]);
  });

  test("a capped lineage is present: not auto-resolved", () => {
    const p = policy("lifecycle:\n  auto_resolve_after: 1\n");
    const old = item({ meta: { week: "2026-W40" } });
    expect(run({ policy: p, items: [old], present: new Set(["platform_backlog:prod:gateway:security"]) })).toEqual([]);
    expect(run({ policy: p, items: [old] })).toMatchObject([{ step: "transition", transition: { type: "auto_resolved", expect_updated_at: old.updated_at } }]);
  });

  test("a week without a digest file is not an absence", () => {
    const p = policy("lifecycle:\n  auto_resolve_after: 2\n");
    const old = item({ meta: { week: "2026-W40" } });
    expect(run({ policy: p, items: [old], periods: ["2026-W40", "2026-W43"] })).toEqual([]);
  });

  test("an older digest run after newer ones only upserts its own item", () => {
    const newer = item({ id: "bl_new", meta: { week: "2026-W43", lineage_key: "platform_backlog:prod:gateway:security", last_period: "2026-W43" } });
    const steps = run({ period: "2026-W41", candidates: [{ dedupe_key: input("2026-W41").dedupe_key, service: "gateway", category: "security", input: input("2026-W41"), due_days: 7 }], items: [newer] });
    expect(steps).toEqual([{ step: "upsert", dedupe_key: input("2026-W41").dedupe_key, existing_id: null, input: { ...input("2026-W41"), meta: { week: "2026-W41", lineage_key: "platform_backlog:prod:gateway:security" } } }]);
  });

  test("a person's close is not reopened: after the window or when closed by hand, a new item links to it", () => {
    const p = policy("lifecycle:\n  reopen_within_days: 30\n");
    const closedByHand = item({ status: "done", meta: { week: "2026-W41" } });
    const steps = run({ policy: p, candidates: [{ dedupe_key: input("2026-W43").dedupe_key, service: "gateway", category: "security", input: input("2026-W43"), due_days: 7 }], items: [closedByHand] });
    expect(steps.map((s) => (s.step === "upsert" ? "upsert" : s.transition.type))).toEqual(["upsert", "recurred"]);
  });
});
