/**
 * Prometheus metrics (prom-client), one registry per app so tests and replicas never share state.
 *
 * Backlog, store and job gauges come from ONE snapshot (lib/alerting/snapshot.ts) taken at most once
 * per `cacheMs` however many scrapers ask: a handful of aggregate queries, never a series per item,
 * and computed from the shared store and run ledger, so every replica reports the same values. Names
 * and labels are the alert rules' inputs (lib/alerting/rules.ts, docs/alerting.md). A governance job's id
 * is the label `task` (ops/task_registry.yml), not `job`: Prometheus sets `job` to the scrape job and
 * would rename ours to exported_job.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { MetricsSnapshot } from "../alerting/snapshot.ts";
import { PRIORITIES, STATUSES } from "../store/types.ts";

export interface Metrics {
  registry: Registry;
  requests: Counter<"method" | "route" | "status">;
  latency: Histogram<"method" | "route">;
  /** Runs started by THIS process, by outcome (success, error, skipped); the ledger-wide view is backlog_job_runs. */
  schedulerRuns: Counter<"task" | "outcome">;
  /** Runs this process did not start, by reason (already_ran: another replica or the cron runner had the minute). */
  schedulerSkips: Counter<"task" | "reason">;
  /** Alertmanager notifications this process took in (POST /v1/alerts/alertmanager), by what they did to the group's item. */
  alertNotifications: Counter<"outcome">;
  /** Alerts in those notifications, by their status (firing, resolved). */
  alertsReceived: Counter<"status">;
  /** 1 while the task registry file loads; 0 while a changed file that does not load is ignored (the last good one is in use). */
  taskRegistryValid: Gauge<string>;
  /** Changes of the task registry file that did not load (lib/scheduler/registry-watch.ts). */
  taskRegistryLoadFailures: Counter<string>;
}

export interface MetricsOptions {
  /** How long one snapshot answers scrapes (default 10 s: below any sane scrape interval, above a burst). */
  cacheMs?: number;
  clock?: () => Date;
}

export const DEFAULT_METRICS_CACHE_MS = 10_000;

/**
 * Counts one request in backlog_http_requests_total and its latency histogram. The labelled children
 * are kept per label set: prom-client otherwise hashes the label object on every call, which showed in
 * the per-request cost of a 304 (bench/http-stack.ts). Label sets are as many as before (method × route
 * × status), so nothing grows that did not grow already.
 */
export function requestRecorder(m: Pick<Metrics, "requests" | "latency">): (method: string, route: string, status: number, seconds: number) => void {
  const counters = new Map<string, { inc(): void }>();
  const timers = new Map<string, { observe(v: number): void }>();
  return (method, route, status, seconds) => {
    const key = `${method} ${route}`;
    const ckey = `${key} ${status}`;
    let counter = counters.get(ckey);
    if (!counter) counters.set(ckey, (counter = m.requests.labels({ method, route, status: String(status) })));
    counter.inc();
    let timer = timers.get(key);
    if (!timer) timers.set(key, (timer = m.latency.labels({ method, route })));
    timer.observe(seconds);
  };
}

export function createMetrics(snapshot: (now: Date) => Promise<MetricsSnapshot>, options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  const clock = options.clock ?? (() => new Date());
  const cacheMs = options.cacheMs ?? DEFAULT_METRICS_CACHE_MS;
  const requests = new Counter({
    name: "backlog_http_requests_total",
    help: "HTTP requests by method, matched route and status code.",
    labelNames: ["method", "route", "status"] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: "backlog_http_request_duration_seconds",
    help: "HTTP request latency by method and matched route.",
    labelNames: ["method", "route"] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const schedulerRuns = new Counter({
    name: "backlog_scheduler_runs_total",
    help: "Scheduled job runs started by this process, by job and outcome (success, error, skipped).",
    labelNames: ["task", "outcome"] as const,
    registers: [registry],
  });
  const schedulerSkips = new Counter({
    name: "backlog_scheduler_skips_total",
    help: "Scheduled runs this process did not start, by job and reason (already_ran, still_running, suspended).",
    labelNames: ["task", "reason"] as const,
    registers: [registry],
  });

  const alertNotifications = new Counter({
    name: "backlog_alert_intake_notifications_total",
    help: "Alertmanager notifications taken in by this process, by outcome for the group's item (created, reopened, updated, unchanged, resolved, signal_gone, suppressed, ignored).",
    labelNames: ["outcome"] as const,
    registers: [registry],
  });
  const alertsReceived = new Counter({
    name: "backlog_alert_intake_alerts_total",
    help: "Alerts in the Alertmanager notifications taken in by this process, by alert status (firing, resolved).",
    labelNames: ["status"] as const,
    registers: [registry],
  });

  const taskRegistryValid = new Gauge({
    name: "backlog_task_registry_valid",
    help: "1 while ops/task_registry.yml loads; 0 while a changed file that does not load is ignored and the last good registry is in use (the log names the line).",
    registers: [registry],
  });
  taskRegistryValid.set(1);
  const taskRegistryLoadFailures = new Counter({
    name: "backlog_task_registry_load_failures_total",
    help: "Changes of ops/task_registry.yml this process read and could not load (it kept the last good registry).",
    registers: [registry],
  });

  // One snapshot answers every gauge of a scrape, and every scrape within cacheMs.
  let cached: { at: number; value: Promise<MetricsSnapshot> } | null = null;
  const current = (): Promise<MetricsSnapshot> => {
    const t = Date.now();
    if (!cached || t - cached.at >= cacheMs) {
      const value = snapshot(clock());
      cached = { at: t, value };
      value.catch(() => {
        if (cached?.value === value) cached = null; // a failed snapshot is not kept
      });
    }
    return cached.value;
  };

  const gauge = (name: string, help: string, labelNames: string[], fill: (g: Gauge<string>, s: MetricsSnapshot) => void) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        const s = await current();
        this.reset();
        fill(this, s);
      },
    });

  gauge("backlog_items", "Backlog items by env, status and priority.", ["env", "status", "priority"], (g, s) => {
    for (const [env, c] of Object.entries(s.counts.envs))
      for (const status of STATUSES) for (const priority of PRIORITIES) g.set({ env, status, priority }, c.items[status][priority]);
  });
  gauge("backlog_overdue_items", "Unfinished items due before today (UTC), by env and priority.", ["env", "priority"], (g, s) => {
    for (const [env, c] of Object.entries(s.counts.envs)) for (const priority of PRIORITIES) g.set({ env, priority }, c.overdue[priority]);
  });
  gauge("backlog_due_soon_items", "Unfinished items due today or within notify.warn_days days, by env and priority.", ["env", "priority"], (g, s) => {
    for (const [env, c] of Object.entries(s.counts.envs)) for (const priority of PRIORITIES) g.set({ env, priority }, c.due_soon[priority]);
  });
  gauge("backlog_store_degraded", "1 while the store does not run as configured (auto store on its JSONL fallback, unwritable JSONL), else 0.", [], (g, s) => {
    g.set(s.store.degraded ? 1 : 0);
  });
  gauge("backlog_store_replay_quarantined", "Outage-journal operations replay set aside instead of applying (need a person).", [], (g, s) => {
    g.set(s.store.quarantined);
  });
  const perJob = (name: string, help: string, pick: (j: MetricsSnapshot["jobs"][number]) => number | null) =>
    gauge(name, help, ["task"], (g, s) => {
      for (const j of s.jobs) {
        const v = pick(j);
        if (v !== null) g.set({ task: j.job }, v);
      }
    });
  perJob("backlog_job_last_run_timestamp_seconds", "Scheduled minute of each job's latest run in the run ledger (any outcome).", (j) => j.last_run);
  perJob("backlog_job_last_success_timestamp_seconds", "When each job's latest successful run ended (run ledger).", (j) => j.last_success);
  perJob("backlog_job_previous_fire_timestamp_seconds", "Each job's latest scheduled fire at or before now (UTC cron schedule).", (j) => j.previous_fire);
  perJob("backlog_job_next_fire_timestamp_seconds", "Each job's next scheduled fire (UTC cron schedule).", (j) => j.next_fire);
  perJob("backlog_job_last_run_stuck", "1 when a job's latest run is still running 30 min after it started (its process died or gave up on a lost claim answer; nobody will finish or repeat it), else 0.", (j) => j.stuck);
  perJob("backlog_job_last_run_failed", "1 when a job's latest run ended in error (a claim refused before it ran is no run), else 0.", (j) => j.failed);
  perJob("backlog_job_suspended", "1 when the task registry suspends the job (no runner runs it; BacklogJobMissedSchedule, BacklogJobStuck and BacklogJobFailing stay quiet for it), else 0.", (j) => j.suspended);
  perJob("backlog_job_catch_up_window_seconds", "How late a missed fire may still run (task registry catch_up; 0 = none).", (j) => j.catch_up_seconds);
  gauge("backlog_job_runs", "Runs the run ledger keeps, by task (job id) and status (running, success, error).", ["task", "status"], (g, s) => {
    for (const j of s.jobs) for (const [status, n] of Object.entries(j.runs)) g.set({ task: j.job, status }, n);
  });

  return { registry, requests, latency, schedulerRuns, schedulerSkips, alertNotifications, alertsReceived, taskRegistryValid, taskRegistryLoadFailures };
}
