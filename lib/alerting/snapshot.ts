/**
 * What one /metrics scrape reports beyond HTTP counters, gathered in one go: the item counts
 * (counts.ts, from the store's backend), the store's degraded flag and replay quarantine, and per job
 * the run ledger's view plus the schedule's fires. Everything comes from shared state (store, ledger,
 * schedule), never from this process's memory, so N replicas behind one store report the same numbers
 * and the alert rules take `max` over instances (docs/alerting.md).
 */
import { latestFire, nextFire } from "../scheduler/schedule.ts";
import type { JobStats, RunLedger } from "../scheduler/ledger.ts";
import type { BacklogStore, StoreHealth } from "../store/types.ts";
import type { AlertCounts } from "./counts.ts";
import type { AttentionSource } from "./source.ts";

export interface JobMetric {
  job: string;
  /** Unix seconds or null (no run yet / no fire). */
  last_run: number | null;
  last_success: number | null;
  /** 1 when the latest run is still running past STUCK_AFTER_MS (lib/scheduler/ledger.ts). */
  stuck: 0 | 1;
  /** 1 when the task registry suspends the job (the missed/stuck/failing alerts stay quiet for it). */
  suspended: 0 | 1;
  /** 1 when the job's latest run ended in error (lib/scheduler/ledger.ts JobStats.last_failed). */
  failed: 0 | 1;
  runs: JobStats["runs"];
  previous_fire: number | null;
  next_fire: number | null;
  catch_up_seconds: number;
}

export interface MetricsSnapshot {
  counts: AlertCounts;
  store: { degraded: boolean; quarantined: number };
  jobs: JobMetric[];
}

export interface SnapshotDeps {
  source: AttentionSource;
  health(): Promise<StoreHealth>;
  /** Replay's quarantine count (quarantineOf(store)). */
  quarantined?(): number;
  ledger: Pick<RunLedger, "stats">;
  /** The scheduled jobs (cron file) with their catch-up windows (task registry). */
  jobs: { id: string; schedule: string; catchUpMs: number; suspended?: boolean }[];
  envs: readonly string[];
  warnDays: number;
}

/** Journal records the auto store's replay set aside (AutoBacklogStore.quarantined); 0 for other stores. */
export function quarantineOf(store: BacklogStore): number {
  const q = (store as BacklogStore & { quarantined?: () => number }).quarantined;
  return typeof q === "function" ? q.call(store) : 0;
}

const secs = (iso: string | null | undefined): number | null => (iso ? Date.parse(iso) / 1000 : null);

/**
 * A schedule's fires around `now`, remembered until `now` reaches the next one: croner walks back minute
 * by minute for the previous fire (milliseconds per job), and every snapshot of every job would ask.
 */
const fireMemo = new Map<string, { prev: Date | null; next: Date | null }>();
function firesAround(schedule: string, now: Date): { prev: Date | null; next: Date | null } {
  const m = fireMemo.get(schedule);
  const t = now.getTime();
  if (m && m.next && m.prev && m.prev.getTime() <= t && t < m.next.getTime()) return m;
  const fresh = { prev: latestFire(schedule, now), next: nextFire(schedule, now) };
  fireMemo.set(schedule, fresh);
  return fresh;
}

export async function takeSnapshot(deps: SnapshotDeps, now: Date): Promise<MetricsSnapshot> {
  const [counts, store, stats] = await Promise.all([
    deps.source.counts(now, deps.warnDays, deps.envs),
    deps.health().then(
      (h) => ({ degraded: h.degraded || h.serving === false, quarantined: deps.quarantined?.() ?? 0 }),
      () => ({ degraded: true, quarantined: deps.quarantined?.() ?? 0 }),
    ),
    deps.ledger.stats(now),
  ]);
  const jobs = deps.jobs.map((j): JobMetric => {
    const s = stats.get(j.id);
    const fires = firesAround(j.schedule, now);
    return {
      job: j.id,
      last_run: secs(s?.last_run_at),
      last_success: secs(s?.last_success_at),
      runs: s?.runs ?? { running: 0, success: 0, error: 0 },
      stuck: s?.stuck ?? 0,
      failed: s?.last_failed ?? 0,
      suspended: j.suspended ? 1 : 0,
      previous_fire: fires.prev ? fires.prev.getTime() / 1000 : null,
      next_fire: fires.next ? fires.next.getTime() / 1000 : null,
      catch_up_seconds: j.catchUpMs / 1000,
    };
  });
  return { counts, store, jobs };
}
