/**
 * The Alertmanager webhook payload (version 4), validated once here: the HTTP endpoint, the CLI and
 * `/v1/tools/execute` all reach the intake through alert_intake.ingest, whose params are this schema.
 * Unknown keys are ignored (Alertmanager may add fields); every text is SafeText, so nothing a store
 * would refuse gets past it, and a bad field is a 400 naming its path (`alerts[0].startsAt: ...`).
 * https://prometheus.io/docs/alerting/latest/configuration/#webhook_config
 */
import * as v from "valibot";
import { Name, SafeText, Text } from "../domain/schemas.ts";

/** RFC 3339 as Alertmanager writes it: nanoseconds optional, Z or an offset. `0001-01-01T00:00:00Z` = unset. */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

const leap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
const daysIn = (y: number, m: number) => (m === 2 ? (leap(y) ? 29 : 28) : [4, 6, 9, 11].includes(m) ? 30 : 31);

/** The instant of an RFC 3339 timestamp (fraction cut to milliseconds), or null when it is none. */
export function parseRfc3339(text: string): Date | null {
  const m = RFC3339.exec(text);
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  // Date.parse rolls 2026-02-31 over into March: check the day against the month first.
  if (Number(mo) < 1 || Number(mo) > 12 || Number(d) < 1 || Number(d) > daysIn(Number(y), Number(mo)) || Number(h) > 23 || Number(mi) > 59 || Number(s) > 60) return null;
  const ms = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}${frac ? frac.slice(0, 4) : ""}${zone}`);
  return Number.isFinite(ms) ? new Date(ms) : null;
}

const Timestamp = v.pipe(
  v.string(),
  v.check((s) => parseRfc3339(s) !== null, (i) => `must be an RFC 3339 time like "2026-11-30T16:00:00.000Z", got ${i.received}`),
);

/** Label and annotation maps: names as Prometheus allows them, values any safe text. */
const LabelName = v.pipe(v.string(), v.regex(/^[A-Za-z_][A-Za-z0-9_]{0,199}$/, "label names are [A-Za-z_][A-Za-z0-9_]* (at most 200 characters)"));
const Labels = v.pipe(v.record(LabelName, Text(4096)), v.check((r) => Object.keys(r).length <= 100, "must have at most 100 labels"));
const Annotations = v.pipe(v.record(v.pipe(SafeText, v.maxLength(200)), Text(16_384)), v.check((r) => Object.keys(r).length <= 100, "must have at most 100 annotations"));

export const ALERT_STATUSES = ["firing", "resolved"] as const;
export type AlertStatus = (typeof ALERT_STATUSES)[number];
const Status = v.picklist(ALERT_STATUSES, (i) => `expected "firing" or "resolved", got ${i.received}`);

export const AlertSchema = v.object({
  status: Status,
  labels: Labels,
  annotations: v.optional(Annotations, {}),
  startsAt: Timestamp,
  endsAt: v.optional(Timestamp, "0001-01-01T00:00:00Z"),
  generatorURL: v.optional(Text(4096), ""),
  fingerprint: v.pipe(v.string(), v.regex(/^[0-9a-f]{1,64}$/, "must be the alert's hex fingerprint, as Alertmanager sends it")),
});
export type Alert = v.InferOutput<typeof AlertSchema>;

/** At most this many alerts per notification; Alertmanager's `max_alerts` truncates a larger group. */
export const MAX_ALERTS = 1000;

export const AlertmanagerPayloadEntries = {
  version: v.literal("4", (i) => `expected "4" (the Alertmanager webhook payload version), got ${i.received}`),
  groupKey: Name(8192),
  // Alertmanager sends a uint64; anything past 2^53 is no count (and would print as 1e+308 in the description).
  truncatedAlerts: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(Number.MAX_SAFE_INTEGER, `must be a whole number from 0 to ${Number.MAX_SAFE_INTEGER}`)), 0),
  status: Status,
  receiver: v.optional(Text(500), ""),
  groupLabels: v.optional(Labels, {}),
  commonLabels: v.optional(Labels, {}),
  commonAnnotations: v.optional(Annotations, {}),
  externalURL: v.optional(Text(4096), ""),
  alerts: v.pipe(
    v.array(AlertSchema),
    v.minLength(1, "must hold at least one alert"),
    v.maxLength(MAX_ALERTS, `must hold at most ${MAX_ALERTS} alerts (set max_alerts in the webhook_config)`),
  ),
};

export const AlertmanagerPayloadSchema = v.object(AlertmanagerPayloadEntries);
export type AlertmanagerPayload = v.InferOutput<typeof AlertmanagerPayloadSchema>;
