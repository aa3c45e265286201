/**
 * Drift checks behind `npx bun run check`: every generated artifact must match ops/task_registry.yml, and
 * every job must be runnable (tools-check.ts). Each check returns problem lines (empty = in sync) and
 * the command that fixes them; add a check by adding a Check to the list in scripts/check.ts.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { diffCron, parseCron } from "./cron-file.ts";
import { diffCronJobs, parseCronJobs } from "./k8s-cronjobs.ts";
import { loadRegistry, type JobSpec } from "./registry.ts";

export const DEFAULT_CRON_FILE = fileURLToPath(new URL("../../ops/cron/jobs.cron", import.meta.url));
export const DEFAULT_CRONJOBS_FILE = fileURLToPath(new URL("../../ops/k8s/governance-cronjobs.yml", import.meta.url));

function readOr(file: string): string | string[] {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    return [`cannot read ${file}: ${(err as Error).message}`];
  }
}

export interface Check {
  name: string;
  fix: string;
  run(registry: JobSpec[]): string[];
  /** What "no problems" means; default "<n> jobs match the registry". */
  okText?(jobs: number): string;
  /** Heading of the problem list; default "is out of sync with ops/task_registry.yml". */
  failText?: string;
}

export function cronFileCheck(file = DEFAULT_CRON_FILE): Check {
  return {
    name: `cron file ${file.replace(/^.*\/ops\//, "ops/")}`,
    fix: "npx bun run ops/scripts/render_cron.ts (then review and commit ops/cron/jobs.cron)",
    run(registry) {
      const text = readOr(file);
      if (Array.isArray(text)) return text;
      try {
        return diffCron(registry, parseCron(text, file), "the cron file");
      } catch (err) {
        return [(err as Error).message];
      }
    },
  };
}

export function cronJobsCheck(file = DEFAULT_CRONJOBS_FILE): Check {
  return {
    name: `Kubernetes CronJobs ${file.replace(/^.*\/ops\//, "ops/")}`,
    fix: "npx bun run ops/scripts/render_cron.ts (then review and commit ops/k8s/governance-cronjobs.yml)",
    run(registry) {
      const text = readOr(file);
      if (Array.isArray(text)) return text;
      try {
        return diffCronJobs(registry, parseCronJobs(text));
      } catch (err) {
        return [`${file}: ${(err as Error).message}`];
      }
    },
  };
}

export interface CheckReport {
  ok: boolean;
  lines: string[];
}

export function runChecks(registryFile: string | undefined, checks: Check[]): CheckReport {
  const lines: string[] = [];
  let registry: JobSpec[];
  try {
    registry = loadRegistry(registryFile);
  } catch (err) {
    return { ok: false, lines: [`FAIL task registry: ${(err as Error).message}`] };
  }
  let ok = true;
  for (const c of checks) {
    const problems = c.run(registry);
    if (problems.length === 0) {
      lines.push(`ok   ${c.name}: ${c.okText?.(registry.length) ?? `${registry.length} jobs match the registry`}`);
    } else {
      ok = false;
      lines.push(`FAIL ${c.name} ${c.failText ?? "is out of sync with ops/task_registry.yml"}:`, ...problems.map((p) => `  - ${p}`), `  fix: ${c.fix}`);
    }
  }
  return { ok, lines };
}
