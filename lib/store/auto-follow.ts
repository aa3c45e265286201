/**
 * For data kept next to the backlog (risk history, trends): run an operation on the backend the auto
 * store is serving from at this moment. A connection failure on Postgres makes the auto store check
 * its health (and fall back); then the operation runs on the JSONL side. Callers' writes must be
 * idempotent on replay, since such a call may have half-reached Postgres.
 */
import type { AutoBacklogStore } from "./auto.ts";
import { isConnectionError } from "./postgres-errors.ts";
import type { PostgresBacklogStore } from "./postgres.ts";

export async function followAuto<T>(store: AutoBacklogStore, onPostgres: (pg: PostgresBacklogStore) => Promise<T>, onJsonl: () => Promise<T>): Promise<T> {
  const pg = store.serving;
  if (!pg) return onJsonl();
  try {
    return await onPostgres(pg);
  } catch (err) {
    if (!isConnectionError(err)) throw err;
    await store.health();
    if (store.serving) throw err;
    return onJsonl();
  }
}
