/**
 * Query-string values of the HTTP routes, read one way: booleans and whole numbers are converted only
 * when they are exactly that, so the action's schema refuses anything else naming the field, and a
 * writing route refuses a parameter it does not know (a typo such as ?dryrun=true must not quietly
 * become a real run).
 */
import type { Context } from "hono";
import { AppError } from "../core/errors.ts";

/** "true" / "false"; anything else is passed on as the string (dry_run=yes is refused, not a real run). */
export function queryBool(value: string): boolean | string {
  return value === "true" ? true : value === "false" ? false : value;
}

/**
 * Decimal digits only become a number; anything else ("0x10", "1e2", " 10", "abc") is passed on as the
 * string (Number() would quietly read hex, exponents and blanks).
 */
export function queryInt(value: string): number | string {
  return /^[0-9]+$/.test(value) ? Number(value) : value;
}

/** Refuses (400) every query parameter of the request not in `allowed`, naming each and the allowed ones. */
export function refuseUnknownQuery(c: Context, route: string, allowed: readonly string[]): void {
  const unknown = Object.keys(c.req.queries()).filter((k) => !allowed.includes(k));
  if (unknown.length === 0) return;
  const lines = unknown.map((k) => `${k}: unknown parameter ${JSON.stringify(k)} (allowed: ${allowed.join(", ")})`);
  throw new AppError("invalid_input", `Invalid query for ${route}:\n  ${lines.join("\n  ")}`, { details: lines });
}

/** Refuses (400) a parameter of `names` sent more than once (?dry_run=false&dry_run=true: which one wins?). */
export function refuseRepeatedQuery(c: Context, route: string, names: readonly string[]): void {
  for (const name of names) {
    if ((c.req.queries(name)?.length ?? 0) > 1) {
      const line = `${name}: sent more than once; send it once, true or false`;
      throw new AppError("invalid_input", `Invalid query for ${route}:\n  ${line}`, { details: [line] });
    }
  }
}
