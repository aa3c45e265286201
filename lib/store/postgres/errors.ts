import { AppError } from "../../core/errors.ts";
/**
 * THE mapping of Postgres' verdicts on a value to the caller's fault: SQLSTATE class 22 (data
 * exception: a date that does not exist, a number out of range, a NUL byte) and class 23 (integrity:
 * a check or foreign key) are bad input — `invalid_input` (HTTP 400) naming the field when Postgres
 * names it (or the caller's `fieldFor` guess by code) — never a 500. Anything else is returned as is.
 */
export function pgInputError(err: unknown, fieldFor: (code: string) => string | undefined = () => undefined): unknown {
  const e = err as { code?: unknown; message?: unknown; column_name?: unknown; constraint_name?: unknown };
  if (typeof e?.code !== "string" || !/^2[23][0-9A-Z]{3}$/.test(e.code)) return err;
  const field = (typeof e.column_name === "string" && e.column_name) || fieldFor(e.code);
  const what = typeof e.message === "string" ? e.message : "value rejected";
  const where = field ? `${field}: ` : "";
  const constraint = typeof e.constraint_name === "string" && e.constraint_name ? ` (constraint ${e.constraint_name})` : "";
  return new AppError("invalid_input", `${where}Postgres rejected the value: ${what}${constraint}. Send a valid value${field ? ` for ${field}` : ""}.`, {
    cause: err,
    details: field ? [`${field}: ${what}`] : undefined,
  });
}
