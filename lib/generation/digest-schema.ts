/**
 * The two digest formats the generator reads (written by architecture_pressure_tool.digest and
 * risk_history_tool.digest), as valibot data. Categories must exist in the backlog policy, so the
 * schemas are built from the policy's category names.
 */
import * as v from "valibot";
import { DateString, EnvName, isSafeText, SAFE_TEXT_RULE, SafeText } from "../domain/schemas.ts";
import { isValidIsoWeek } from "../core/isoweek.ts";
import { BANDS } from "./policy-schema.ts";

export { DateString };

/** Custom text plus what was given, in the `field: <rule>, got <value>` shape of lib/core/errors.ts. */
const got = (rule: string) => (issue: v.BaseIssue<unknown>) => `${rule}, got ${issue.received}`;

/** A service name becomes a dedupe-key segment: no colons, no line breaks. */
export const ServiceName = v.pipe(
  v.string(),
  v.check(isSafeText, SAFE_TEXT_RULE),
  v.minLength(1, "must not be empty"),
  v.maxLength(200, "must be at most 200 characters"),
  v.regex(/^[^:\s][^:\n\r\t]*$/, got("must be a service name without colons or line breaks")),
);
const Score = v.pipe(v.number(got("must be a number from 0 to 100")), v.minValue(0, got("must be from 0 to 100")), v.maxValue(100, got("must be from 0 to 100")));
const Finite = v.pipe(v.number(got("must be a number")), v.finite(got("must be a finite number")));
const Timestamp = v.pipe(v.string(), v.isoTimestamp(got("must be an ISO timestamp like 2026-11-16T06:00:00Z")));
export const IsoWeekString = v.pipe(v.string(), v.check(isValidIsoWeek, got("must be an ISO week like 2026-W47 (W53 only in 53-week years)")));

function Categories(known: readonly string[]) {
  return v.array(v.picklist(known as string[], got(`must be a category of the backlog policy (one of ${known.join("|")})`)));
}

const uniqueServices = <T extends { service: string }>(list: T[]) => new Set(list.map((s) => s.service)).size === list.length;
const ServiceList = <S extends v.GenericSchema<unknown, { service: string }>>(entry: S) =>
  v.pipe(v.array(entry), v.check(uniqueServices, "must list each service once"));

export function platformDigestSchema(categories: readonly string[]) {
  return v.object({
    week: IsoWeekString,
    env: EnvName,
    generated_at: Timestamp,
    services: ServiceList(
      v.object({
        service: ServiceName,
        pressure_score: Score,
        band: v.picklist(BANDS),
        signals: v.record(SafeText, Finite),
        recommended_categories: Categories(categories),
        reasons: v.array(SafeText),
      }),
    ),
  });
}

export function riskDigestSchema(categories: readonly string[]) {
  return v.object({
    date: DateString,
    env: EnvName,
    generated_at: Timestamp,
    services: ServiceList(
      v.object({
        service: ServiceName,
        risk_score: Score,
        band: v.picklist(BANDS),
        delta_24h: Finite,
        delta_7d: Finite,
        top_signals: v.array(v.object({ signal: v.pipe(SafeText, v.minLength(1, "must not be empty")), value: Finite, contribution: Finite })),
        recommended_categories: v.optional(Categories(categories)),
        reasons: v.array(SafeText),
      }),
    ),
  });
}

export type PlatformDigest = v.InferOutput<ReturnType<typeof platformDigestSchema>>;
export type RiskDigest = v.InferOutput<ReturnType<typeof riskDigestSchema>>;
export type PlatformService = PlatformDigest["services"][number];
export type RiskService = RiskDigest["services"][number];
