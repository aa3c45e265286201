/**
 * Kubernetes CronJobs for the governance jobs, generated from the registry: the alternative to the
 * in-process scheduler when the bridge runs on Kubernetes. Each CronJob runs the bundled runner
 * (dist/run_governance_job.js from ConfigMap backlog-bridge-scripts) against the backlog-bridge Service.
 */
import YAML from "yaml";
import { stableJson } from "../store/logic.ts";
import type { JobSpec } from "./registry.ts";

export const BUN_IMAGE = "oven/bun:1.4.5";
export const ROUTER_SERVICE_URL = "http://backlog-bridge:8000";
export const SCRIPTS_CONFIGMAP = "backlog-bridge-scripts";
export const SECRET = "backlog-bridge-secrets";

/** Kubernetes object names are DNS labels: weekly_backlog_generate → governance-weekly-backlog-generate. */
export const cronJobName = (id: string) => `governance-${id.replaceAll("_", "-")}`;

export function cronJobFor(j: JobSpec): Record<string, unknown> {
  return {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: {
      name: cronJobName(j.id),
      labels: { "app.kubernetes.io/name": "backlog-bridge", "app.kubernetes.io/component": "governance-job", "backlog-bridge/job": j.id },
      annotations: {
        "backlog-bridge/description": j.description,
        "backlog-bridge/generated-from": "ops/task_registry.yml",
        ...(j.suspend_reason ? { "backlog-bridge/suspend-reason": j.suspend_reason } : {}),
      },
    },
    spec: {
      schedule: j.schedule,
      // the registry's suspend: the controller creates no Job while true (the runner refuses too)
      suspend: j.suspend,
      timeZone: "UTC",
      concurrencyPolicy: "Forbid",
      // a missed start may still happen this late: the registry's catch-up window (2 min when none)
      startingDeadlineSeconds: j.catchUpMs > 0 ? Math.round(j.catchUpMs / 1000) : 120,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 3,
      jobTemplate: {
        spec: {
          backoffLimit: 2,
          activeDeadlineSeconds: 3600,
          ttlSecondsAfterFinished: 86400,
          template: {
            metadata: { labels: { "app.kubernetes.io/name": "backlog-bridge", "backlog-bridge/job": j.id } },
            spec: {
              restartPolicy: "Never",
              securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, seccompProfile: { type: "RuntimeDefault" } },
              containers: [
                {
                  name: "runner",
                  image: BUN_IMAGE,
                  command: ["bun", "/scripts/run_governance_job.js", "--job", j.id, "--tool", j.tool, "--action", j.action, "--params-json", JSON.stringify(j.params)],
                  env: [
                    // read-only root filesystem: temp files in the /tmp emptyDir, no transpiler cache
                    { name: "TMPDIR", value: "/tmp" },
                    { name: "HOME", value: "/tmp" },
                    { name: "BUN_RUNTIME_TRANSPILER_CACHE_PATH", value: "0" },
                    { name: "ROUTER_URL", value: ROUTER_SERVICE_URL },
                    // the runner claims the job's scheduled fire from the registry (a late pod claims the right minute)
                    { name: "BACKLOG_TASK_REGISTRY_FILE", value: "/config/task_registry.yml" },
                    { name: "SCHEDULER_API_KEY", valueFrom: { secretKeyRef: { name: SECRET, key: "SCHEDULER_API_KEY" } } },
                    { name: "RUNNER_TIMEOUT_SECONDS", value: "3000" },
                  ],
                  resources: { requests: { cpu: "10m", memory: "48Mi" }, limits: { cpu: "200m", memory: "128Mi" } },
                  securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
                  volumeMounts: [
                    { name: "scripts", mountPath: "/scripts", readOnly: true },
                    { name: "config", mountPath: "/config", readOnly: true },
                    { name: "tmp", mountPath: "/tmp" },
                  ],
                },
              ],
              volumes: [
                { name: "scripts", configMap: { name: SCRIPTS_CONFIGMAP, items: [{ key: "run_governance_job.js", path: "run_governance_job.js" }] } },
                { name: "config", configMap: { name: "backlog-bridge-config", items: [{ key: "task_registry.yml", path: "task_registry.yml" }] } },
                { name: "tmp", emptyDir: {} },
              ],
            },
          },
        },
      },
    },
  };
}

export function renderCronJobs(jobs: JobSpec[]): string {
  const header =
    "# GENERATED from ops/task_registry.yml by `npx bun run ops/scripts/render_cron.ts` - do not edit by hand;\n" +
    "# `npx bun run check` fails when these CronJobs and the registry disagree.\n" +
    `# The container runs plain \`bun\`: the ${BUN_IMAGE} image has bun on its PATH (unlike a host after npm ci).\n`;
  return header + jobs.map((j) => YAML.stringify(cronJobFor(j), { lineWidth: 0 })).join("---\n");
}

interface ParsedCronJob {
  id: string;
  name: string;
  schedule: unknown;
  timeZone: unknown;
  concurrencyPolicy: unknown;
  suspend: unknown;
  command: string[];
}

export function parseCronJobs(text: string): ParsedCronJob[] {
  return YAML.parseAllDocuments(text)
    .map((d) => d.toJS() as Record<string, any> | null)
    .filter((d): d is Record<string, any> => Boolean(d) && d!.kind === "CronJob")
    .map((d) => ({
      id: String(d.metadata?.labels?.["backlog-bridge/job"] ?? d.metadata?.name),
      name: String(d.metadata?.name),
      schedule: d.spec?.schedule,
      timeZone: d.spec?.timeZone,
      concurrencyPolicy: d.spec?.concurrencyPolicy,
      // absent means false to Kubernetes
      suspend: d.spec?.suspend ?? false,
      command: d.spec?.jobTemplate?.spec?.template?.spec?.containers?.[0]?.command ?? [],
    }));
}

export function diffCronJobs(registry: JobSpec[], parsed: ParsedCronJob[]): string[] {
  const problems: string[] = [];
  const byId = new Map(parsed.map((p) => [p.id, p]));
  for (const r of registry) {
    const p = byId.get(r.id);
    if (!p) {
      problems.push(`${r.id}: in the registry but no CronJob ${cronJobName(r.id)}`);
      continue;
    }
    const arg = (flag: string) => {
      const k = p.command.indexOf(flag);
      return k >= 0 ? p.command[k + 1] : undefined;
    };
    const cmp = (field: string, want: unknown, got: unknown) => {
      if (want !== got) problems.push(`${r.id}: ${field} is ${JSON.stringify(want)} in the registry but ${JSON.stringify(got)} in CronJob ${p.name}`);
    };
    cmp("schedule", r.schedule, p.schedule);
    cmp("timeZone", "UTC", p.timeZone);
    cmp("concurrencyPolicy", "Forbid", p.concurrencyPolicy);
    cmp("suspend", r.suspend, p.suspend);
    cmp("tool", r.tool, arg("--tool"));
    cmp("action", r.action, arg("--action"));
    let params: unknown = null;
    try {
      params = JSON.parse(arg("--params-json") ?? "null");
    } catch {
      params = arg("--params-json");
    }
    cmp("params", stableJson(r.params), stableJson(params));
  }
  const ids = new Set(registry.map((r) => r.id));
  for (const p of parsed) if (!ids.has(p.id)) problems.push(`${p.id}: CronJob ${p.name} is not in the registry`);
  return problems;
}
