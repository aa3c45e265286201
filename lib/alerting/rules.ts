/**
 * The alert rules, ONE source for both renderings: ops/prometheus/backlog-bridge.rules.yml (plain rule
 * groups for a Prometheus of your own) and ops/k8s/backlog-bridge-prometheusrule.yml (the same groups in
 * a prometheus-operator PrometheusRule). `npx bun run check` fails when either file differs from what this
 * renders (checks.ts); render with `npx bun run ops/scripts/render_alerts.ts`.
 *
 * Thresholds and targets come from config/backlog_policy.yml `alerts` (the runbook's section 6), so the
 * dashboard's alerts and Prometheus's agree; every series is taken with `max` over the scraping labels
 * because every replica reports the same shared numbers (lib/alerting/snapshot.ts). Why each `for:` is
 * what it is: docs/alerting.md.
 */
import YAML from "yaml";
import type { PolicyData } from "../generation/policy-schema.ts";
import { LATE_TOLERANCE_MS } from "../scheduler/schedule.ts";

export const ALERT_NAMES = ["BacklogOverdueItems", "BacklogOverdueP0", "BacklogJobMissedSchedule", "BacklogJobStuck", "BacklogJobFailing", "BacklogStoreDegraded"] as const;
export type AlertName = (typeof ALERT_NAMES)[number];

/** docs/alerting.md section per alert (the heading's anchor). */
export const RUNBOOK_ANCHORS: Record<AlertName, string> = {
  BacklogOverdueItems: "backlogoverdueitems",
  BacklogOverdueP0: "backlogoverduep0",
  BacklogJobMissedSchedule: "backlogjobmissedschedule",
  BacklogJobStuck: "backlogjobstuck",
  BacklogJobFailing: "backlogjobfailing",
  BacklogStoreDegraded: "backlogstoredegraded",
};
export const RUNBOOK_DOC = "docs/alerting.md";

export interface AlertRule {
  alert: AlertName;
  expr: string;
  for: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface RecordingRule {
  record: string;
  expr: string;
}

export type Rule = AlertRule | RecordingRule;

export interface RuleGroup {
  name: string;
  interval?: string;
  rules: Rule[];
}

export interface RuleOptions {
  /** The store's reconnect period (BACKLOG_PG_RETRY_SECONDS, default 300). */
  retrySeconds: number;
  /** Where runbook links point; default the repository's docs/alerting.md. */
  runbookBase?: string;
  /** Replace every `for:` (the end-to-end test uses "0s" to see an alert within seconds). */
  forOverride?: string;
}

/** Whole minutes or seconds in Prometheus duration syntax. */
export function duration(seconds: number): string {
  return seconds % 60 === 0 ? `${seconds / 60}m` : `${seconds}s`;
}

/** How far back (subquery range:step) BacklogJobMissedSchedule looks for a suspension of the job. */
export const SUSPENDED_LOOKBACK = "8d:5m";

/**
 * When each job was last seen suspended, kept by Prometheus itself: the recording rule carries its own
 * previous value forward while the job is not suspended, so it remembers a suspension however long ago
 * (the 8-day subquery alone forgot it: a job with fires more than 8 days apart alerted after a resume).
 * It forgets only when rule evaluation stops for longer than the lookback delta (5 min: a Prometheus
 * down that long); the subquery still covers 8 days after that.
 */
export const SUSPENDED_LAST_SEEN = "backlog:job_suspended_last_seen_timestamp_seconds";

export const FOR = {
  /** Overdue counts move when people close items and at 00:00 UTC; 15 m keeps a cleanup in progress from notifying. */
  overdue: "15m",
  /** A page should be quick but not for an item closed a minute after midnight. */
  page: "5m",
  /** The expression already waits out the catch-up window plus the late tolerance. */
  missed: "5m",
  /** A failed run is known at once; 5m lets a person who saw it re-run the job before anyone is notified. */
  failed: "5m",
} as const;

export function alertRules(policy: Pick<PolicyData, "alerts">, options: RuleOptions): RuleGroup[] {
  const a = policy.alerts;
  const base = options.runbookBase ?? RUNBOOK_DOC;
  const runbook = (name: AlertName) => `${base}#${RUNBOOK_ANCHORS[name]}`;
  const f = (d: string) => options.forOverride ?? d;
  const graceSeconds = LATE_TOLERANCE_MS / 1000;
  // A job the registry suspends is not run on purpose: neither its missed fires nor its stuck run alert.
  const notSuspended = "unless on (task)\nmax by (task) (backlog_job_suspended) == 1";
  // Nor, after a resume, the fire it skipped while suspended (no catch-up, by design): quiet while the job
  // was last seen suspended at or after its latest fire. 8 days reach back past a weekly job's fire.
  const notSkippedWhileSuspended =
    "unless on (task)\n" +
    `max by (task) (${SUSPENDED_LAST_SEEN}) >= on (task) max by (task) (backlog_job_previous_fire_timestamp_seconds)\n` +
    "unless on (task)\n" +
    `max by (task) (max_over_time((timestamp(max by (task) (backlog_job_suspended) == 1))[${SUSPENDED_LOOKBACK}])) >= on (task) max by (task) (backlog_job_previous_fire_timestamp_seconds)`;
  // Degraded for longer than one reconnect attempt: the first retry after the outage failed too.
  const degradedFor = duration(Math.ceil(options.retrySeconds / 60) * 60 + 60);
  /** An alert that notifies the policy's notify_target (warning), with its runbook section. */
  const notify = (alert: AlertName, expr: string, forDuration: string, summary: string, description: string): AlertRule => ({
    alert,
    expr,
    for: f(forDuration),
    labels: { severity: "warning", team: a.notify_target, action: "notify" },
    annotations: { summary, description, runbook_url: runbook(alert) },
  });

  const rules: Rule[] = [
    notify(
      "BacklogOverdueItems",
      `max by (env) (sum without (priority) (backlog_overdue_items)) > ${a.overdue_notify_above}`,
      FOR.overdue,
      `{{ $labels.env }}: {{ $value }} overdue backlog items (threshold: more than ${a.overdue_notify_above})`,
      "Unfinished backlog items in {{ $labels.env }} are past their due date. Triage them: close, re-plan (new due date) or reassign.",
    ),
  ];
  if (a.page_on_overdue_p0) {
    rules.push({
      alert: "BacklogOverdueP0",
      expr: `max by (env) (backlog_overdue_items{priority="P0"}) > 0`,
      for: f(FOR.page),
      labels: { severity: "critical", team: a.page_target, action: "page" },
      annotations: {
        summary: "{{ $labels.env }}: {{ $value }} overdue P0 backlog item(s)",
        description: "A P0 backlog item in {{ $labels.env }} is past its due date. P0 work is security or outage risk: fix it or escalate now.",
        runbook_url: runbook("BacklogOverdueP0"),
      },
    });
  }
  rules.push(
    {
      // Before the alert that reads it: a group's rules are evaluated in order, so it sees this evaluation's value.
      record: SUSPENDED_LAST_SEEN,
      expr: `max by (task) (timestamp(max by (task) (backlog_job_suspended) == 1))\nor\nmax by (task) (${SUSPENDED_LAST_SEEN})`,
    },
    // The latest fire has no run in the ledger, and it is older than the catch-up window plus the
    // late tolerance (a late runner may still claim it until then).
    notify(
      "BacklogJobMissedSchedule",
      `max by (task) (backlog_job_previous_fire_timestamp_seconds) > max by (task) (backlog_job_last_run_timestamp_seconds)\n` +
        `and on (task)\n` +
        `time() - max by (task) (backlog_job_previous_fire_timestamp_seconds) > max by (task) (backlog_job_catch_up_window_seconds) + ${graceSeconds}\n` +
        notSkippedWhileSuspended,
      FOR.missed,
      "Governance job {{ $labels.task }} missed its scheduled run",
      "No run of {{ $labels.task }} was recorded for its latest scheduled fire, and its catch-up window has passed. Check cron / the scheduler and run it by hand.",
    ),
    // A run nobody will finish: its minute counts as run (so BacklogJobMissedSchedule stays quiet), but
    // the job did not do its work. The 30 minutes are in the metric (STUCK_AFTER_MS).
    notify(
      "BacklogJobStuck",
      `max by (task) (backlog_job_last_run_stuck) > 0\n${notSuspended}`,
      FOR.missed,
      "Governance job {{ $labels.task }}: its latest run is stuck in running",
      "A run of {{ $labels.task }} started more than 30 minutes ago and never finished: its process died mid-run or gave up on a lost claim answer, and nothing will finish or repeat it. Check its logs and run the job by hand if its work is not done.",
    ),
    // A run that failed is a run: its minute is not missed and not stuck, yet the job's work was not done.
    notify(
      "BacklogJobFailing",
      `max by (task) (backlog_job_last_run_failed) > 0\n${notSuspended}`,
      FOR.failed,
      "Governance job {{ $labels.task }}: its latest run failed",
      "The latest run of {{ $labels.task }} ended in error, so its work was not done, and nothing repeats it before its next fire. Read the error (GET /v1/scheduler/jobs, last_run.error, or /ui/jobs), fix the cause and run the job again by hand.",
    ),
    notify(
      "BacklogStoreDegraded",
      "max without (instance, pod) (backlog_store_degraded) == 1",
      degradedFor,
      `The backlog store has been degraded for more than ${degradedFor} (one reconnect period of ${options.retrySeconds}s, plus a minute)`,
      "backlog-bridge serves from its JSONL fallback (or cannot write it): writes to items only in Postgres are refused. Restore Postgres; replay runs by itself.",
    ),
  );
  return [{ name: "backlog-bridge", rules }];
}

const HEADER = (what: string) =>
  `# GENERATED from lib/alerting/rules.ts and config/backlog_policy.yml (alerts) by\n#   npx bun run ops/scripts/render_alerts.ts\n# Do not edit: \`npx bun run check\` fails when this file differs. ${what}\n`;

const yaml = (v: unknown) => YAML.stringify(v, { lineWidth: 0 });

export function renderRulesFile(groups: RuleGroup[]): string {
  return HEADER("Load it with rule_files: in prometheus.yml (docs/alerting.md).") + yaml({ groups });
}

export function renderPrometheusRule(groups: RuleGroup[]): string {
  return (
    HEADER("Needs the prometheus-operator CRDs; its ruleSelector must match the labels below (docs/alerting.md).") +
    yaml({
      apiVersion: "monitoring.coreos.com/v1",
      kind: "PrometheusRule",
      metadata: { name: "backlog-bridge", labels: { "app.kubernetes.io/name": "backlog-bridge", "app.kubernetes.io/part-of": "backlog-bridge", role: "alert-rules" } },
      spec: { groups },
    })
  );
}
