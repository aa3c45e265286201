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
