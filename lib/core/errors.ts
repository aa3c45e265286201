/**
 * Errors that reach an operator. Each names what was wrong, what is allowed and the fix;
 * `status` lets the HTTP layer answer 4xx instead of 500, `details` carries per-field problems.
 */
import * as v from "valibot";

export { AppError, type ErrorCode } from "./app-error.ts";
import { AppError } from "./app-error.ts";

export const invalid = (message: string, details?: unknown) => new AppError("invalid_input", message, { details });

type AnyIssue = v.BaseIssue<unknown>;

/** Renders a valibot `expected` like `("P0" | "P1")` as `one of P0|P1`. */
function expectedText(expected: string | null): string | null {
  if (!expected) return null;
  const parts = expected.replace(/^\(|\)$/g, "").split(" | ");
  if (parts.length > 1 && parts.every((p) => /^".*"$/.test(p))) {
    return "one of " + parts.map((p) => p.slice(1, -1)).join("|");
  }
  return expected;
}

/** One line per problem: `categories.security.priority: expected one of P0|P1|P2|P3, got "P9"`. */
export function formatIssue(issue: AnyIssue): string {
  const path = v.getDotPath(issue) ?? "(root)";
  const expected = expectedText(issue.expected);
  // Custom messages (from our schemas) are already sentences; keep them.
  const isDefault = issue.message.startsWith("Invalid ");
  if (!isDefault) return `${path}: ${issue.message}`;
  if (issue.received === "undefined" && issue.kind === "schema") return `${path}: is required`;
  if (expected) return `${path}: expected ${expected}, got ${issue.received}`;
  return `${path}: ${issue.message}`;
}

export function formatIssues(issues: readonly AnyIssue[]): string[] {
  return issues.map(formatIssue);
}

/**
 * Validates `input` against `schema`; on failure throws an AppError whose message starts with
 * `what` (e.g. "config/backlog_policy.yml is invalid") and lists every bad field.
 */
export function parseOrThrow<S extends v.GenericSchema>(schema: S, input: unknown, what: string): v.InferOutput<S> {
  const result = v.safeParse(schema, input);
  if (result.success) return result.output;
  const lines = formatIssues(result.issues);
  throw new AppError("invalid_input", `${what}:\n  ${lines.join("\n  ")}`, { details: lines });
}

/** Message plus the chain of causes, never a stack (stacks are for LOG_LEVEL=debug). */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  let cur: unknown = err;
  for (let i = 0; cur && i < 5; i++) {
    const msg = cur instanceof Error ? cur.message : String(cur);
    if (!parts.some((p) => p.includes(msg))) parts.push(msg);
    cur = cur instanceof Error ? cur.cause : undefined;
  }
  return parts.join(": ");
}
