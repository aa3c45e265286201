/**
 * AppError on its own, without valibot: scripts throw it while parsing flags, and `--help` must not pay
 * for loading the validation library (issue 17 item 4). lib/core/errors.ts re-exports it with the helpers.
 */
export type ErrorCode =
  | "invalid_input"
  | "unprocessable"
  | "not_found"
  | "method_not_allowed"
  | "conflict"
  | "unauthorized"
  | "forbidden"
  | "degraded"
  | "unavailable"
  | "config"
  | "internal";

const STATUS: Record<ErrorCode, number> = {
  invalid_input: 400,
  /** Well-formed request, but data it depends on (a digest file) is malformed. */
  unprocessable: 422,
  not_found: 404,
  /** A known path called with a method it does not take (details.allow: the Allow header). */
  method_not_allowed: 405,
  conflict: 409,
  unauthorized: 401,
  forbidden: 403,
  degraded: 503,
  unavailable: 503,
  config: 500,
  internal: 500,
};

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details?: unknown;
  constructor(code: ErrorCode, message: string, options: { details?: unknown; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "AppError";
    this.code = code;
    this.status = STATUS[code];
    this.details = options.details;
  }
}
