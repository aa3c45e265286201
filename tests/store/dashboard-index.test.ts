/**
 * DashboardIndex (the JSONL store's incremental dashboard) must give exactly computeDashboard's
 * answer after any history of adds, replacements and removals, for any env filter and any "today".
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { DashboardIndex } from "../../lib/store/jsonl/dashboard-index.ts";
import { computeDashboard } from "../../lib/store/compute-dashboard.ts";
import { PRIORITIES, STATUSES, type BacklogItem } from "../../lib/store/types.ts";

const ENVS = ["prod", "staging", "dev"];
const SERVICES = Array.from({ length: 14 }, (_, i) => `svc-${i}`);
const DATES = Array.from({ length: 20 }, (_, i) => `2026-11-${String(i + 5).padStart(2, "0")}`);

function makeItem(id: number, f: { env: number; service: number; status: number; priority: number; due: number | null }): BacklogItem {
  return {
    id: `bl_${String(id).padStart(4, "0")}`,
    env: ENVS[f.env]!,
    service: SERVICES[f.service]!,
    category: "security",
    title: `item ${id}`,
    description: "",
    priority: PRIORITIES[f.priority]!,
    status: STATUSES[f.status]!,
    owner: null,
    due_date: f.due === null ? null : DATES[f.due]!,
    source: "test",
    dedupe_key: `k${id}`,
    tags: [],
    meta: {},
    created_at: "2026-11-01T00:00:00.000Z",
    updated_at: "2026-11-01T00:00:00.000Z",
  };
}

const fields = fc.record({
  env: fc.nat({ max: ENVS.length - 1 }),
  service: fc.nat({ max: SERVICES.length - 1 }),
  status: fc.nat({ max: STATUSES.length - 1 }),
  priority: fc.nat({ max: PRIORITIES.length - 1 }),
  due: fc.option(fc.nat({ max: DATES.length - 1 }), { nil: null }),
});

/** put = a new version of item `id` (insert or replace), del = remove it. Few ids, so replacements are common. */
const op = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("put" as const), id: fc.nat({ max: 120 }), fields }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("del" as const), id: fc.nat({ max: 120 }) }) },
);

describe("DashboardIndex", () => {
  test("equals computeDashboard after any history, for every env filter and day", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), fc.nat({ max: DATES.length + 1 }), (ops, dayIndex) => {
        const items = new Map<string, BacklogItem>();
        // Half the history goes into the constructor (as after a full load), the rest incrementally.
        const split = ops.length >> 1;
        const apply = (o: (typeof ops)[number], index: DashboardIndex | null) => {
          const key = `bl_${String(o.id).padStart(4, "0")}`;
          const old = items.get(key);
          if (old) index?.remove(old);
          if (o.kind === "put") {
            const it = makeItem(o.id, o.fields);
            items.set(key, it);
            index?.add(it);
          } else items.delete(key);
        };
        for (const o of ops.slice(0, split)) apply(o, null);
        const index = new DashboardIndex(items.values());
        const now = new Date(`2026-11-${String(dayIndex + 4).padStart(2, "0")}T12:00:00.000Z`);
        for (const env of [undefined, ...ENVS]) index.dashboard(env === undefined ? {} : { env }, now); // caches later changes must invalidate
        for (const o of ops.slice(split)) apply(o, index);
        for (const env of [undefined, ...ENVS, "qa"]) {
          const filter = env === undefined ? {} : { env };
          expect(index.dashboard(filter, now)).toEqual(computeDashboard(items.values(), filter, now));
        }
      }),
      { numRuns: 300 },
    );
  });

  test("a caller changing its answer does not change the next one", () => {
    const items = Array.from({ length: 60 }, (_, i) => makeItem(i, { env: 0, service: i % 3, status: 0, priority: i % 4, due: i % 3 }));
    const index = new DashboardIndex(items);
    const now = new Date("2026-11-30T00:00:00.000Z");
    const first = index.dashboard({ env: "prod" }, now);
    first.total = -1;
    first.status_counts.open = -1;
    first.overdue[0]!.title = "changed";
    first.overdue.pop();
    first.top_services[0]!.count = -1;
    expect(index.dashboard({ env: "prod" }, now)).toEqual(computeDashboard(items, { env: "prod" }, now));
  });

  test("more than 50 overdue items: the first 50 in due date, priority, id order, all counted", () => {
    const items = Array.from({ length: 130 }, (_, i) => makeItem(i, { env: i % 3, service: i % 5, status: i % 3, priority: (i * 7) % 4, due: i % 4 }));
    const index = new DashboardIndex(items);
    const now = new Date("2026-11-30T00:00:00.000Z");
    const d = index.dashboard({}, now);
    expect(d.overdue_count).toBe(130);
    expect(d.overdue).toHaveLength(50);
    expect(d).toEqual(computeDashboard(items, {}, now));
  });
});
