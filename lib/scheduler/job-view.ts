/**
 * What GET /v1/scheduler/jobs and /ui/jobs show per job: its schedule, the registry's words about it,
 * and its latest run from the ledger, with a stuck run said in words.
 */
import type { CronJob } from "./cron-file.ts";
import { sourceView, stuckNote, type RunRecord } from "./ledger.ts";
import { runByHandRight } from "./run-now.ts";
import { nextFire } from "./schedule.ts";
import type { RegistryJob } from "./scheduler.ts";

export interface JobView {
  id: string;
  schedule: string;
  timezone: "UTC";
  tool: string;
  action: string;
  params: Record<string, unknown>;
  next_run: string | null;
  /** The registry's suspend; next_run is when it would fire, were it resumed. */
  suspended: boolean;
  suspend_reason?: string;
  /** From the task registry (absent when the server has none): what the job does, the entitlement it runs with, the right to run it by hand, whether it has a dry run. */
  description?: string;
  entitlement?: string;
  run_by_hand?: string;
  dry_run?: boolean;
  /** `source` is `manual` for a run started by hand, with `actor` (who); the scheduled_at of a manual run is the instant it was asked for. */
  last_run: { run_id: string; scheduled_at: string; status: string; started_at: string; ended_at: string | null; source: string; actor?: string; error?: string; stuck?: string } | null;
}

/** The view of every cron job now, from the ledger's latest run per job and the task registry as it is. */
export function jobViews(
  jobs: readonly CronJob[],
  last: Map<string, RunRecord>,
  now: Date,
  registry: { suspended: ReadonlyMap<string, string | null>; jobs?: readonly RegistryJob[] },
): JobView[] {
  const { suspended, jobs: registryJobs } = registry;
  return jobs.map((j) => {
    const l = last.get(j.id);
    const stuck = l && stuckNote(l, now);
    const r = registryJobs?.find((x) => x.id === j.id);
    return {
      id: j.id,
      schedule: j.schedule,
      timezone: "UTC" as const,
      tool: j.tool,
      action: j.action,
      params: j.params,
      next_run: nextFire(j.schedule, now)?.toISOString() ?? null,
      suspended: suspended.has(j.id),
      ...(suspended.get(j.id) ? { suspend_reason: suspended.get(j.id)! } : {}),
      ...(r ? { description: r.description, entitlement: r.entitlement, run_by_hand: runByHandRight(r.entitlement), dry_run: r.dry_run } : {}),
      last_run: l ? { run_id: l.run_id, scheduled_at: l.scheduled_at, status: l.status, started_at: l.started_at, ended_at: l.ended_at, ...sourceView(l.source), ...(l.error ? { error: l.error } : {}), ...(stuck ? { stuck } : {}) } : null,
    };
  });
}
