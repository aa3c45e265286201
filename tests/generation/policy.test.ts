import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { thrownBy } from "../helpers/app-error.ts";
import { DEFAULT_POLICY_FILE, evaluateAlerts, loadPolicy, parsePolicyText, resolvePolicyFile, type Policy } from "../../lib/generation/policy.ts";
import { emptyDashboard } from "../../lib/store/compute-dashboard.ts";
import type { OverdueEntry } from "../../lib/store/types.ts";

const dir = mkdtempSync(join(tmpdir(), "bb-policy-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function file(text: string): string {
  const f = join(dir, `policy-${n++}.yml`);
  writeFileSync(f, text);
  return f;
}

describe("loadPolicy", () => {
  test("the shipped file is exactly the defaults (an empty file means the same policy)", () => {
    const shipped = loadPolicy();
    const { source: _s, ...fromFile } = shipped;
    const { source: _e, ...fromEmpty } = parsePolicyText("", "empty.yml");
    expect(fromFile).toEqual(fromEmpty);
    expect(shipped.source).toBe("config/backlog_policy.yml");
  });

  test("runbook section 8 defaults", () => {
    const p = parsePolicyText("# nothing set\n", "x.yml");
    expect(p.defaults).toEqual({ retention_days: 180, max_items_per_run: 50 });
    expect(p.dedupe.key_prefix).toBe("platform_backlog");
    expect(p.generation).toMatchObject({ weekly_from_pressure_digest: true, daily_from_risk_digest: false });
    expect(p.ownership).toEqual({ default_owner: "oncall", overrides: {} });
    expect(p.envs).toEqual(["prod", "staging", "dev"]);
    expect(p.alerts).toEqual({ overdue_notify_above: 5, notify_target: "oncall", page_on_overdue_p0: true, page_target: "cto" });
    for (const c of ["arch_review", "refactor", "slo_hardening", "security", "tech_debt"]) {
      expect(p.categories[c]).toMatchObject({ priority: expect.stringMatching(/^P[0-3]$/), due_days: expect.any(Number), title: expect.stringContaining("{service}") });
    }
  });

  test("missing keys take their defaults, also inside a section and a category", () => {
    const p = parsePolicyText("defaults:\n  retention_days: 30\ncategories:\n  security: {}\n  perf:\n    priority: P0\n", "x.yml");
    expect(p.defaults).toEqual({ retention_days: 30, max_items_per_run: 50 });
    expect(p.categories).toEqual({
      security: { priority: "P2", due_days: 30, title: "{service}: {category} ({period})" },
      perf: { priority: "P0", due_days: 30, title: "{service}: {category} ({period})" },
    });
    expect(p.generation.weekly_from_pressure_digest).toBe(true);
  });

  test("a bad priority names the file, the key path, the allowed values, what was given and the line", () => {
    const f = file("defaults:\n  retention_days: 90\ncategories:\n  security:\n    priority: P9\n    due_days: 7\n");
    const err = thrownBy(() => loadPolicy(f));
    expect(err.message).toContain(`${f} is invalid:`);
    expect(err.message).toContain('categories.security.priority: expected one of P0|P1|P2|P3, got "P9" (line 5)');
    expect(err.details).toEqual(['categories.security.priority: expected one of P0|P1|P2|P3, got "P9" (line 5)']);
  });

  test("unknown keys are errors naming them and the allowed ones (typos are not ignored)", () => {
    const err = thrownBy(() => parsePolicyText("generation:\n  weekly_from_pressure_digests: false\nowner:\n  default_owner: x\ncategories:\n  security:\n    prio: P1\n", "p.yml"));
    expect(err.details).toEqual([
      'categories.security.prio: unknown key "prio" (allowed: priority, due_days, title) (line 7)',
      'generation.weekly_from_pressure_digests: unknown key "weekly_from_pressure_digests" (allowed: weekly_from_pressure_digest, daily_from_risk_digest, daily_min_band, daily_default_categories) (line 2)',
      'owner: unknown key "owner" (allowed: defaults, dedupe, envs, categories, generation, ownership, lifecycle, sla, alerts, notify, alert_intake) (line 3)',
    ]);
  });

  test("YAML syntax errors name the file and the line", () => {
    const f = file("defaults:\n  retention_days: 90\n max_items_per_run: 5\n");
    const err = thrownBy(() => loadPolicy(f));
    expect(err.code).toBe("config");
    expect(err.message).toStartWith(`${f}: invalid YAML at line 3, column 1: All mapping items must start at the same column`);
    expect(thrownBy(() => parsePolicyText("a: 1\na: 2\n", "dup.yml")).message).toBe('dup.yml: duplicate key "a" at line 2, column 1; each key may appear once in a mapping.');
  });

  test("values out of range, bad names, bad templates, unknown default categories", () => {
    const err = thrownBy(() =>
      parsePolicyText(
        [
          "defaults: {retention_days: 0, max_items_per_run: 2.5}",
          "dedupe: {key_prefix: 'a:b'}",
          "envs: [prod, prod]",
          "categories:",
          "  Security: {}",
          "  perf: {title: '{service} {owner}', due_days: '7'}",
          "ownership: {overrides: {gateway: ''}}",
        ].join("\n"),
        "p.yml",
      ),
    );
    expect(err.details).toEqual([
      "defaults.retention_days: must be at least 1 (line 1)",
      "defaults.max_items_per_run: must be a whole number from 1 to 10000 (line 1)",
      "dedupe.key_prefix: must be a lowercase name like tech_debt (a-z, 0-9, _; no colons) (line 2)",
      "envs: must not list an env twice (line 3)",
      "categories.Security: must be a lowercase name like tech_debt (a-z, 0-9, _; no colons) (line 5)",
      "categories.perf.due_days: must be a whole number from 1 to 3650 (line 6)",
      "categories.perf.title: may only use the placeholders {service} {env} {category} {period} {band} {score} (line 6)",
      "ownership.overrides.gateway: must not be empty (line 7)",
    ]);
    // The default daily category must exist once daily generation is on (or the key is written out).
    expect(parsePolicyText("categories:\n  perf: {}\n", "p.yml").generation.daily_default_categories).toEqual(["slo_hardening"]);
    expect(thrownBy(() => parsePolicyText("categories:\n  perf: {}\ngeneration:\n  daily_from_risk_digest: true\n", "p.yml")).details).toEqual([
      'generation.daily_default_categories: not set, and its default "slo_hardening" is not a category of this policy (known: perf); set it (line 3)',
    ]);
    expect(thrownBy(() => parsePolicyText("generation:\n  daily_default_categories: [perf]\n", "p.yml")).details).toEqual([
      'generation.daily_default_categories.0: "perf" is not a category of this policy (known: arch_review, refactor, slo_hardening, security, tech_debt, capacity, incident_followup) (line 2)',
    ]);
  });

  test("which file: explicit path → BACKLOG_POLICY_FILE (relative to the repo root) → default; a missing file says how to fix it", () => {
    expect(resolvePolicyFile(undefined, {})).toBe(DEFAULT_POLICY_FILE);
    expect(resolvePolicyFile(undefined, { BACKLOG_POLICY_FILE: "config/backlog_policy.yml" })).toBe(DEFAULT_POLICY_FILE);
    const f = file("defaults: {retention_days: 7}\n");
    expect(loadPolicy(undefined, { BACKLOG_POLICY_FILE: f }).defaults.retention_days).toBe(7);
    const err = thrownBy(() => loadPolicy(undefined, { BACKLOG_POLICY_FILE: join(dir, "nope.yml") }));
    expect(err.message).toContain(`Cannot read the backlog policy ${join(dir, "nope.yml")} (from BACKLOG_POLICY_FILE): ENOENT`);
    expect(err.message).toContain("Set BACKLOG_POLICY_FILE or restore config/backlog_policy.yml.");
  });
});

describe("evaluateAlerts", () => {
  const policy = parsePolicyText("", "p.yml");
  const overdue = (id: string, priority: OverdueEntry["priority"]): OverdueEntry => ({
    id, env: "prod", service: "gateway", category: "security", title: "t", priority, status: "open", owner: "oncall", due_date: "2026-11-01", days_overdue: 3,
  });
  const dash = (list: OverdueEntry[], count = list.length) => ({ ...emptyDashboard(), overdue: list, overdue_count: count });

  test("nothing overdue → no alerts; 5 overdue is not more than 5", () => {
    expect(evaluateAlerts(dash([]), policy)).toEqual([]);
    expect(evaluateAlerts(dash([1, 2, 3, 4, 5].map((i) => overdue(`bl_${i}`, "P2"))), policy)).toEqual([]);
  });

  test("overdue_count > 5 → notify oncall", () => {
    expect(evaluateAlerts(dash([1, 2, 3, 4, 5, 6].map((i) => overdue(`bl_${i}`, "P2"))), policy)).toEqual([
      { level: "notify", target: "oncall", reason: "6 overdue items (threshold: more than 5)" },
    ]);
  });

  test("any overdue P0 → page cto, also when it is beyond the listed 50", () => {
    expect(evaluateAlerts(dash([overdue("bl_a", "P0"), overdue("bl_b", "P1")]), policy)).toEqual([
      { level: "page", target: "cto", reason: "1 overdue P0 item: bl_a (gateway, due 2026-11-01)" },
    ]);
    const alerts = evaluateAlerts(dash([overdue("bl_b", "P1")], 60), policy, 2);
    expect(alerts.map((a) => [a.level, a.target])).toEqual([["notify", "oncall"], ["page", "cto"]]);
    expect(alerts[1]!.reason).toBe("2 overdue P0 items: 2 more");
  });

  test("thresholds and targets come from the policy", () => {
    const p: Policy = parsePolicyText("alerts: {overdue_notify_above: 0, notify_target: platform, page_on_overdue_p0: false}\n", "p.yml");
    expect(evaluateAlerts(dash([overdue("bl_a", "P0")]), p)).toEqual([{ level: "notify", target: "platform", reason: "1 overdue items (threshold: more than 0)" }]);
  });
});
