/**
 * Prometheus metrics (prom-client), one registry per app so tests and replicas never share state.
 * Backlog gauges are computed at scrape time from the same dashboard the API serves.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Dashboard } from "../store/types.ts";

export interface Metrics {
  registry: Registry;
  requests: Counter<"method" | "route" | "status">;
  latency: Histogram<"method" | "route">;
  schedulerRuns: Counter<"job" | "outcome">;
  schedulerLastSuccess: Gauge<"job">;
}

export function createMetrics(snapshot: () => Promise<{ env: string; dashboard: Dashboard }[]>): Metrics {
  const registry = new Registry();
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
    help: "Scheduled job runs by job and outcome (success, error, skipped).",
    labelNames: ["job", "outcome"] as const,
    registers: [registry],
  });
  const schedulerLastSuccess = new Gauge({
    name: "backlog_scheduler_last_success_timestamp_seconds",
    help: "Unix time of each job's last successful run.",
    labelNames: ["job"] as const,
    registers: [registry],
  });

  // One snapshot per scrape feeds all three backlog gauges.
  let pending: Promise<{ env: string; dashboard: Dashboard }[]> | null = null;
  const once = () => (pending ??= snapshot().finally(() => setTimeout(() => (pending = null), 0)));

  // name, help, label, how to read the values from one env's dashboard
  const gauges: [string, string, string, (d: Dashboard) => Record<string, number>][] = [
    ["backlog_items", "Backlog items by env and status.", "status", (d) => d.status_counts],
    ["backlog_items_by_priority", "Backlog items by env and priority.", "priority", (d) => d.priority_counts],
  ];
  for (const [name, help, label, values] of gauges) {
    new Gauge({
      name,
      help,
      labelNames: ["env", label],
      registers: [registry],
      async collect() {
        this.reset();
        for (const { env, dashboard } of await once()) {
          for (const [k, n] of Object.entries(values(dashboard))) this.set({ env, [label]: k }, n);
        }
      },
    });
  }
  new Gauge({
    name: "backlog_overdue_items",
    help: "Unfinished backlog items past their due date, by env.",
    labelNames: ["env"] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const { env, dashboard } of await once()) this.set({ env }, dashboard.overdue_count);
    },
  });

  return { registry, requests, latency, schedulerRuns, schedulerLastSuccess };
}
