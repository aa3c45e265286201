/**
 * `npx bun run check`: fails (exit 1) with a readable diff when a generated artifact (the cron file, the
 * Kubernetes CronJobs) disagrees with ops/task_registry.yml, or a job could not run (unknown tool
 * action, wrong entitlement, params the action refuses, a scheduler agent without the right), or the
 * alert rule files differ from lib/alerting/rules.ts.
 *
 *   npx bun run scripts/check.ts [--registry FILE] [--cron FILE] [--cronjobs FILE] [--access FILE] [--policy FILE]
 */
import process from "node:process";
import { type ParsedCli, runCli } from "../lib/core/cli.ts";
import type { Check } from "../lib/scheduler/checks.ts";

const spec = {
  name: "check",
  usage: `Usage: npx bun run scripts/check.ts [--registry FILE] [--cron FILE] [--cronjobs FILE] [--access FILE] [--policy FILE]

Checks that ops/cron/jobs.cron and the Kubernetes CronJobs in ops/k8s/governance-cronjobs.yml match
ops/task_registry.yml (schedule, tool, action, params, log / timeZone and concurrencyPolicy, and no job
missing on either side), and that every job names a real tool action whose entitlement the registry
states and the scheduler agent of config/access.yml (--access, BACKLOG_ACCESS_FILE) holds, with params
the action accepts (and dry_run where the registry claims it); and that the Prometheus alert rules
(ops/prometheus/backlog-bridge.rules.yml, ops/k8s/backlog-bridge-prometheusrule.yml) are what
lib/alerting/rules.ts renders with the policy's alerts (--policy, BACKLOG_POLICY_FILE). Exit 0 when all hold, 1 with the
differences and the fix otherwise.`,
  flags: { registry: { type: "string" }, cron: { type: "string" }, cronjobs: { type: "string" }, access: { type: "string" }, policy: { type: "string" } },
} as const;

async function main({ values }: ParsedCli<typeof spec.flags>): Promise<number> {
  // Imported here, not at the top, so --help answers without loading the checks.
  const [{ alertRulesCheck }, { cronFileCheck, cronJobsCheck, runChecks }, { toolsCheck }] = await Promise.all([
    import("../lib/alerting/files.ts"),
    import("../lib/scheduler/checks.ts"),
    import("../lib/scheduler/tools-check.ts"),
  ]);
  const checks: Check[] = [cronFileCheck(values.cron), cronJobsCheck(values.cronjobs), await toolsCheck(values.access), alertRulesCheck({ policyFile: values.policy })];
  const report = runChecks(values.registry, checks);
  (report.ok ? process.stdout : process.stderr).write(report.lines.join("\n") + "\n");
  return report.ok ? 0 : 1;
}

runCli(spec, main);
