/** Pressure maths and the cause → category mapping on plain data. */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { platformDigestSchema } from "../../lib/generation/digest-schema.ts";
import { loadPolicy } from "../../lib/generation/policy.ts";
import { categoryPoints, checkCategories, recommend } from "../../lib/pressure/categories.ts";
import { buildPlatformDigest, buildPlatformEntry, renderPlatformMarkdown } from "../../lib/pressure/digest.ts";
import { pressureScore, summariseWeek, type PressureInput } from "../../lib/pressure/score.ts";
import type { HistoryRow } from "../../lib/risk/history-store.ts";
import { CAUSES, parseRiskPolicy } from "../../lib/risk/policy.ts";
import { scoreSignals } from "../../lib/risk/score.ts";
import type { Signals } from "../../lib/risk/signals.ts";
import * as v from "valibot";

const risk = parseRiskPolicy({});
const pp = risk.pressure;

const inputArb: fc.Arbitrary<PressureInput> = fc.record({
  level: fc.double({ min: 0, max: 100, noNaN: true }),
  trend: fc.double({ min: -100, max: 100, noNaN: true }),
  open: fc.integer({ min: 0, max: 500 }),
  overdue: fc.integer({ min: 0, max: 500 }),
  contributions: fc.constant({ incidents_sev1_30d: 10, critical_vulns: 5 }),
});

function row(service: string, hour: string, signals: Signals): HistoryRow {
  return { env: "prod", service, hour, ...scoreSignals(signals, risk), signals, created_at: hour };
}

describe("pressureScore", () => {
  test("always 0–100; parts add up to the score", () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const r = pressureScore(input, pp);
        expect(r.score).toBeGreaterThanOrEqual(0);
        expect(r.score).toBeLessThanOrEqual(100);
        const sum = Object.values(r.parts).reduce((a, b) => a + b, 0);
        expect(Math.abs(sum - r.score)).toBeLessThan(0.25);
      }),
    );
  });

  test("monotonic in level, trend, open and overdue", () => {
    fc.assert(
      fc.property(inputArb, fc.constantFrom("level", "trend", "open", "overdue" as const), fc.double({ min: 0, max: 50, noNaN: true }), (input, key, add) => {
        const bump = key === "open" || key === "overdue" ? Math.ceil(add) : add;
        const raised = { ...input, [key]: key === "level" ? Math.min(100, input.level + bump) : input[key] + bump };
        expect(pressureScore(raised, pp).score).toBeGreaterThanOrEqual(pressureScore(input, pp).score);
      }),
    );
  });

  test("a worsening trend adds pressure, an improving one adds none", () => {
    const base = { level: 40, open: 2, overdue: 0, contributions: { slo_burn_rate: 10 } };
    const flat = pressureScore({ ...base, trend: 0 }, pp).score;
    expect(pressureScore({ ...base, trend: 10 }, pp).score).toBeGreaterThan(flat);
    expect(pressureScore({ ...base, trend: -10 }, pp).score).toBe(flat);
  });

  test("worked example from docs/governance.md", () => {
    // weights 55/15/10/20 of 100: level 45 of cap 75 → 33; trend +10 of cap 20 → 7.5; 4 open of 20 → 2; 2 overdue of 5 → 8
    const r = pressureScore({ level: 45, trend: 10, open: 4, overdue: 2, contributions: { incidents_sev1_30d: 20, critical_vulns: 10 } }, pp);
    expect(r.parts).toEqual({ risk_level: 33, risk_trend: 7.5, open_items: 2, overdue_items: 8 });
    expect(r.score).toBe(50.5);
    expect(r.band).toBe("high");
    // The 40.5 risk points are shared 2:1 between the two signals.
    expect(r.causes.incidents_sev1_30d).toBeCloseTo(27);
    expect(r.causes.critical_vulns).toBeCloseTo(13.5);
    // A level at or above the cap (a critical risk score) earns all its weight.
    expect(pressureScore({ level: 90, trend: 0, open: 0, overdue: 0, contributions: {} }, pp).parts.risk_level).toBe(55);
  });
});

describe("summariseWeek: level and trend sign", () => {
  test("rising scores give a positive trend, falling a negative one, the level is the mean", () => {
    const up = [row("gw", "2026-03-02T00:00:00.000Z", { slo_burn_rate: 0 }), row("gw", "2026-03-05T00:00:00.000Z", { slo_burn_rate: 4 })];
    const s = summariseWeek([...up].reverse())!;
    expect(s.trend).toBe(20);
    expect(s.level).toBe(10);
    expect(s.latest).toBe(20);
    expect(summariseWeek([row("gw", "2026-03-02T00:00:00.000Z", { slo_burn_rate: 4 }), row("gw", "2026-03-05T00:00:00.000Z", { slo_burn_rate: 2 })])!.trend).toBe(-10);
    expect(summariseWeek([row("gw", "2026-03-02T00:00:00.000Z", { slo_burn_rate: 4 })])!.trend).toBe(0);
    expect(summariseWeek([])).toBeNull();
  });
});

describe("category mapping", () => {
  test("signals map to the documented categories; causes of one category add up", () => {
    const ranked = categoryPoints({ incidents_sev1_30d: 10, slo_burn_rate: 5, critical_vulns: 12, change_failure_rate: 3, open_items: 1, overdue_items: 9 }, pp.categories);
    expect(ranked).toEqual([
      { category: "slo_hardening", points: 15, causes: ["incidents_sev1_30d", "slo_burn_rate"] },
      { category: "security", points: 12, causes: ["critical_vulns"] },
      { category: "arch_review", points: 9, causes: ["overdue_items"] },
      { category: "refactor", points: 3, causes: ["change_failure_rate"] },
      { category: "tech_debt", points: 1, causes: ["open_items"] },
    ]);
    expect(recommend("high", ranked, pp).map((c) => c.category)).toEqual(["slo_hardening", "security", "arch_review"]);
    expect(recommend("high", ranked, { ...pp, max_categories: 1 }).map((c) => c.category)).toEqual(["slo_hardening"]);
    expect(recommend("low", ranked, pp)).toEqual([]);
  });

  test("each dominant cause recommends its category", () => {
    const cases: [Signals, string][] = [
      [{ incidents_sev1_30d: 3, incidents_sev2_30d: 10 }, "slo_hardening"],
      [{ slo_burn_rate: 8, oncall_pages_7d: 40 }, "slo_hardening"],
      [{ critical_vulns: 9 }, "security"],
      [{ change_failure_rate: 0.6 }, "refactor"],
    ];
    for (const [signals, category] of cases) {
      const rows = [row("svc", "2026-03-02T00:00:00.000Z", signals)];
      // Level alone may be low; a big overdue pile would add arch_review, so keep the backlog empty.
      const e = buildPlatformEntry("svc", rows, { open: 0, overdue: 0 }, parseRiskPolicy({ pressure: { min_band_for_recommendations: "low" } }));
      expect(e.recommended_categories[0]).toBe(category);
    }
    const piled = buildPlatformEntry("svc", [row("svc", "2026-03-02T00:00:00.000Z", { open_alerts: 1 })], { open: 30, overdue: 9 }, risk);
    expect(piled.recommended_categories).toEqual(["arch_review", "tech_debt"]);
    expect(piled.reasons.join("\n")).toContain("arch_review: overdue_items add 20 pressure points");
  });

  test("every mapped category exists in the shipped backlog policy; a missing one is a config error naming both files", () => {
    const backlog = loadPolicy(undefined, {});
    expect(() => checkCategories(pp.categories, Object.keys(backlog.categories), "config/risk_policy.yml", backlog.source)).not.toThrow();
    expect(new Set(CAUSES.map((c) => pp.categories[c]))).toEqual(new Set(["slo_hardening", "security", "refactor", "tech_debt", "arch_review"]));
    expect(() => checkCategories(pp.categories, ["security"], "config/risk_policy.yml", "b.yml")).toThrow(/b\.yml does not define:\n {2}pressure\.categories\.incidents_sev1_30d: "slo_hardening"/);
  });
});

describe("buildPlatformDigest", () => {
  test("valid against the generation schema; highest pressure first; one table per band", () => {
    const history = [
      row("gw", "2026-03-02T00:00:00.000Z", { incidents_sev1_30d: 1 }),
      row("gw", "2026-03-06T00:00:00.000Z", { incidents_sev1_30d: 3, slo_burn_rate: 6 }),
      row("db", "2026-03-06T00:00:00.000Z", { critical_vulns: 1 }),
    ];
    const counts = new Map([["gw", { open: 3, overdue: 1 }]]);
    const d = buildPlatformDigest({ env: "prod", week: "2026-W10", generatedAt: "2026-03-09T06:00:00.000Z", history, counts, policy: risk });
    expect(v.safeParse(platformDigestSchema(Object.keys(loadPolicy(undefined, {}).categories)), d).success).toBe(true);
    expect(d.services.map((s) => s.service)).toEqual(["gw", "db"]);
    expect(d.services[0]!.signals).toMatchObject({ risk_level: 26.7, risk_latest: 45, risk_trend: 36.7, open_items: 3, overdue_items: 1, incidents_sev1_30d: 3 });
    expect(d.services[1]!.recommended_categories).toEqual([]);
    const md = renderPlatformMarkdown(d, { from: "a", to: "b" });
    expect(md).toContain("## Critical (0)");
    expect(md).toMatch(/## High \(1\)\n\n\| Service[^\n]*\n\|---[^\n]*\n\| gw \| 40.1 \| 26.7 \| \+36.7 \| 3 \| 1 \| slo_hardening \|/);
    expect(md).toMatch(/## Low \(1\)\n\n[^\n]*\n[^\n]*\n\| db \|/);
  });
});
