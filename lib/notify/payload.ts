/**
 * The two message formats, one message per owner (pure):
 *   slack        Slack incoming-webhook JSON: {"text": …} in mrkdwn (also read by Mattermost, Rocket.Chat).
 *   alertmanager The Alertmanager webhook payload (version 4): one alert per notice, grouped by owner, so a
 *                receiver written for Alertmanager reads ours unchanged.
 */
import type { WebhookFormat } from "./policy-schema.ts";
import type { Notice } from "./plan.ts";

const ALERT_NAME = { warn: "BacklogItemDueSoon", overdue: "BacklogItemOverdue" } as const;

// Slack mrkdwn: only &, < and > need escaping. Owners, services and titles may come from alert labels
// (docs/alerting.md, Alertmanager to backlog): unescaped, <!channel> would notify a whole channel.
const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function line(n: Notice): string {
  const i = n.item;
  const when =
    n.kind === "overdue" ? `due ${i.due_date}, ${n.days} day${n.days === 1 ? "" : "s"} overdue${n.slot > 0 ? " (reminder)" : ""}` : n.kind === "warn" ? `due ${i.due_date}${n.days === 0 ? " (today)" : ` (in ${n.days} day${n.days === 1 ? "" : "s"})`}` : "resolved";
  return `• [${esc(i.env)}] ${i.priority} ${esc(i.service)}: ${esc(i.title)} — ${when} (${i.id})`;
}

export function slackMessage(owner: string, notices: Notice[]): { text: string } {
  const count = (k: Notice["kind"]) => notices.filter((n) => n.kind === k).length;
  const parts = [count("overdue") && `${count("overdue")} overdue`, count("warn") && `${count("warn")} due soon`, count("resolved") && `${count("resolved")} resolved`].filter(Boolean);
  const sections: string[] = [`*Backlog for ${esc(owner)}: ${parts.join(", ")}*`];
  for (const [kind, title] of [["overdue", "Overdue"], ["warn", "Due soon"], ["resolved", "Resolved"]] as const) {
    const mine = notices.filter((n) => n.kind === kind);
    if (mine.length) sections.push(`*${title}*\n${mine.map(line).join("\n")}`);
  }
  return { text: sections.join("\n") };
}

export function alertmanagerMessage(receiver: string, owner: string, notices: Notice[], now: Date) {
  const alerts = notices.map((n) => {
    const resolved = n.kind === "resolved";
    return {
      status: resolved ? "resolved" : "firing",
      labels: { alertname: ALERT_NAME[resolved ? (n.was === "warn" ? "warn" : "overdue") : (n.kind as "warn" | "overdue")], owner, env: n.item.env, service: n.item.service, priority: n.item.priority, item_id: n.item.id },
      annotations: { summary: n.item.title, due_date: n.item.due_date, description: line(n).slice(2) },
      startsAt: resolved || n.kind === "warn" ? now.toISOString() : new Date(Date.parse(n.item.due_date + "T00:00:00Z") + 86_400_000).toISOString(),
      endsAt: resolved ? now.toISOString() : "0001-01-01T00:00:00Z",
      generatorURL: "",
      fingerprint: n.fingerprint,
    };
  });
  return {
    version: "4",
    groupKey: `{}:{owner=${JSON.stringify(owner)}}`,
    truncatedAlerts: 0,
    status: alerts.some((a) => a.status === "firing") ? "firing" : "resolved",
    receiver,
    groupLabels: { owner },
    commonLabels: { owner },
    commonAnnotations: {},
    externalURL: "",
    alerts,
  };
}

export function messageFor(format: WebhookFormat, receiver: string, owner: string, notices: Notice[], now: Date): unknown {
  return format === "slack" ? slackMessage(owner, notices) : alertmanagerMessage(receiver, owner, notices, now);
}
