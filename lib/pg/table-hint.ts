/**
 * A missing table is an un-migrated database: errors say which migration and how to run it, not just
 * Postgres's "relation … does not exist" (SQLSTATE 42P01). One rule for every companion table.
 */
import { AppError } from "../core/errors.ts";

export type Hinted = <T>(what: string, query: () => Promise<T>) => Promise<T>;

/** Runs `query`; a missing `table` becomes an `unavailable` error naming `migration`. */
export function tableHint(table: string, migration: string): Hinted {
  return async (what, query) => {
    try {
      return await query();
    } catch (err) {
      if ((err as { code?: unknown }).code === "42P01") {
        throw new AppError("unavailable", `Cannot ${what}: the table ${table} does not exist. Run the migrations (npx bun run migrate; migration ${migration}).`, { cause: err });
      }
      throw err;
    }
  };
}

/**
 * SQLSTATEs of a statement naming what the database does not have yet (class 42: undefined table,
 * column, function, object): a partly migrated database, whichever query met it first.
 */
const UNMIGRATED = new Set(["42P01", "42703", "42883", "42704"]);

/**
 * The safety net for queries without their own tableHint: a driver error (or one in its cause chain)
 * meaning "not migrated" becomes `unavailable` (503 over HTTP) naming the fix, never a 500 or a bare
 * "relation … does not exist". Applied to every tool call (lib/tools/dispatch.ts: HTTP, UI, CLI,
 * scheduler) and to the HTTP routes that read the store directly (app.ts onError: /metrics).
 */
export function unmigratedError(err: unknown): AppError | null {
  let cur: unknown = err;
  for (let depth = 0; cur && depth < 6; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === "string" && UNMIGRATED.has(code)) {
      const what = String((cur as { message?: unknown }).message ?? code).slice(0, 200);
      return new AppError("unavailable", `The database is not fully migrated (${what}): run the migrations (npx bun run scripts/migrate.ts; --status lists what is pending).`, { cause: err });
    }
    cur = (cur as { cause?: unknown }).cause;
  }
  return null;
}
