/**
 * The alert rules with the real promtool: both renderings are valid rule files, `promtool test rules`
 * passes with input series for every alert (firing and quiet at the edges) and fails when a threshold is
 * changed, labels follow the policy, runbook links land on docs/alerting.md sections, and `bun run check`
 * catches a hand-edited file.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import YAML from "yaml";
import { alertRulesCheck, DEFAULT_PROMETHEUSRULE_FILE, DEFAULT_RULES_FILE, renderAlertFiles } from "../../lib/alerting/files.ts";
import { ALERT_NAMES, alertRules, RUNBOOK_ANCHORS } from "../../lib/alerting/rules.ts";
import { parsePolicyText } from "../../lib/generation/policy.ts";
import { REPO, runScript } from "../helpers/run.ts";
import { promtool } from "./tools.ts";
import { expectExit } from "../helpers/exit.ts";

const TEST_FILE = join(REPO, "tests/alerting/backlog-bridge.rules.test.yml");
const dir = mkdtempSync(join(tmpdir(), "bb-rules-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("rule files", () => {
  test("promtool check rules accepts the plain file and the PrometheusRule's groups", () => {
    const plain = promtool(["check", "rules", DEFAULT_RULES_FILE]);
    expect(plain.out).toContain(`SUCCESS: ${ALERT_NAMES.length + 1} rules found`); // + the suspension recording rule
    expectExit(plain, 0);
    const pr = YAML.parse(readFileSync(DEFAULT_PROMETHEUSRULE_FILE, "utf8"));
    expect(pr).toMatchObject({ apiVersion: "monitoring.coreos.com/v1", kind: "PrometheusRule", metadata: { name: "backlog-bridge" } });
    const extracted = join(dir, "from-prometheusrule.yml");
    writeFileSync(extracted, YAML.stringify({ groups: pr.spec.groups }));
    const k8s = promtool(["check", "rules", extracted]);
    expectExit(k8s, 0);
    // one source: the same groups in both
    expect(pr.spec.groups).toEqual(YAML.parse(readFileSync(DEFAULT_RULES_FILE, "utf8")).groups);
  });

  test("promtool check rules really rejects a broken expression", () => {
    const bad = join(dir, "bad.yml");
    writeFileSync(bad, readFileSync(DEFAULT_RULES_FILE, "utf8").replace("max by (env) (backlog_overdue_items{priority=\"P0\"}) > 0", "max by (env) (backlog_overdue_items{priority=\"P0\"} > 0"));
    expect(promtool(["check", "rules", bad]).code).not.toBe(0);
  });
});

describe("promtool test rules", () => {
  test("every alert fires and stays quiet at its edges", () => {
    const r = promtool(["test", "rules", TEST_FILE]);
    expect(r.out).toContain("SUCCESS");
    expectExit(r, 0);
  });

  test("a job with fires more than 8 days apart: the fire it skipped while suspended stays quiet after the resume, past 8 days", () => {
    // tests/alerting/long-period.rules.test.yml: nine days of evaluations (several seconds of promtool)
    const r = promtool(["test", "rules", join(REPO, "tests/alerting/long-period.rules.test.yml")]);
    expect(r.out).toContain("SUCCESS");
    expectExit(r, 0);
  }, 120_000);

  test("covers every alert of the rules file with a firing case and a quiet case", () => {
    const t = YAML.parse(readFileSync(TEST_FILE, "utf8"));
    const cases = t.tests.flatMap((x: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }) => x.alert_rule_test);
    const rules = YAML.parse(readFileSync(DEFAULT_RULES_FILE, "utf8")).groups.flatMap((g: { rules: { alert?: string }[] }) => g.rules.flatMap((r) => (r.alert ? [r.alert] : [])));
    expect(rules.sort()).toEqual([...ALERT_NAMES].sort());
    for (const name of rules) {
      const mine = cases.filter((c: { alertname: string }) => c.alertname === name);
      expect({ name, fires: mine.some((c: { exp_alerts: unknown[] }) => c.exp_alerts.length > 0) }).toEqual({ name, fires: true });
      expect({ name, quiet: mine.some((c: { exp_alerts: unknown[] }) => c.exp_alerts.length === 0) }).toEqual({ name, quiet: true });
    }
  });

  test("fails when a threshold moves by one (the tests pin the edges)", () => {
    for (const [from, to] of [
      ["backlog_overdue_items)) > 5", "backlog_overdue_items)) > 4"],
      ["for: 5m\n        labels:\n          severity: critical", "for: 4m\n        labels:\n          severity: critical"],
      ["catch_up_window_seconds) + 600", "catch_up_window_seconds) + 540"],
      ["for: 6m", "for: 5m"],
    ]) {
      const rules = readFileSync(DEFAULT_RULES_FILE, "utf8");
      expect(rules).toContain(from!);
      const mutated = join(dir, "mutated.rules.yml");
      writeFileSync(mutated, rules.replace(from!, to!));
      const testFile = join(dir, "mutated.test.yml");
      writeFileSync(testFile, readFileSync(TEST_FILE, "utf8").replace("../../ops/prometheus/backlog-bridge.rules.yml", mutated));
      const r = promtool(["test", "rules", testFile]);
      expect({ from, code: r.code === 0 ? 0 : 1 }).toEqual({ from, code: 1 });
    }
  }, 60_000); // four promtool runs of ~1 s each (the suspension subquery spans 8 days); a loaded machine needs more than the 5 s default
});

describe("rules follow the policy", () => {
  test("team labels are the policy's targets; the page rule exists only when page_on_overdue_p0", () => {
    const p = parsePolicyText("alerts:\n  overdue_notify_above: 9\n  notify_target: sre\n  page_target: vp-eng\n", "p.yml");
    const [g] = alertRules(p, { retrySeconds: 120 });
    const by = Object.fromEntries(g!.rules.filter((r) => "alert" in r).map((r) => [r.alert, r]));
    expect(by.BacklogOverdueItems!.expr).toEndWith("> 9");
    expect(by.BacklogOverdueItems!.labels).toEqual({ severity: "warning", team: "sre", action: "notify" });
    expect(by.BacklogOverdueP0!.labels).toEqual({ severity: "critical", team: "vp-eng", action: "page" });
    expect(by.BacklogStoreDegraded!.for).toBe("3m"); // 120 s retry period + a minute
    const off = parsePolicyText("alerts:\n  page_on_overdue_p0: false\n", "p.yml");
    expect(alertRules(off, { retrySeconds: 300 })[0]!.rules.map((r) => ("alert" in r ? r.alert : r.record))).not.toContain("BacklogOverdueP0");
  });

  test("every runbook link is a section of docs/alerting.md", () => {
    const doc = readFileSync(join(REPO, "docs/alerting.md"), "utf8");
    const anchors = [...doc.matchAll(/^#+ (.+)$/gm)].map((m) => m[1]!.trim().toLowerCase().replace(/[^a-z0-9 -]/g, "").replace(/ /g, "-"));
    for (const name of ALERT_NAMES) expect({ name, anchor: anchors.includes(RUNBOOK_ANCHORS[name]) }).toEqual({ name, anchor: true });
  });
});

describe("drift check", () => {
  test("passes on the committed files and names the file and line of a hand edit", () => {
    expect(alertRulesCheck().run([])).toEqual([]);
    const [rules, k8s] = renderAlertFiles().map(([, text]) => text);
    const rulesFile = join(dir, "rules.yml");
    const k8sFile = join(dir, "pr.yml");
    writeFileSync(rulesFile, rules!.replace("> 5", "> 50"));
    writeFileSync(k8sFile, k8s!);
    const problems = alertRulesCheck({ rulesFile, prometheusRuleFile: k8sFile }).run([]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(`${rulesFile} line 8`);
    expect(problems[0]).toContain("> 50");
  });

  test("bun run check fails on a policy whose alerts differ from the rendered files, with the fix", async () => {
    const policy = join(dir, "policy.yml");
    writeFileSync(policy, "alerts:\n  overdue_notify_above: 7\n");
    const r = await runScript("scripts/check.ts", ["--policy", policy]);
    expectExit(r, 1);
    expect(r.stderr).toContain("FAIL alert rules");
    expect(r.stderr).toContain("fix: npx bun run ops/scripts/render_alerts.ts");
    const ok = await runScript("scripts/check.ts");
    expect(ok.stdout).toContain("ok   alert rules");
    expectExit(ok, 0);
  });
});
