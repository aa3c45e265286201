/** Risk maths on plain data: bounds, monotonicity per signal, bands, latest-signal folding, policy validation. */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import * as v from "valibot";
import { DEFAULT_SIGNAL_WEIGHTS, loadRiskPolicy, parseRiskPolicy, resolveRiskPolicyFile } from "../../lib/risk/policy.ts";
import { bandFor, hourStart, latestSignals, scoreSignals, topSignals } from "../../lib/risk/score.ts";
import { SIGNAL_NAMES, SIGNALS, SignalsSchema, type SignalName, type SignalRecord, type Signals } from "../../lib/risk/signals.ts";

const policy = parseRiskPolicy({});

/** Any valid signal set (each signal present or absent, within its documented range). */
const signalsArb: fc.Arbitrary<Signals> = fc.record(
  Object.fromEntries(
    SIGNAL_NAMES.map((n) => [n, SIGNALS[n].integer ? fc.integer({ min: 0, max: SIGNALS[n].max }) : fc.double({ min: 0, max: SIGNALS[n].max, noNaN: true })]),
  ) as Record<SignalName, fc.Arbitrary<number>>,
  { requiredKeys: [] },
);

describe("scoreSignals", () => {
  test("the shipped file is exactly the defaults", () => {
    expect(loadRiskPolicy(resolveRiskPolicyFile(undefined, {}), {})).toEqual(policy);
  });

  test("always 0–100, and each signal's points never exceed its share of the weights", () => {
    const total = SIGNAL_NAMES.reduce((s, n) => s + DEFAULT_SIGNAL_WEIGHTS[n].weight, 0);
    fc.assert(
      fc.property(signalsArb, (signals) => {
        const r = scoreSignals(signals, policy);
        expect(r.score).toBeGreaterThanOrEqual(0);
        expect(r.score).toBeLessThanOrEqual(100);
        for (const n of SIGNAL_NAMES) expect(r.contributions[n] ?? 0).toBeLessThanOrEqual((100 * DEFAULT_SIGNAL_WEIGHTS[n].weight) / total + 0.05);
      }),
    );
  });

  test("monotonic in every signal: raising one never lowers the score", () => {
    fc.assert(
      fc.property(signalsArb, fc.constantFrom(...SIGNAL_NAMES), fc.double({ min: 0, max: 1, noNaN: true }), (signals, name, frac) => {
        const before = scoreSignals(signals, policy).score;
        const cur = signals[name] ?? 0;
        let raised = cur + (SIGNALS[name].max - cur) * frac;
        if (SIGNALS[name].integer) raised = Math.ceil(raised);
        expect(scoreSignals({ ...signals, [name]: raised }, policy).score).toBeGreaterThanOrEqual(before);
      }),
    );
  });

  test("strictly rises below the cap, and is flat above it", () => {
    for (const n of SIGNAL_NAMES) {
      const cap = DEFAULT_SIGNAL_WEIGHTS[n].cap;
      expect(scoreSignals({ [n]: cap / 2 }, policy).score).toBeGreaterThan(scoreSignals({ [n]: 0 }, policy).score);
      expect(scoreSignals({ [n]: cap }, policy).score).toBeGreaterThan(scoreSignals({ [n]: cap / 2 }, policy).score);
      expect(scoreSignals({ [n]: SIGNALS[n].max }, policy).score).toBe(scoreSignals({ [n]: cap }, policy).score);
    }
  });

  test("worked example from docs/governance.md", () => {
    // 2 SEV1 of cap 3 → 25 × 2/3 = 16.7; burn 2 of cap 4 → 10; 1 critical vuln of cap 5 → 3.
    const r = scoreSignals({ incidents_sev1_30d: 2, slo_burn_rate: 2, critical_vulns: 1 }, policy);
    expect(r.contributions).toEqual({ incidents_sev1_30d: 16.7, slo_burn_rate: 10, critical_vulns: 3 });
    expect(r.score).toBe(29.7);
    expect(r.band).toBe("medium");
    expect(scoreSignals(Object.fromEntries(SIGNAL_NAMES.map((n) => [n, SIGNALS[n].max])), policy)).toMatchObject({ score: 100, band: "critical" });
    expect(scoreSignals({ open_alerts: 0 }, policy)).toMatchObject({ score: 0, band: "low" });
  });

  test("weights are relative: doubling all of them changes nothing", () => {
    const doubled = parseRiskPolicy({ signals: Object.fromEntries(SIGNAL_NAMES.map((n) => [n, { weight: DEFAULT_SIGNAL_WEIGHTS[n].weight * 2 }])) });
    fc.assert(fc.property(signalsArb, (s) => expect(scoreSignals(s, doubled).score).toBe(scoreSignals(s, policy).score)));
  });

  test("bands at their thresholds", () => {
    const b = policy.bands;
    expect([0, 24.9, 25, 49.9, 50, 74.9, 75, 100].map((s) => bandFor(s, b))).toEqual(["low", "low", "medium", "medium", "high", "high", "critical", "critical"]);
  });

  test("top signals: most points first, zero-point signals left out", () => {
    const s = { incidents_sev1_30d: 1, critical_vulns: 5, open_alerts: 0 };
    const top = topSignals(s, scoreSignals(s, policy).contributions, 3);
    expect(top.map((t) => t.signal)).toEqual(["critical_vulns", "incidents_sev1_30d"]);
    expect(top[0]).toEqual({ signal: "critical_vulns", value: 5, points: 15 });
  });
});

describe("latestSignals", () => {
  const rec = (service: string, ts: string, signals: Signals, recorded_at = ts): SignalRecord => ({ id: ts + service, env: "prod", service, ts, signals, source: "t", actor: "t", recorded_at });

  test("each signal's newest value inside the window; a re-send for the same instant wins", () => {
    const records = [
      rec("gw", "2026-03-01T00:00:00.000Z", { slo_burn_rate: 5, critical_vulns: 2 }),
      rec("gw", "2026-03-02T00:00:00.000Z", { slo_burn_rate: 1 }),
      rec("gw", "2026-03-02T00:00:00.000Z", { slo_burn_rate: 1.5 }, "2026-03-02T01:00:00.000Z"),
      rec("gw", "2026-03-05T00:00:00.000Z", { slo_burn_rate: 9 }), // after `to`
      rec("db", "2026-02-01T00:00:00.000Z", { open_alerts: 3 }), // before `from`
    ];
    const out = latestSignals(records, "2026-02-20T00:00:00.000Z", "2026-03-03T00:00:00.000Z");
    expect([...out.keys()]).toEqual(["gw"]);
    expect(out.get("gw")!.signals).toEqual({ slo_burn_rate: 1.5, critical_vulns: 2 });
    expect(out.get("gw")!.as_of).toEqual({ slo_burn_rate: "2026-03-02T00:00:00.000Z", critical_vulns: "2026-03-01T00:00:00.000Z" });
  });

  test("hourStart is the UTC hour", () => {
    expect(hourStart(new Date("2026-03-02T09:59:59.999+05:30"))).toBe("2026-03-02T04:00:00.000Z");
  });
});

describe("signal and policy validation", () => {
  const problems = (schema: v.GenericSchema, x: unknown) => {
    const r = v.safeParse(schema, x);
    return r.success ? [] : r.issues.map((i) => `${v.getDotPath(i)}: ${i.message}`);
  };

  test("unknown, negative, fractional counts, out-of-range rates and empty sets are refused, naming the signal", () => {
    expect(problems(SignalsSchema, { slo_burn: 1 })[0]).toContain('slo_burn: unknown signal "slo_burn"');
    expect(problems(SignalsSchema, { open_alerts: -1 })).toEqual(["open_alerts: must be a whole number from 0 to 100000"]);
    expect(problems(SignalsSchema, { incidents_sev1_30d: 1.5 })).toEqual(["incidents_sev1_30d: must be a whole number from 0 to 1000"]);
    expect(problems(SignalsSchema, { change_failure_rate: 1.2 })).toEqual(["change_failure_rate: must be a number from 0 to 1"]);
    expect(problems(SignalsSchema, { slo_burn_rate: Number.NaN })).toEqual(["slo_burn_rate: must be a number from 0 to 1000"]);
    expect(problems(SignalsSchema, {})[0]).toContain("needs at least one signal");
    expect(problems(SignalsSchema, { change_failure_rate: 0.25, oncall_pages_7d: 4 })).toEqual([]);
  });

  test("a bad policy names every bad key path", () => {
    expect(() => parseRiskPolicy({ signals: { slo_burn_rate: { cap: 0, weigth: 3 } }, bands: { medium: 60, high: 50 }, pressure: { categories: { critical_vulns: "Sec" } } }, "x.yml")).toThrow(
      /x\.yml is invalid:\n {2}signals\.slo_burn_rate\.cap: must be a number above 0\n {2}signals\.slo_burn_rate\.weigth: unknown key "weigth"[^\n]*\n {2}bands: band thresholds must rise[^\n]*\n {2}pressure\.categories\.critical_vulns: must be a backlog category name/,
    );
    expect(() => parseRiskPolicy({ signals: { change_failure_rate: { cap: 2 } } })).toThrow("signals.change_failure_rate.cap: must be at most 1");
    expect(() => parseRiskPolicy({ signals: Object.fromEntries(SIGNAL_NAMES.map((n) => [n, { weight: 0 }])) })).toThrow("at least one signal needs a weight above 0");
    expect(() => parseRiskPolicy({ retention: 30 })).toThrow('retention: unknown top-level key "retention"');
  });
});
