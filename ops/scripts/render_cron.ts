/**
 * Renders ops/cron/jobs.cron (and the Kubernetes CronJobs) from ops/task_registry.yml, each atomically.
 *
 *   npx bun run ops/scripts/render_cron.ts [--stdout] [--registry FILE] [--out FILE]
 */
import process from "node:process";
import { AppError } from "../../lib/core/app-error.ts";
import { type ParsedCli, runCli } from "../../lib/core/cli.ts";

const spec = {
  name: "render_cron",
  usage: `Usage: npx bun run ops/scripts/render_cron.ts [--stdout] [--registry FILE] [--out FILE] [--cronjobs-out FILE]

Writes, from the task registry, the /etc/cron.d file for the governance jobs and the equivalent
Kubernetes CronJobs.
  --stdout             print the cron file instead of writing
  --registry FILE      default ops/task_registry.yml
  --out FILE           default ops/cron/jobs.cron
  --cronjobs-out FILE  default ops/k8s/governance-cronjobs.yml`,
  flags: { stdout: { type: "boolean" }, registry: { type: "string" }, out: { type: "string" }, "cronjobs-out": { type: "string" } },
} as const;

async function main({ values }: ParsedCli<typeof spec.flags>): Promise<number> {
  // Imported here, not at the top: --help is answered before the registry, YAML and logger load.
  const [{ describeError }, { log }, { writeFileAtomic }, { DEFAULT_CRON_FILE, DEFAULT_CRONJOBS_FILE }, { renderCron }, { renderCronJobs }, { DEFAULT_REGISTRY_FILE, loadRegistry }] = await Promise.all([
    import("../../lib/core/errors.ts"),
    import("../../lib/core/log.ts"),
    import("../../lib/generation/reports.ts"),
    import("../../lib/scheduler/checks.ts"),
    import("../../lib/scheduler/cron-file.ts"),
    import("../../lib/scheduler/k8s-cronjobs.ts"),
    import("../../lib/scheduler/registry.ts"),
  ]);
  const jobs = loadRegistry(values.registry ?? DEFAULT_REGISTRY_FILE);
  const text = renderCron(jobs);
  if (values.stdout) return void process.stdout.write(text), 0;
  const files: [string, string][] = [
    [values.out ?? DEFAULT_CRON_FILE, text],
    [values["cronjobs-out"] ?? DEFAULT_CRONJOBS_FILE, renderCronJobs(jobs)],
  ];
  for (const [out, content] of files) {
    try {
      await writeFileAtomic(out, content); // temp + fsync + rename: cron never reads half a file
    } catch (err) {
      // writeFileAtomic speaks of reports; keep only the filesystem's own error.
      const why = (err as Error).cause ?? err;
      throw new AppError("unavailable", `Cannot write ${out}: ${describeError(why)}. Pass --out / --cronjobs-out, or --stdout to print.`, { cause: why });
    }
    log.info("rendered", { file: out, jobs: jobs.length });
  }
  return 0;
}

runCli(spec, main);
