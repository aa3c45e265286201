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
