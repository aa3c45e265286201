/**
 * Per-service health signals: the documented, bounded numbers risk scoring understands. A record may
 * carry any non-empty subset (a vulnerability scanner reports critical_vulns only, the incident tool
 * the incident counts); snapshot uses each signal's latest value. Unknown names are rejected, so a
 * typo never silently scores 0.
 */
import * as v from "valibot";
import { EnvName } from "../store/types.ts";
import { strictObject } from "../core/strict.ts";

export interface SignalSpec {
  meaning: string;
  /** Largest accepted value: anything above is a unit mistake, not a very sick service. */
  max: number;
  integer: boolean;
  unit: string;
}

/** Order here is the order of tables, reports and docs. */
export const SIGNALS = {
  incidents_sev1_30d: { meaning: "SEV1 incidents in the last 30 days", max: 1000, integer: true, unit: "count" },
  incidents_sev2_30d: { meaning: "SEV2 incidents in the last 30 days", max: 1000, integer: true, unit: "count" },
  slo_burn_rate: {
    meaning: "error-budget burn rate over the SLO window (1 = spending exactly the budget, 2 = twice as fast)",
    max: 1000,
    integer: false,
    unit: "ratio",
  },
  open_alerts: { meaning: "alerts firing now", max: 100_000, integer: true, unit: "count" },
  change_failure_rate: { meaning: "share of deployments in the last 30 days that caused a failure", max: 1, integer: false, unit: "0–1" },
  critical_vulns: { meaning: "open critical vulnerabilities (CVSS ≥ 9) in the service's images and dependencies", max: 100_000, integer: true, unit: "count" },
  oncall_pages_7d: { meaning: "pages to on-call for this service in the last 7 days", max: 100_000, integer: true, unit: "count" },
} as const satisfies Record<string, SignalSpec>;

export type SignalName = keyof typeof SIGNALS;
export const SIGNAL_NAMES = Object.keys(SIGNALS) as SignalName[];
export type Signals = Partial<Record<SignalName, number>>;

function signalSchema(spec: SignalSpec) {
  const range = `must be ${spec.integer ? "a whole number" : "a number"} from 0 to ${spec.max}`;
  const ok = (n: number) => Number.isFinite(n) && n >= 0 && n <= spec.max && (!spec.integer || Number.isInteger(n));
  return v.optional(v.pipe(v.number(range), v.check(ok, range)));
}

export const SignalsSchema = v.pipe(
  strictObject(Object.fromEntries(SIGNAL_NAMES.map((n) => [n, signalSchema(SIGNALS[n])])) as Record<SignalName, ReturnType<typeof signalSchema>>, "signal"),
  v.check((s) => Object.values(s).some((x) => x !== undefined), `needs at least one signal (${SIGNAL_NAMES.join(", ")})`),
);

/** Service names end up in report rows and backlog dedupe keys: no separators, no whitespace. */
export const ServiceName = v.pipe(
  v.string(),
  v.regex(/^[a-z0-9][a-z0-9._-]{0,99}$/, "must be a service name like gateway or billing-api (a-z, 0-9, . _ -; at most 100)"),
);

/** Instants are ISO 8601 with a zone (Z or ±hh:mm), so a recorded time never depends on the host zone. */
export const Instant = v.pipe(
  v.string(),
  v.regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/, "must be an ISO 8601 time with a zone, e.g. 2026-03-02T09:00:00Z"),
  v.check((s) => Number.isFinite(Date.parse(s)), "must be a real calendar time"),
);

export const SignalInputSchema = strictObject(
  {
    env: EnvName,
    service: ServiceName,
    signals: SignalsSchema,
    /** When the numbers were true; default now. */
    ts: v.optional(Instant),
    /** Which system reported them (free text for audits). */
    source: v.optional(v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(100)), "manual"),
  },
  "field",
);
export type SignalInput = v.InferOutput<typeof SignalInputSchema>;

/** One stored record: what was reported, when it was true, when and by whom it was recorded. */
export interface SignalRecord {
  id: string;
  env: string;
  service: string;
  /** ISO instant (UTC, ms) the numbers describe. */
  ts: string;
  signals: Signals;
  source: string;
  actor: string;
  recorded_at: string;
}

/** A recorded time may lag (imports) but not lead the clock by more than this (host clock skew). */
export const MAX_FUTURE_SKEW_MS = 5 * 60_000;
