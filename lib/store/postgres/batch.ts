/**
 * upsertMany: the same outcome as upserting each input in order, in one transaction and four
 * statements whatever the batch size: one multi-row `insert … on conflict do nothing` for every key,
 * one `select … for update` of the keys that already existed, one `update … from jsonb_to_recordset`
 * of the items that changed, one insert of all events. Plans come from logic.ts planUpsert.
 */
import { planUpsert } from "../logic.ts";
import type { Tx } from "../../pg/db.ts";
import { insertEvents, insertItems, selectForUpdateByKey, updateItems } from "./rows.ts";
import type { BacklogEvent, BacklogItem, UpsertInputParsed, UpsertResult } from "../types.ts";

export async function upsertManyTx(tx: Tx, inputs: UpsertInputParsed[], actor: string, now: Date): Promise<UpsertResult[]> {
  // A fresh plan for the first input of every key: what gets inserted if the key is new.
  const fresh = new Map<string, ReturnType<typeof planUpsert>>();
  for (const input of inputs) if (!fresh.has(input.dedupe_key)) fresh.set(input.dedupe_key, planUpsert(null, input, actor, now));

  const inserted = new Set((await insertItems(tx, [...fresh.values()].map((p) => p.item), "nothing")).map((r) => r.dedupe_key));
  const current = new Map<string, BacklogItem>();
  const missing = [...fresh.keys()].filter((k) => !inserted.has(k));
  for (const it of await selectForUpdateByKey(tx, missing)) current.set(it.dedupe_key, it);
  if (current.size !== missing.length) {
    // A key we did not insert is gone (cleanup raced us): the caller's retry loop runs everything again.
    throw Object.assign(new Error("dedupe_key vanished during upsertMany"), { code: "40001" });
  }

  const results: UpsertResult[] = [];
  const events: BacklogEvent[] = [];
  const dirty = new Set<string>();
  for (const input of inputs) {
    const key = input.dedupe_key;
    const before = current.get(key);
    if (!before) {
      // First input of a key this batch inserted.
      const plan = fresh.get(key)!;
      current.set(key, plan.item);
      events.push(...plan.events);
      results.push({ item: plan.item, created: true, changed: true });
      continue;
    }
    const plan = planUpsert(before, input, actor, now);
    if (plan.changed) {
      current.set(key, plan.item);
      events.push(...plan.events);
      dirty.add(key);
    }
    results.push({ item: plan.item, created: false, changed: plan.changed });
  }
  await updateItems(tx, [...dirty].map((k) => current.get(k)!));
  await insertEvents(tx, events);
  return results;
}
