/**
 * The two rendered rule files and their drift check (`npx bun run check`): both are rendered from
 * lib/alerting/rules.ts with the policy's `alerts` section and the store's default reconnect period, and
 * must equal the committed files byte for byte.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { loadPolicy } from "../generation/policy.ts";
import type { Check } from "../scheduler/checks.ts";
import { DEFAULT_RETRY_SECONDS } from "../store/index.ts";
import { alertRules, renderPrometheusRule, renderRulesFile } from "./rules.ts";

export const DEFAULT_RULES_FILE = fileURLToPath(new URL("../../ops/prometheus/backlog-bridge.rules.yml", import.meta.url));
export const DEFAULT_PROMETHEUSRULE_FILE = fileURLToPath(new URL("../../ops/k8s/backlog-bridge-prometheusrule.yml", import.meta.url));

export interface AlertFileOptions {
  policyFile?: string;
  rulesFile?: string;
  prometheusRuleFile?: string;
}

/** [path, expected content] for both files. */
export function renderAlertFiles(options: AlertFileOptions = {}): [string, string][] {
  const groups = alertRules(loadPolicy(options.policyFile), { retrySeconds: DEFAULT_RETRY_SECONDS });
  return [
    [options.rulesFile ?? DEFAULT_RULES_FILE, renderRulesFile(groups)],
    [options.prometheusRuleFile ?? DEFAULT_PROMETHEUSRULE_FILE, renderPrometheusRule(groups)],
  ];
}

/** Problem lines: the first differing line of each file (or why it cannot be read). */
export function diffText(file: string, expected: string): string[] {
  let actual: string;
  try {
    actual = readFileSync(file, "utf8");
  } catch (err) {
    return [`cannot read ${file}: ${(err as Error).message}`];
  }
  if (actual === expected) return [];
  const a = actual.split("\n");
  const e = expected.split("\n");
  for (let i = 0; i < Math.max(a.length, e.length); i++) {
    if (a[i] !== e[i]) return [`${file} line ${i + 1}: has ${JSON.stringify(a[i] ?? "<end of file>")}, the rules render ${JSON.stringify(e[i] ?? "<end of file>")}`];
  }
  return [];
}

export function alertRulesCheck(options: AlertFileOptions = {}): Check {
  return {
    name: "alert rules (ops/prometheus, ops/k8s PrometheusRule)",
    fix: "npx bun run ops/scripts/render_alerts.ts (then review and commit both files)",
    failText: "differ from lib/alerting/rules.ts and config/backlog_policy.yml",
    okText: () => "both files match lib/alerting/rules.ts and the policy's alerts",
    run() {
      try {
        return renderAlertFiles(options).flatMap(([file, text]) => diffText(file, text).map((p) => p.replace(/^.*\/ops\//, "ops/")));
      } catch (err) {
        return [(err as Error).message];
      }
    },
  };
}
