/**
 * The operations the auto backend journals while it serves from JSONL with Postgres configured but
 * down: what the caller asked for (not a diff against the JSONL copy), with an op id, the actor and the
 * original time. Replayed in order on Postgres by replay-backlog.ts; the merge rule per kind is in
 * docs/storage.md.
 */
import { randomUUID } from "node:crypto";
import type { Status, Transition, UpsertInputParsed } from "../types.ts";

interface OpBase {
  /** Unique per operation; recorded in backlog_replayed_ops with the op's effect (once only). */
  op_id: string;
  /** When the caller's write was acknowledged (ISO): the replayed change carries this time. */
  ts: string;
  actor: string;
}

export type BacklogOp = OpBase &
  (
    | { kind: "upsert"; input: UpsertInputParsed; /** The id the fallback answered with. */ local_id: string }
    | { kind: "set_status"; id: string; status: Status; message?: string }
    | { kind: "comment"; id: string; message: string; event_id: string }
    /** A lifecycle step (store.transition), without its expect_updated_at guard (checked on the fallback). */
    | { kind: "transition"; id: string; transition: Transition }
    | { kind: "cleanup"; retention_days: number; now: string }
  );

export type BacklogOpKind = BacklogOp["kind"];

/** Distributes Omit over the union, so each kind keeps its own fields. */
type WithoutBase<T> = T extends unknown ? Omit<T, keyof OpBase> : never;
export type BacklogOpBody = WithoutBase<BacklogOp>;

export function makeOp(body: BacklogOpBody, actor: string, at: Date): BacklogOp {
  return { op_id: `op_${randomUUID()}`, ts: at.toISOString(), actor, ...body } as BacklogOp;
}

/**
 * Receives the writes the JSONL store acknowledges, inside its file lock, before the ack: one op per
 * write, or one per input of a batch upsert (durable together: one journal append and fsync).
 */
export type OpSink = (ops: BacklogOp[]) => Promise<void>;
