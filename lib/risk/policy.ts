/**
 * config/risk_policy.yml: how signals become a risk score and how risk and backlog become pressure.
 * Parsed with `yaml`, validated with valibot: unknown keys are rejected, a missing key takes its
 * default (the shipped file spells every default out), and errors name the key path and the expected
 * value, e.g. `signals.slo_burn_rate.cap: must be a number above 0, got -1`.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import * as v from "valibot";
import YAML from "yaml";
import { AppError, parseOrThrow } from "../core/errors.ts";
import { BANDS, type Band } from "../generation/policy-schema.ts";
import { SIGNAL_NAMES, SIGNALS, type SignalName } from "./signals.ts";
import { strictObject } from "../core/strict.ts";
import { displayPath, processEnv, readVar, type Env } from "../config/index.ts";

export const RISK_POLICY_PATH = "config/risk_policy.yml";
export { BANDS, type Band };

/** Pressure inputs that are not risk signals: the service's backlog. */
export const BACKLOG_CAUSES = ["open_items", "overdue_items"] as const;
export type BacklogCause = (typeof BACKLOG_CAUSES)[number];
export type Cause = SignalName | BacklogCause;
export const CAUSES: readonly Cause[] = [...SIGNAL_NAMES, ...BACKLOG_CAUSES];

const Positive = v.pipe(v.number("must be a number above 0"), v.check((n) => Number.isFinite(n) && n > 0, "must be a number above 0"));
const Weight = v.pipe(v.number("must be a number from 0 to 1000"), v.check((n) => Number.isFinite(n) && n >= 0 && n <= 1000, "must be a number from 0 to 1000"));
const Days = (max: number) => v.pipe(v.number(`must be a whole number of days from 1 to ${max}`), v.check((n) => Number.isInteger(n) && n >= 1 && n <= max, `must be a whole number of days from 1 to ${max}`));
const Score = v.pipe(v.number("must be a score above 0, at most 100"), v.check((n) => Number.isFinite(n) && n > 0 && n <= 100, "must be a score above 0, at most 100"));
const Category = v.pipe(v.string("must be a backlog category name"), v.regex(/^[a-z][a-z0-9_]{0,99}$/, "must be a backlog category name like slo_hardening"));

/** Default weight (relative points) and cap (value at which a signal scores its full weight). */
export const DEFAULT_SIGNAL_WEIGHTS: Record<SignalName, { weight: number; cap: number }> = {
  incidents_sev1_30d: { weight: 25, cap: 3 },
  incidents_sev2_30d: { weight: 10, cap: 10 },
  slo_burn_rate: { weight: 20, cap: 4 },
  open_alerts: { weight: 5, cap: 20 },
  change_failure_rate: { weight: 15, cap: 0.5 },
  critical_vulns: { weight: 15, cap: 5 },
  oncall_pages_7d: { weight: 10, cap: 30 },
};

export const DEFAULT_CATEGORIES: Record<Cause, string> = {
  incidents_sev1_30d: "slo_hardening",
  incidents_sev2_30d: "slo_hardening",
  slo_burn_rate: "slo_hardening",
  open_alerts: "slo_hardening",
  oncall_pages_7d: "slo_hardening",
  change_failure_rate: "refactor",
  critical_vulns: "security",
  open_items: "tech_debt",
  overdue_items: "arch_review",
};

const bandsSchema = (defaults: { medium: number; high: number; critical: number }) =>
  v.optional(
    v.pipe(
      strictObject(
        { medium: v.optional(Score, defaults.medium), high: v.optional(Score, defaults.high), critical: v.optional(Score, defaults.critical) },
        "band",
      ),
      v.check((b) => b.medium < b.high && b.high < b.critical, "band thresholds must rise: medium < high < critical"),
    ),
    defaults,
  );

function signalWeightSchema(n: SignalName) {
  const cap = v.pipe(Positive, v.check((c: number) => c <= SIGNALS[n].max, `must be at most ${SIGNALS[n].max}, the signal's largest value`));
  const d = DEFAULT_SIGNAL_WEIGHTS[n];
  return v.optional(strictObject({ weight: v.optional(Weight, d.weight), cap: v.optional(cap, d.cap) }, "key"), d);
}

/** `{a: schema, b: schema}` for the given keys, keeping the key type. */
function entriesFor<K extends string, S>(keys: readonly K[], schema: (k: K) => S): Record<K, S> {
  return Object.fromEntries(keys.map((k) => [k, schema(k)])) as Record<K, S>;
}

export const PRESSURE_PARTS = ["risk_level", "risk_trend", "open_items", "overdue_items"] as const;
const DEFAULT_PRESSURE_WEIGHTS = { risk_level: 55, risk_trend: 15, open_items: 10, overdue_items: 20 };
const DEFAULT_PRESSURE_CAPS = { risk_level: 75, risk_trend: 20, open_items: 20, overdue_items: 5 };

const PressureSchema = strictObject(
  {
    weights: v.optional(
      strictObject(
        entriesFor(PRESSURE_PARTS, (k) => v.optional(Weight, DEFAULT_PRESSURE_WEIGHTS[k])),
        "pressure weight",
      ),
      DEFAULT_PRESSURE_WEIGHTS,
    ),
    caps: v.optional(
      strictObject(
        entriesFor(PRESSURE_PARTS, (k) => v.optional(Positive, DEFAULT_PRESSURE_CAPS[k])),
        "pressure cap",
      ),
      DEFAULT_PRESSURE_CAPS,
    ),
    bands: bandsSchema({ medium: 20, high: 40, critical: 60 }),
    min_band_for_recommendations: v.optional(v.picklist(BANDS, `must be one of ${BANDS.join("|")}`), "medium"),
    min_cause_points: v.optional(v.pipe(v.number(), v.check((n) => Number.isFinite(n) && n >= 0 && n <= 100, "must be a number of pressure points from 0 to 100")), 8),
    max_categories: v.optional(v.pipe(v.number(), v.check((n) => Number.isInteger(n) && n >= 1 && n <= 20, "must be a whole number from 1 to 20")), 3),
    categories: v.optional(
      strictObject(entriesFor(CAUSES, (c) => v.optional(Category, DEFAULT_CATEGORIES[c])), "cause"),
      DEFAULT_CATEGORIES,
    ),
  },
  "pressure key",
);

export const RiskPolicySchema = strictObject(
  {
    retention_days: v.optional(Days(3650), 90),
    stale_after_days: v.optional(Days(365), 14),
    top_signals: v.optional(v.pipe(v.number(), v.check((n) => Number.isInteger(n) && n >= 1 && n <= 7, "must be a whole number from 1 to 7")), 3),
    signals: v.optional(strictObject(entriesFor(SIGNAL_NAMES, signalWeightSchema), "signal"), DEFAULT_SIGNAL_WEIGHTS),
    bands: bandsSchema({ medium: 25, high: 50, critical: 75 }),
    pressure: v.optional(PressureSchema, {}),
  },
  "top-level key",
);

export type RiskPolicy = v.InferOutput<typeof RiskPolicySchema>;
export type PressurePolicy = RiskPolicy["pressure"];

/** Validates an already-parsed document; `source` names it in errors. */
export function parseRiskPolicy(raw: unknown, source = RISK_POLICY_PATH): RiskPolicy {
  const policy = parseOrThrow(RiskPolicySchema, raw ?? {}, `${source} is invalid`);
  const total = SIGNAL_NAMES.reduce((sum, n) => sum + policy.signals[n].weight, 0);
  if (total <= 0) throw new AppError("invalid_input", `${source} is invalid:\n  signals: at least one signal needs a weight above 0`);
  const pw = policy.pressure.weights;
  if (pw.risk_level + pw.risk_trend + pw.open_items + pw.overdue_items <= 0) {
    throw new AppError("invalid_input", `${source} is invalid:\n  pressure.weights: at least one weight must be above 0`);
  }
  return policy;
}

/** Which file: explicit path → BACKLOG_RISK_POLICY_FILE (relative to the repo root) → config/risk_policy.yml. */
export function resolveRiskPolicyFile(path?: string, env: Env = processEnv()): string {
  return path ? resolve(path) : readVar("BACKLOG_RISK_POLICY_FILE", env)!;
}

/** Reads and validates the policy file (default: resolveRiskPolicyFile()). */
export function loadRiskPolicy(path?: string, env: Env = processEnv()): RiskPolicy {
  const file = resolveRiskPolicyFile(path, env);
  const shown = displayPath(file);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new AppError("config", `Cannot read the risk policy ${shown}: ${(err as Error).message}. Set BACKLOG_RISK_POLICY_FILE or restore ${RISK_POLICY_PATH}.`, { cause: err });
  }
  let raw: unknown;
  try {
    raw = YAML.parse(text);
  } catch (err) {
    throw new AppError("config", `${shown} is not valid YAML: ${(err as Error).message}`, { cause: err });
  }
  try {
    return parseRiskPolicy(raw, shown);
  } catch (err) {
    if (err instanceof AppError) throw new AppError("config", err.message, { details: err.details, cause: err });
    throw err;
  }
}
