/** The store's transactions: retried on serialization failures and deadlocks, errors mapped to 4xx where the input was at fault. */
import type { Logger } from "../../core/log.ts";
import type { Sql } from "../../pg/db.ts";
import { beginSafely } from "../../pg/begin-safely.ts";
import { pgInputError } from "./errors.ts";
import type { Tx } from "../../pg/db.ts";

/** Serialization failures and deadlocks are retried: the whole transaction is simply run again. */
const RETRYABLE = new Set(["40001", "40P01"]);

/**
 * Runs `fn` in a transaction, again (up to 5 times) after a serialization failure or deadlock;
 * `committed` runs after each commit (the store's change feed bump).
 */
export async function retryingTx<T>(sql: Sql, fn: (tx: Tx) => Promise<T>, log: Logger, committed: () => void): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      const out = await beginSafely(sql, fn);
      committed();
      return out;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (!code || !RETRYABLE.has(code) || attempt >= 5) throw pgInputError(err, fieldByCode);
      log.debug("backlog_pg_tx_retry", { attempt, code });
    }
  }
}

/** The only date a caller sends is due_date; timestamps come from the clock. */
export const fieldByCode = (code: string) => (code === "22007" || code === "22008" ? "due_date" : undefined);
