/**
 * The batch upsert rule shared by the memory and JSONL backends (Postgres plans the same way inside its
 * transaction, postgres-batch.ts): every input is checked before anything is written, then each input is
 * planned with planUpsert against the state the inputs before it left — so a batch has exactly the
 * outcome of upserting its inputs one by one, in order (dedupe, events, created/updated flags).
 */
import { AppError } from "../core/errors.ts";
import { parseUpsert, planUpsert } from "./logic.ts";
import type { BacklogEvent, BacklogItem, UpsertInput, UpsertInputParsed, UpsertResult } from "./types.ts";

/** Parses every input; the first bad one is an invalid_input error naming its position. */
export function parseUpsertMany(inputs: UpsertInput[]): UpsertInputParsed[] {
  if (!Array.isArray(inputs)) {
    throw new AppError("invalid_input", `inputs: expected an array of backlog items to upsert, got ${inputs === null ? "null" : typeof inputs}.`);
  }
  return inputs.map((input, i) => {
    try {
      return parseUpsert(input);
    } catch (err) {
      throw new AppError("invalid_input", `inputs[${i}]: ${(err as Error).message}`, { cause: err, details: (err as AppError).details });
    }
  });
}

export interface UpsertManyPlan {
  /** One per input, in input order: the item as that input left it. */
  results: UpsertResult[];
  /** The final version of every item the batch changed, in the order each was first changed. */
  items: BacklogItem[];
  /** Every event of the batch, in the order single upserts would have written them. */
  events: BacklogEvent[];
}

/** `current(key)`: the stored item with that dedupe_key before the batch (null/undefined if none). */
export function planUpsertMany(
  inputs: readonly UpsertInputParsed[],
  current: (key: string) => BacklogItem | null | undefined,
  actor: string,
  now: Date,
): UpsertManyPlan {
  const latest = new Map<string, BacklogItem>();
  const results: UpsertResult[] = [];
  const events: BacklogEvent[] = [];
  for (const input of inputs) {
    const key = input.dedupe_key;
    const before = latest.get(key) ?? current(key) ?? null;
    const plan = planUpsert(before, input, actor, now);
    if (plan.changed) {
      // Map order is first-insertion order: an item changed twice keeps its first place.
      latest.set(key, plan.item);
      events.push(...plan.events);
    }
    results.push({ item: plan.item, created: plan.created, changed: plan.changed });
  }
  return { results, items: [...latest.values()], events };
}
