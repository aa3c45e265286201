/**
 * ISO-8601 week maths (UTC). Weekly digests and dedupe keys are named `2026-W47`; the ISO year of a
 * week can differ from the calendar year near New Year (2027-01-01 is in 2026-W53, 2024-12-30 is in
 * 2025-W01), so never derive a week from `getUTCFullYear()` alone.
 */
import { AppError } from "./errors.ts";

export interface IsoWeek {
  year: number;
  week: number;
}

const WEEK = /^(\d{4})-W(\d{2})$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DAY_MS = 86_400_000;

/** Parses a strict YYYY-MM-DD calendar date (rejects 2026-02-30) as midnight UTC. */
export function parseDate(date: string): Date {
  const m = DATE.exec(date);
  const d = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : null;
  if (!d || d.toISOString().slice(0, 10) !== date) {
    throw new AppError("invalid_input", `expected a calendar date YYYY-MM-DD, got ${JSON.stringify(date)}`);
  }
  return d;
}

/** A parser turned into a yes/no check (for valibot `check`). */
const accepts = (parse: (text: string) => unknown) => (text: string): boolean => {
  try {
    parse(text);
    return true;
  } catch {
    return false;
  }
};

export const isValidDate = accepts(parseDate);

/** The ISO week containing `at` (a Date, taken in UTC, or a YYYY-MM-DD string). */
export function isoWeekOf(at: Date | string): IsoWeek {
  const d = typeof at === "string" ? parseDate(at) : new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
  const dow = d.getUTCDay() || 7; // Monday 1 … Sunday 7
  // The Thursday of this week decides the ISO year.
  const thursday = new Date(d.getTime() + (4 - dow) * DAY_MS);
  const year = thursday.getUTCFullYear();
  const jan1 = Date.UTC(year, 0, 1);
  return { year, week: Math.floor((thursday.getTime() - jan1) / DAY_MS / 7) + 1 };
}

/** 52 or 53: a year has 53 ISO weeks when Dec 28 (always in its last week) falls in week 53. */
export function weeksInYear(year: number): number {
  return isoWeekOf(new Date(Date.UTC(year, 11, 28))).week;
}

export function formatIsoWeek({ year, week }: IsoWeek): string {
  return `${String(year).padStart(4, "0")}-W${String(week).padStart(2, "0")}`;
}

/** "2026-W47" → {2026, 47}; rejects W00, W54 and W53 in a 52-week year. */
export function parseIsoWeek(text: string): IsoWeek {
  const m = WEEK.exec(text);
  if (m) {
    const year = Number(m[1]);
    const week = Number(m[2]);
    if (week >= 1 && week <= weeksInYear(year)) return { year, week };
    throw new AppError("invalid_input", `${JSON.stringify(text)} is not a week of ${year}: ISO year ${year} has weeks W01 to W${weeksInYear(year)}`);
  }
  throw new AppError("invalid_input", `expected an ISO week like 2026-W47, got ${JSON.stringify(text)}`);
}

export const isValidIsoWeek = accepts(parseIsoWeek);

/** Monday of the week, YYYY-MM-DD. */
export function isoWeekMonday(w: IsoWeek): string {
  const jan4 = Date.UTC(w.year, 0, 4); // Jan 4 is always in week 1
  const jan4Dow = new Date(jan4).getUTCDay() || 7;
  return new Date(jan4 + ((w.week - 1) * 7 - (jan4Dow - 1)) * DAY_MS).toISOString().slice(0, 10);
}

/** The week label for a date: isoWeekLabel("2027-01-01") = "2026-W53". */
export const isoWeekLabel = (at: Date | string): string => formatIsoWeek(isoWeekOf(at));
