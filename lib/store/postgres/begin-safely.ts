/**
 * Transactions that survive postgres.js 3.4.9's write-after-close crash (porsager/postgres#1208, #1066);
 * see beginSafely. docs/storage.md "postgres.js caveat".
 */
import type { Sql } from "../../pg/db.ts";
import { isConnectionError } from "./errors.ts";
import type { Tx } from "./rows.ts";

/**
 * `sql.begin` minus a postgres.js 3.4.9 crash (porsager/postgres#1208, #1066): any statement written on
 * a transaction's connection after its socket closed (begin()'s own ROLLBACK, or `fn`'s next statement
 * when Postgres went away between two of them) is written to a null socket from a setImmediate, and the
 * TypeError takes the whole process down. So after a connection error inside `fn` the scope is held:
 * if begin() rejects (the connection closed: the server rolled back already) it is never released;
 * if the connection turns out alive after all, it is released after a few seconds and rolls back.
 * And once begin() has rejected, `fn`'s next statement fails with CONNECTION_CLOSED before it reaches
 * postgres.js (guardTx): the bare crash seen in the auto stress test (Postgres hard-stopped between two
 * statements of a transaction).
 */
export async function beginSafely<T>(sql: Sql, fn: (tx: Tx) => Promise<T>): Promise<T> {
  let closed = false;
  let onClosed = () => {};
  const run = sql.begin(async (tx) => {
    try {
      return await fn(guardTx(tx as Tx, () => closed));
    } catch (err) {
      if (!isConnectionError(err)) throw err;
      if (!closed) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 3000);
          onClosed = () => clearTimeout(timer);
        });
      }
      if (closed) return new Promise<never>(() => {});
      throw err;
    }
  });
  run.catch(() => {
    closed = true;
    onClosed();
  });
  return (await run) as T;
}

/**
 * `tx` whose statements (and savepoints, and their statements) fail with CONNECTION_CLOSED once
 * `isClosed()`, instead of being handed to a connection without a socket (beginSafely).
 */
function guardTx(tx: Tx, isClosed: () => boolean): Tx {
  const refuse = () => {
    if (isClosed()) throw Object.assign(new Error("the transaction's connection to Postgres closed; statement not sent"), { code: "CONNECTION_CLOSED" });
  };
  return new Proxy(tx, {
    apply(target, self, args) {
      refuse();
      return Reflect.apply(target as never, self, args);
    },
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== "function") return value;
      if (prop === "savepoint") {
        return (...args: unknown[]) => {
          refuse();
          const fnAt = args.findIndex((a) => typeof a === "function");
          if (fnAt >= 0) {
            const inner = args[fnAt] as (sp: Tx) => unknown;
            args[fnAt] = (sp: Tx) => inner(guardTx(sp, isClosed));
          }
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      if (prop === "unsafe" || prop === "file") {
        return (...args: unknown[]) => {
          refuse();
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return value;
    },
  });
}
