/** The domain vocabulary as data: what passes, what is refused, and the message naming the field. */
import { describe, expect, test } from "bun:test";
import * as v from "valibot";
import { DateString, isSafeText, jsonValueProblem, Meta, Offset, parseJsonBounded, parseUtcTimestamp, SafeText, ScheduledAt } from "../../lib/domain/schemas.ts";
import { jsonTextDepthExceeds } from "../../lib/domain/text.ts";

describe("domain vocabulary", () => {
  test("SafeText refuses NUL and lone surrogates, keeps pairs", () => {
    for (const bad of ["a\u0000", "\ud800", "x\udc00", "\ud83d", "\udc00\ud800"]) expect(isSafeText(bad)).toBe(false);
    for (const ok of ["", "plain", "emoji 😀", "\u2028", "tab\t"]) expect(isSafeText(ok)).toBe(true);
    expect(v.is(SafeText, "a\u0000b")).toBe(false);
  });

  test("DateString is calendar-checked", () => {
    for (const ok of ["2026-02-28", "2028-02-29", "9999-12-31", "0100-01-01"]) expect(v.is(DateString, ok)).toBe(true);
    for (const bad of ["2026-02-30", "2026-13-01", "0000-01-01", "2026-1-01", "2026-02-29"]) expect(v.is(DateString, bad)).toBe(false);
  });

  test("timestamps and scheduled minutes are range-checked", () => {
    expect(parseUtcTimestamp("2026-11-23T06:20Z")?.toISOString()).toBe("2026-11-23T06:20:00.000Z");
    expect(parseUtcTimestamp("2026-11-23T06:20:05.5Z")?.toISOString()).toBe("2026-11-23T06:20:05.500Z");
    for (const bad of ["0000-01-01T00:00Z", "2026-13-01T03:40Z", "2026-11-23T25:61Z", "2026-11-23T23:60Z", "2026-02-30T00:00Z", "2026-11-23 06:20Z"]) {
      expect(parseUtcTimestamp(bad)).toBeNull();
    }
    expect(v.is(ScheduledAt, "2026-11-23T06:20:00.000Z")).toBe(true);
    expect(v.is(ScheduledAt, "2026-11-23T06:20:30Z")).toBe(false);
  });

  test("offsets stay within the Postgres int range", () => {
    expect(v.is(Offset, 2 ** 31 - 1)).toBe(true);
    for (const bad of [2 ** 31, 1e19, -1, 1.5, Number.NaN]) expect(v.is(Offset, bad)).toBe(false);
  });

  test("Meta: depth 32 allowed, 33 refused with the path; keys and texts checked", () => {
    const nest = (n: number): unknown => (n === 0 ? 1 : { a: nest(n - 1) });
    expect(v.is(Meta, nest(32))).toBe(true);
    const r = v.safeParse(Meta, nest(33));
    expect(r.success).toBe(false);
    expect(r.issues?.[0]?.message).toContain("nests deeper than 32");
    expect(jsonValueProblem({ a: [1, { b: "x\u0000" }] }, 32)).toBe("a[1].b: must not contain NUL characters (\\u0000) or unpaired UTF-16 surrogates");
    expect(jsonValueProblem({ ["\ud800"]: 1 }, 32)).toContain("key");
    // The path is rebuilt from the walk only for the value at fault, after any base path.
    expect(jsonValueProblem({ ok: { x: 1 }, a: { b: [{ ["k\u0000"]: 1 }] } }, 32, ["meta"])).toBe('meta.a.b[0]: key "k\\u0000" must not contain NUL characters (\\u0000) or unpaired UTF-16 surrogates');
    expect(jsonValueProblem({ a: { b: Infinity } }, 32, ["params"])).toBe("params.a.b: must be a finite number");
    expect(jsonValueProblem([[["x"]]], 2, ["p"])).toBe("p[0][0]: nests deeper than 2 levels (the limit for stored JSON)");
  });

  test("raw JSON depth is scanned before parsing; brackets inside strings do not count", () => {
    expect(jsonTextDepthExceeds("[".repeat(100_000), 40)).toBe(true);
    expect(jsonTextDepthExceeds(JSON.stringify({ s: "[[[[[[[[[[\\\"[[[[" }), 3)).toBe(false);
    const r = parseJsonBounded("[".repeat(100_000) + "]".repeat(100_000), "Body");
    expect(r.ok).toBe(false);
    expect(parseJsonBounded('{"a":1}', "Body")).toEqual({ ok: true, value: { a: 1 } });
  });
});
