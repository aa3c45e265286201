/**
 * The upsertMany part of the store contract (called by storeContract for every backend): a batch has
 * exactly the outcome of upserting its inputs one by one, in order — results, stored items and events —
 * checked by example and by a property test against single upserts on the same store.
 */
import { expect, test } from "bun:test";
import fc from "fast-check";
import type { BacklogEvent, BacklogItem, BacklogStore, UpsertInput, UpsertResult } from "../../lib/store/types.ts";
import { item } from "./contract.ts";

/** An input as the property generates it: few keys, titles, owners and metas, so keys repeat and collide. */
const Input = fc.record({
  key: fc.integer({ min: 0, max: 3 }),
  title: fc.constantFrom("Rotate keys", "Rotate keys now", "Patch"),
  owner: fc.constantFrom(undefined, null, "team-a", "team-b"),
  meta: fc.constantFrom(undefined, { week: "W47" }, { week: "W48" }, { score: 3 }),
  tags: fc.constantFrom(undefined, ["auto"], ["auto", "sec"]),
  status: fc.constantFrom(undefined, "in_progress" as const),
});
type Gen = ReturnType<typeof Input.generate>["value"];

const toInput = (ns: string, g: Gen): UpsertInput =>
  item({ dedupe_key: `${ns}:${g.key}`, title: g.title, owner: g.owner, meta: g.meta, tags: g.tags && [...g.tags], status: g.status });

/** What must match between the batch and the single upserts: everything but the id and the key's namespace. */
const shapeItem = (it: BacklogItem) => ({ ...it, id: "", dedupe_key: it.dedupe_key.split(":")[1] });
const shapeResult = (r: UpsertResult) => ({ ...r, item: shapeItem(r.item) });
const shapeEvents = (evs: BacklogEvent[]) => evs.map((e) => [e.type, e.actor, e.message, e.ts, e.meta]);

export function upsertManyContract(store: () => BacklogStore, tick: () => void, numRuns: number) {
  test("upsertMany: same results, items and events as single upserts in order (property, against the same store)", async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(Input, { maxLength: 3 }), fc.array(Input, { minLength: 1, maxLength: 8 }), async (seed, batch) => {
        const s = store();
        const [a, b] = [`r${run}a`, `r${++run}b`];
        for (const g of seed) {
          await s.upsert(toInput(a, g), { actor: "seed" });
          await s.upsert(toInput(b, g), { actor: "seed" });
        }
        tick();
        const got = await s.upsertMany(batch.map((g) => toInput(a, g)), { actor: "gen" });
        const want: UpsertResult[] = [];
        for (const g of batch) want.push(await s.upsert(toInput(b, g), { actor: "gen" }));
        expect(got.map(shapeResult)).toEqual(want.map(shapeResult));
        // One id per key, as with single upserts.
        for (let i = 0; i < batch.length; i++) {
          const first = batch.findIndex((g) => g.key === batch[i]!.key);
          expect(got[i]!.item.id).toBe(got[first]!.item.id);
        }
        for (const key of new Set(batch.map((g) => g.key))) {
          const [x, y] = [await s.getByDedupeKey(`${a}:${key}`), await s.getByDedupeKey(`${b}:${key}`)];
          expect(shapeItem(x!)).toEqual(shapeItem(y!));
          expect(shapeEvents(await s.events(x!.id))).toEqual(shapeEvents(await s.events(y!.id)));
        }
      }),
      { numRuns },
    );
  });

  test("upsertMany: a bad input names its position and nothing of the batch is written; an empty batch is a no-op", async () => {
    const s = store();
    expect(await s.upsertMany([], { actor: "gen" })).toEqual([]);
    const bad = await s.upsertMany([item({ dedupe_key: "k1" }), { ...item({ dedupe_key: "k2" }), priority: "P9" } as unknown as UpsertInput], { actor: "gen" }).catch((e) => e);
    expect(bad.code).toBe("invalid_input");
    expect(bad.message).toContain("inputs[1]: ");
    expect(bad.message).toContain('priority: expected one of P0|P1|P2|P3, got "P9"');
    expect((await s.list()).total).toBe(0);
  });

  test("upsertMany: re-running the same batch changes nothing and writes no event", async () => {
    const s = store();
    const batch = Array.from({ length: 30 }, (_, i) => item({ dedupe_key: `gen:${i}`, service: `svc-${i % 4}` }));
    const first = await s.upsertMany(batch, { actor: "gen" });
    expect(first.every((r) => r.created && r.changed)).toBe(true);
    tick();
    const again = await s.upsertMany(batch, { actor: "gen" });
    expect(again.map((r) => [r.created, r.changed])).toEqual(batch.map(() => [false, false]));
    expect(again.map((r) => r.item)).toEqual(first.map((r) => r.item));
    expect((await s.list({ limit: 100 })).total).toBe(30);
    expect((await s.events(first[7]!.item.id)).map((e) => e.type)).toEqual(["created"]);
  });
}
