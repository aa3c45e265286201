import { describe, expect, test } from "bun:test";
import { AppError } from "../../lib/core/errors.ts";
import { isoWeekLabel, isoWeekMonday, isValidDate, isValidIsoWeek, parseIsoWeek, weeksInYear } from "../../lib/core/isoweek.ts";

describe("ISO weeks", () => {
  test.each([
    ["2026-11-16", "2026-W47"], // Monday
    ["2026-11-22", "2026-W47"], // Sunday: same week
    ["2026-11-23", "2026-W48"],
    ["2026-01-01", "2026-W01"], // Thursday: week 1 of its own year
    ["2026-12-28", "2026-W53"], // 2026 has 53 weeks
    ["2026-12-31", "2026-W53"],
    ["2027-01-01", "2026-W53"], // Friday: still the previous ISO year
    ["2027-01-03", "2026-W53"],
    ["2027-01-04", "2027-W01"],
    ["2024-12-30", "2025-W01"], // Monday in December, already next ISO year
    ["2021-01-03", "2020-W53"],
    ["2020-02-29", "2020-W09"],
  ])("%s is in %s", (date, week) => {
    expect(isoWeekLabel(date)).toBe(week);
    expect(isoWeekLabel(new Date(date + "T23:59:59.999Z"))).toBe(week);
  });

  test("weeks per year: 53 only in long years", () => {
    expect([2020, 2021, 2024, 2025, 2026, 2027, 2032].map(weeksInYear)).toEqual([53, 52, 52, 52, 53, 52, 53]);
  });

  test("the Monday of a week, across the year change", () => {
    expect(isoWeekMonday(parseIsoWeek("2026-W47"))).toBe("2026-11-16");
    expect(isoWeekMonday(parseIsoWeek("2026-W53"))).toBe("2026-12-28");
    expect(isoWeekMonday(parseIsoWeek("2027-W01"))).toBe("2027-01-04");
    expect(isoWeekMonday(parseIsoWeek("2025-W01"))).toBe("2024-12-30");
  });

  test("every day of 2019-2031 round-trips through its week's Monday", () => {
    for (let t = Date.UTC(2019, 0, 1); t < Date.UTC(2032, 0, 1); t += 86_400_000) {
      const date = new Date(t).toISOString().slice(0, 10);
      const monday = isoWeekMonday(parseIsoWeek(isoWeekLabel(date)));
      const diff = (t - Date.parse(monday + "T00:00:00Z")) / 86_400_000;
      expect(diff >= 0 && diff < 7).toBe(true);
    }
  });

  test("week strings: W53 only when the year has it; bad shapes say what is expected", () => {
    expect(isValidIsoWeek("2026-W53")).toBe(true);
    expect(isValidIsoWeek("2025-W53")).toBe(false);
    expect(isValidIsoWeek("2026-W00")).toBe(false);
    expect(isValidIsoWeek("2026-47")).toBe(false);
    expect(() => parseIsoWeek("2025-W53")).toThrow('"2025-W53" is not a week of 2025: ISO year 2025 has weeks W01 to W52');
    expect(() => parseIsoWeek("2026-47")).toThrow('expected an ISO week like 2026-W47, got "2026-47"');
    expect(() => parseIsoWeek("x")).toThrow(AppError);
  });

  test("dates are real calendar dates", () => {
    expect(isValidDate("2026-02-28")).toBe(true);
    expect(isValidDate("2026-02-29")).toBe(false);
    expect(isValidDate("2028-02-29")).toBe(true);
    expect(isValidDate("2026-13-01")).toBe(false);
    expect(isValidDate("2026-1-01")).toBe(false);
  });
});
