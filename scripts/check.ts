/**
 * `bun run check`: fails (exit 1) with a readable diff when a generated artifact (the cron file, the
 * Kubernetes CronJobs) disagrees with ops/task_registry.yml.
 *
 *   bun run scripts/check.ts [--registry FILE] [--cron FILE]
 */
import process from "node:process";
import { type ParsedCli, runCli } from "../lib/cli.ts";
import { cronFileCheck, cronJobsCheck, runChecks, type Check } from "../lib/scheduler/checks.ts";

const spec = {
  name: "check",
  usage: `Usage: bun run scripts/check.ts [--registry FILE] [--cron FILE] [--cronjobs FILE]

Checks that ops/cron/jobs.cron and the Kubernetes CronJobs in ops/k8s/governance-cronjobs.yml match
ops/task_registry.yml (schedule, tool, action, params, log / timeZone and concurrencyPolicy, and no job
missing on either side). Exit 0 when in sync, 1 with the differences and the fix otherwise.`,
  flags: { registry: { type: "string" }, cron: { type: "string" }, cronjobs: { type: "string" } },
} as const;

async function main({ values }: ParsedCli): Promise<number> {
  const checks: Check[] = [cronFileCheck(values.cron as string | undefined), cronJobsCheck(values.cronjobs as string | undefined)];
  const report = runChecks(values.registry as string | undefined, checks);
  (report.ok ? process.stdout : process.stderr).write(report.lines.join("\n") + "\n");
  return report.ok ? 0 : 1;
}

runCli(spec, main);
