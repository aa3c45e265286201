import { AppError } from "../../core/errors.ts";
/**
 * Which failures mean "Postgres is gone" (switch to the fallback and retry there) as opposed to
 * "this statement is wrong" (report it). Looks through `cause` chains, so an AppError wrapping a
 * driver error (lib/pg/db.ts pgConnectError) counts as what it wraps.
 */

/** Socket and driver codes (postgres.js uses these names) for a connection that failed or died. */
const NETWORK = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
]);

/**
 * SQLSTATEs: class 08 (connection exception), 57P01 admin_shutdown, 57P02 crash_shutdown,
 * 57P03 cannot_connect_now (starting up / shutting down), 53300 too_many_connections.
 */
const SERVER = new Set(["57P01", "57P02", "57P03", "53300"]);

export function isConnectionError(err: unknown): boolean {
  let cur: unknown = err;
  for (let depth = 0; cur && depth < 6; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === "string" && (NETWORK.has(code) || SERVER.has(code) || /^08[0-9A-Z]{3}$/.test(code))) return true;
    cur = (cur as { cause?: unknown }).cause;
  }
  return false;
}

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
