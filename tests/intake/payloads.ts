/** Alertmanager webhook payloads (version 4) as Alertmanager sends them, for the intake tests. */
import type { AlertmanagerPayload } from "../../lib/intake/payload.ts";

export const GROUP_KEY = '{}/{severity=~"critical|warning"}:{alertname="HighErrorRate", env="prod"}';

interface AlertOpts {
  fingerprint?: string;
  status?: "firing" | "resolved";
  labels?: Record<string, string>;
  summary?: string;
  startsAt?: string;
}

let tick = 0;

export function alert(o: AlertOpts = {}) {
  const status = o.status ?? "firing";
  return {
    status,
    labels: { alertname: "HighErrorRate", env: "prod", service: "gateway", team: "team-edge", severity: "critical", ...(o.labels ?? {}) },
    annotations: { summary: o.summary ?? "5xx above 5% for 10 minutes" },
    startsAt: o.startsAt ?? "2026-11-23T09:55:00.123456789Z",
    // Prometheus moves endsAt forward on every evaluation: it must not matter.
    endsAt: status === "firing" ? `2026-11-23T10:${String(10 + (tick++ % 50))}:00Z` : "2026-11-23T10:30:00Z",
    generatorURL: "http://prometheus.local/graph?g0.expr=x",
    fingerprint: o.fingerprint ?? "a1b2c3d4e5f60718",
  };
}

export function payload(o: { status?: "firing" | "resolved"; groupKey?: string; alerts?: ReturnType<typeof alert>[]; commonLabels?: Record<string, string> } = {}): AlertmanagerPayload {
  const status = o.status ?? "firing";
  const alerts = o.alerts ?? [alert({ status })];
  return {
    version: "4",
    groupKey: o.groupKey ?? GROUP_KEY,
    truncatedAlerts: 0,
    status,
    receiver: "backlog",
    groupLabels: { alertname: "HighErrorRate", env: "prod" },
    commonLabels: o.commonLabels ?? { alertname: "HighErrorRate", env: "prod", service: "gateway", team: "team-edge", severity: "critical" },
    commonAnnotations: { summary: "5xx above 5% for 10 minutes", runbook_url: "https://runbooks.local/high-error-rate" },
    externalURL: "http://alertmanager.local:9093",
    alerts,
  } as AlertmanagerPayload;
}
