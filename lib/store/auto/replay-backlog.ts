/**
 * Replays the backlog's outage journal on Postgres, in journal order, each operation once:
 * its op id is inserted into backlog_replayed_ops in the same transaction (savepoint) as its effect,
 * so a repeated pass — after a crash between commit and the local mark, or by a second process on the
 * same journal — skips it. Operations go in batches of BATCH per transaction, each in a savepoint: an
 * operation Postgres refuses (not a connection failure) is rolled back alone and quarantined with the
 * reason, and the rest of the batch commits. Merge rule per kind: docs/storage.md.
 */
import { AppError, describeError } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import { cleanupCutoff, parseStatus, parseTransition, parseUpsert, planComment, planStatus, planTransition, planUpsert } from "../logic.ts";
import { fieldByCode } from "../postgres/retrying-tx.ts";
import { lockById } from "../postgres/lock-by-id.ts";
import { type PostgresBacklogStore } from "../postgres/store.ts";
import { isConnectionError } from "../../pg/connection-errors.ts";
import { pgInputError } from "../postgres/errors.ts";
import type { Tx } from "../../pg/db.ts";
import { insertEvents, insertItems, selectForUpdateByKey, updateItems } from "../postgres/rows.ts";
import type { JsonlBacklogStore } from "../jsonl/store.ts";
import type { OpJournal, JournalMark } from "./journal.ts";
import type { BacklogOp } from "./ops.ts";
import type { ReplayHook } from "./router.ts";

const BATCH = 200;
/** Op ids are kept this long after replay: far longer than any journal waits to be pruned. */
const KEEP_REPLAYED_DAYS = 90;

export interface ReplayCounts {
  applied: number;
  duplicates: number;
  quarantined: number;
}

/** Applies one operation inside `tx`; false when its op id was replayed before. */
export async function applyOp(tx: Tx, op: BacklogOp, log: Logger): Promise<boolean> {
  const [fresh] = await tx`insert into backlog_replayed_ops (op_id, kind) values (${op.op_id}, ${op.kind}) on conflict do nothing returning op_id`;
  if (!fresh) return false;
  const now = new Date(op.ts);
  if (Number.isNaN(now.getTime())) throw new AppError("invalid_input", `ts: expected the ISO time the operation was acknowledged, got ${JSON.stringify(op.ts)}.`);
  switch (op.kind) {
    case "upsert": {
      const input = parseUpsert(op.input);
      const created = planUpsert(null, input, op.actor, now);
      // A key new to Postgres keeps the id the fallback answered with: clients holding it stay right.
      const mine = { ...created.item, id: op.local_id };
      const [inserted] = await insertItems(tx, [mine], "nothing");
      if (inserted) {
        await insertEvents(tx, created.events.map((e) => ({ ...e, item_id: mine.id })));
        return true;
      }
      const [existing] = await selectForUpdateByKey(tx, [input.dedupe_key]);
      if (!existing) {
        // The id is taken by another key (cannot happen with generated ids; a hand-edited journal can).
        const [again] = await insertItems(tx, [created.item], "error");
        await insertEvents(tx, created.events);
        log.warn("backlog_replay_id_taken", { op_id: op.op_id, local_id: op.local_id, id: again?.id ?? created.item.id });
        return true;
      }
      // The key exists: an ordinary upsert (no second `created`), and the fallback's id becomes an alias.
      const plan = planUpsert(existing, input, op.actor, now);
      if (plan.changed) {
        await updateItems(tx, [plan.item]);
        await insertEvents(tx, plan.events);
      }
      if (existing.id !== op.local_id) {
        await tx`insert into backlog_id_aliases (alias, id) values (${op.local_id}, ${existing.id}) on conflict (alias) do nothing`;
      }
      return true;
    }
    case "set_status": {
      const item = await lockById(tx, op.id);
      const plan = planStatus(item, parseStatus(op.status), op.actor, op.message, now);
      if (plan.event) {
        await tx`update backlog_items set status = ${plan.item.status}, updated_at = ${plan.item.updated_at}::timestamptz where id = ${item.id}`;
        await insertEvents(tx, [plan.event]);
      }
      return true;
    }
    case "comment": {
      const item = await lockById(tx, op.id);
      await insertEvents(tx, [{ ...planComment(item, op.message, op.actor, now), id: op.event_id }], "nothing");
      return true;
    }
    case "transition": {
      const item = await lockById(tx, op.id);
      const plan = planTransition(item, parseTransition(op.transition), op.actor, now);
      await updateItems(tx, [plan.item]);
      await insertEvents(tx, [plan.event]);
      return true;
    }
    case "cleanup": {
      const cutoff = cleanupCutoff(op.retention_days, new Date(op.now));
      await tx`delete from backlog_items where status in ('done', 'canceled') and updated_at < ${cutoff}::timestamptz`;
      return true;
    }
    default:
      throw new AppError("invalid_input", `kind: expected upsert|set_status|comment|transition|cleanup, got ${JSON.stringify((op as { kind?: unknown }).kind)}.`);
  }
}

/** Sends `ops` to Postgres in order; quarantines what Postgres refuses. Connection failures are thrown. */
export async function replayOps(pg: PostgresBacklogStore, ops: BacklogOp[], journal: OpJournal<BacklogOp>, log: Logger, clock: () => Date): Promise<ReplayCounts> {
  const counts: ReplayCounts = { applied: 0, duplicates: 0, quarantined: 0 };
  for (let i = 0; i < ops.length; i += BATCH) {
    const batch = ops.slice(i, i + BATCH);
    const refused: { op: BacklogOp; reason: string }[] = [];
    let applied = 0;
    await pg.transaction(async (tx) => {
      refused.length = 0;
      applied = 0;
      for (const op of batch) {
        try {
          if (await tx.savepoint((sp) => applyOp(sp as unknown as Tx, op, log))) applied++;
        } catch (err) {
          if (isConnectionError(err)) throw err;
          refused.push({ op, reason: describeError(pgInputError(err, fieldByCode)) });
        }
      }
    });
    counts.applied += applied;
    counts.duplicates += batch.length - applied - refused.length;
    for (const { op, reason } of refused) {
      await journal.quarantine(op, reason, clock());
      counts.quarantined++;
      log.warn("backlog_replay_quarantined", { op_id: op.op_id, kind: op.kind, reason, quarantine: journal.quarantinePath, hint: "the operation was set aside; the rest of the journal was replayed" });
    }
  }
  return counts;
}

/** The backlog's replay hook for the router: journal → Postgres, then prune what was sent. */
export class BacklogReplay implements ReplayHook {
  readonly name = "backlog";
  readonly order = 10;
  private mark: JournalMark | null = null;

  constructor(
    private readonly journal: OpJournal<BacklogOp>,
    private readonly jsonl: JsonlBacklogStore,
    private readonly log: Logger,
    private readonly clock: () => Date,
  ) {}

  pending(): boolean {
    // Not ">": a journal another process pruned and replaced may be shorter than our mark.
    return this.journal.size() !== (this.mark?.offset ?? 0);
  }

  quarantined(): number {
    return this.journal.quarantined();
  }

  async replay(pg: PostgresBacklogStore, final: boolean): Promise<void> {
    const { records, torn, mark } = this.journal.read(this.mark);
    if (torn) this.log.warn("backlog_journal_torn_lines", { journal: this.journal.path, count: torn, hint: "a writer crashed mid-append; that write was never acknowledged" });
    if (records.length) {
      const counts = await replayOps(pg, records, this.journal, this.log, this.clock);
      this.log.info("backlog_store_replayed", { ...counts, ops: records.length, final, journal: this.journal.path });
      const old = new Date(this.clock().getTime() - KEEP_REPLAYED_DAYS * 86_400_000).toISOString();
      await pg.sql`delete from backlog_replayed_ops where applied_at < ${old}::timestamptz`;
    }
    this.mark = mark;
    if (final && mark.offset > 0) {
      const outcome = await this.jsonl.locked(() => this.journal.prune(mark));
      if (outcome !== "untouched") this.log.info("backlog_journal_pruned", { journal: this.journal.path, outcome });
      this.mark = null;
    }
  }
}
