/**
 * Transactions that survive postgres.js 3.4.9's write-after-close crash (porsager/postgres#1208, #1066);
 * see beginSafely. docs/storage.md "postgres.js caveat".
 */
import type { Sql, Tx } from "./db.ts";
import { isConnectionError } from "./connection-errors.ts";

/**
 * `sql.begin` minus a postgres.js 3.4.9 crash (porsager/postgres#1208, #1066): any statement written on
 * a transaction's connection after its socket closed is written to a null socket from a setImmediate,
 * and the TypeError takes the whole process down. Three ways postgres.js gets there, all closed here:
 * - begin()'s own ROLLBACK, and a savepoint's ROLLBACK TO (written the moment the savepoint's function
 *   fails — as when Postgres went away with one of its statements in flight): after a connection error
 *   inside `fn` or a savepoint, the failing scope is held (held()): if begin() rejects (the connection
 *   closed: the server rolled back already) it is never released; if the connection turns out alive
 *   after all, it is released after a few seconds and rolls back.
 * - `fn`'s next statement after Postgres went away between two of them: once begin() has rejected it
 *   fails with CONNECTION_CLOSED before it reaches postgres.js (guardTx).
 * Seen as bare failures of tests/store/auto-stress.test.ts (Postgres hard-stopped mid-transaction).
 */
export async function beginSafely<T>(sql: Sql, fn: (tx: Tx) => Promise<T>): Promise<T> {
  const conn = new ConnectionWatch();
  const run = sql.begin((tx) => held(conn, () => fn(guardTx(tx as Tx, conn))));
  run.catch(() => conn.close());
  return (await run) as T;
}

/** Whether the transaction's connection is gone (begin() rejected), and a way to wait for it. */
class ConnectionWatch {
  closed = false;
  private readonly wake: (() => void)[] = [];
  close(): void {
    this.closed = true;
    for (const w of this.wake.splice(0)) w();
  }
  /** Resolves when closed, or after `ms`. */
  closedWithin(ms: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

/** How long a scope failed by a connection error waits to learn whether its connection closed. */
const HOLD_MS = 3000;

/** Runs a scope's function; on a connection error, never settles if the connection closed (see beginSafely). */
async function held<T>(conn: ConnectionWatch, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!isConnectionError(err)) throw err;
    await conn.closedWithin(HOLD_MS);
    if (conn.closed) return new Promise<never>(() => {});
    throw err;
  }
}

/**
 * `tx` whose statements (and savepoints, and their statements) fail with CONNECTION_CLOSED once the
 * connection closed, instead of being handed to a connection without a socket; a savepoint failed by a
 * connection error is held like the transaction (beginSafely).
 */
function guardTx(tx: Tx, conn: ConnectionWatch): Tx {
  const refuse = () => {
    if (conn.closed) throw Object.assign(new Error("the transaction's connection to Postgres closed; statement not sent"), { code: "CONNECTION_CLOSED" });
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
            args[fnAt] = (sp: Tx) => held(conn, async () => inner(guardTx(sp, conn)));
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
