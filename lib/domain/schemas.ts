/**
 * The domain vocabulary, defined once and used by the stores, the digests, the tools, the CLI and the
 * HTTP layer, so Postgres and JSONL accept exactly the same inputs: a value either passes here or is a
 * 400 naming the field; nothing reaches a backend that one would store and the other refuse.
 */
import * as v from "valibot";
import { isValidDate } from "../core/isoweek.ts";
import { isSafeText, jsonValueProblem, MAX_META_DEPTH, SAFE_TEXT_RULE } from "./text.ts";

export { isSafeText, MAX_META_DEPTH, MAX_BODY_DEPTH, SAFE_TEXT_RULE, jsonValueProblem, parseJsonBounded } from "./text.ts";

export const PRIORITIES = ["P0", "P1", "P2", "P3"] as const;
export const STATUSES = ["open", "in_progress", "blocked", "done", "canceled"] as const;
export type Priority = (typeof PRIORITIES)[number];
export type Status = (typeof STATUSES)[number];

export const Priority = v.picklist(PRIORITIES);
export const Status = v.picklist(STATUSES);

/** Any text a caller sends: no NUL, no lone surrogate (Postgres refuses both; see text.ts). */
export const SafeText = v.pipe(v.string(), v.check(isSafeText, SAFE_TEXT_RULE));
/** SafeText of at most `max` characters. */
export const Text = (max: number) => v.pipe(SafeText, v.maxLength(max, `must be at most ${max} characters`));
/** Trimmed, non-empty SafeText of at most `max` characters (names, titles, keys). */
export const Name = (max: number) => v.pipe(SafeText, v.trim(), v.minLength(1, "must not be empty"), v.maxLength(max, `must be at most ${max} characters`));

/** Env names end up in file paths (reports/<env>): a strict slug, never `../`. */
export const EnvName = v.pipe(
  v.string(),
  v.regex(/^[a-z][a-z0-9_-]{0,31}$/, "must be a lowercase name like prod, staging or dev (a-z, 0-9, - and _)"),
);

/** A backlog item id as the stores hand them out. */
export const ItemId = v.pipe(v.string(), v.regex(/^bl_[A-Za-z0-9_-]+$/, "must look like bl_…"));
/** An id a caller asks for: any safe text (an unknown one is a 404, not a 400). */
export const IdParam = v.pipe(Text(200), v.minLength(1, "must not be empty"));

const got = (rule: string) => (issue: v.BaseIssue<unknown>) => `${rule}, got ${issue.received}`;

/** A calendar date YYYY-MM-DD (2026-02-30 and year 0000 refused), the one date type of the project. */
export const DateString = v.pipe(v.string(), v.check(isValidDate, got("must be a calendar date YYYY-MM-DD")));

/** Postgres int (offset/limit compare against bigint there; keep both backends on the same range). */
export const PG_INT_MAX = 2_147_483_647;
export const Limit = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1000));
export const Offset = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(PG_INT_MAX, `must be at most ${PG_INT_MAX}`));

/** Stored JSON (`meta`): an object, at most MAX_META_DEPTH deep, every key and text safe. */
export const Meta = v.pipe(
  v.record(v.string(), v.unknown()),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const problem = jsonValueProblem(dataset.value, MAX_META_DEPTH);
    if (problem) addIssue({ message: problem });
  }),
);

const MINUTE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?Z$/;

/**
 * A UTC timestamp like 2026-11-23T06:20Z or 2026-11-23T06:20:00.000Z, range-checked (month 13, hour 25,
 * minute 61, year 0000 and 2026-02-30 are refused): the Date, or null.
 */
export function parseUtcTimestamp(text: string): Date | null {
  const m = MINUTE.exec(text);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map((x) => Number(x ?? 0)) as [number, number, number, number, number, number];
  if (year < 1 || hour > 23 || minute > 59 || second > 59) return null;
  if (!isValidDate(`${m[1]}-${m[2]}-${m[3]}`)) return null;
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, Number((m[7] ?? "0").padEnd(3, "0")));
  return d;
}

/** The scheduled minute a cron runner sends: whole minute, UTC. */
export const ScheduledAt = v.pipe(
  v.string(),
  v.check((s) => /^[^T]*T\d{2}:\d{2}(:00(\.0{1,3})?)?Z$/.test(s) && parseUtcTimestamp(s) !== null, got('must be the scheduled minute in UTC, e.g. "2026-11-23T06:20:00.000Z"')),
);
