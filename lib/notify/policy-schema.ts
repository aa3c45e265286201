/**
 * The `notify:` section of config/backlog_policy.yml: the built-in notifier (lib/notify/) and the
 * due-soon horizon of /metrics. Webhook URLs are secrets: the policy names the environment variable that
 * holds each one (url_env), never the URL.
 */
import * as v from "valibot";
import { strictObject } from "../core/strict.ts";
import { DEFAULT_WARN_DAYS } from "../alerting/due.ts";

const Int = (min: number, max: number) =>
  v.pipe(v.number(`must be a whole number from ${min} to ${max}`), v.integer(`must be a whole number from ${min} to ${max}`), v.minValue(min, `must be at least ${min}`), v.maxValue(max, `must be at most ${max}`));

export const WEBHOOK_FORMATS = ["slack", "alertmanager"] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

const WebhookSchema = strictObject({
  /** Names the webhook in logs, errors and sent state (never the URL). */
  name: v.pipe(v.string(), v.regex(/^[a-z][a-z0-9_-]{0,63}$/, "must be a lowercase name like oncall-slack (a-z, 0-9, - and _)")),
  /** slack: incoming-webhook JSON {text}; alertmanager: the Alertmanager webhook payload (version 4). */
  format: v.picklist(WEBHOOK_FORMATS, `must be one of ${WEBHOOK_FORMATS.join("|")}`),
  /** The environment variable holding the URL. */
  url_env: v.pipe(v.string(), v.regex(/^[A-Z][A-Z0-9_]{0,127}$/, "must be an environment variable name like BACKLOG_NOTIFY_SLACK_URL")),
  /** At most one message per this many ms to this webhook (Slack allows about one per second). */
  min_interval_ms: v.optional(Int(0, 600_000), 1000),
  /** Attempts after the first on a network error, timeout, 429 or 5xx. */
  retries: v.optional(Int(0, 10), 3),
  /** First retry waits this long, each next one twice as long (a Retry-After answer wins, capped at 60 s). */
  backoff_ms: v.optional(Int(0, 60_000), 500),
  /** One attempt may take this long. */
  timeout_ms: v.optional(Int(100, 120_000), 5000),
});

export const NotifySchema = strictObject({
  /** Unfinished items due today or within this many days are "due soon": warned once, counted in /metrics. */
  warn_days: v.optional(Int(0, 365), DEFAULT_WARN_DAYS),
  /** After the due date passes, overdue items are reminded for at most this many days (0: only once). */
  remind_days: v.optional(Int(0, 365), 7),
  /** Hours between two reminders of the same overdue item. */
  remind_every_hours: v.optional(Int(1, 24 * 30), 24),
  webhooks: v.optional(
    v.pipe(
      v.array(WebhookSchema),
      v.check((a) => new Set(a.map((w) => w.name)).size === a.length, "must not use a webhook name twice"),
    ),
    () => [],
  ),
});

export type NotifyPolicy = v.InferOutput<typeof NotifySchema>;
export type WebhookPolicy = NotifyPolicy["webhooks"][number];
