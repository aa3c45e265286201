/**
 * The ONE contract every NotifyStateStore meets (memory, JSONL, Postgres): claims are exactly-once across
 * instances sharing the backend, completed notices are firing until resolved, released claims can be
 * claimed again, and an abandoned claim is taken over after its lease only.
 */
import { describe, expect, test } from "bun:test";
import { noticeKey, type NoticeRecord, type NotifyStateStore } from "../../lib/notify/state.ts";

export interface StateFactory {
  /** Two instances over ONE shared backend (two replicas). */
  open(): Promise<[NotifyStateStore, NotifyStateStore]>;
}

const NOW = new Date("2026-11-23T10:00:00.000Z");
const later = (ms: number) => new Date(NOW.getTime() + ms);

export function rec(fp: string, kind: NoticeRecord["kind"], runId: string, over: Partial<NoticeRecord> = {}): NoticeRecord {
  return {
    key: noticeKey("hook", fp, kind, over.slot ?? 0),
    webhook: "hook",
    fingerprint: fp,
    kind,
    slot: 0,
    owner: "team-a",
    item: { id: `bl_${fp}`, env: "prod", service: "svc", title: `item ${fp}`, priority: "P1", due_date: "2026-11-20" },
    status: "sending",
    run_id: runId,
    claimed_at: NOW.toISOString(),
    sent_at: null,
    ...over,
  };
}

export function stateContract(label: string, factory: StateFactory) {
  describe(`NotifyStateStore contract: ${label}`, () => {
    test("a key is claimed once, across instances; duplicates in one call count once", async () => {
      const [a, b] = await factory.open();
      const first = await a.claim([rec("f1", "overdue", "r1"), rec("f2", "warn", "r1"), rec("f1", "overdue", "r1")], NOW, 60_000);
      expect(first.sort()).toEqual([noticeKey("hook", "f1", "overdue", 0), noticeKey("hook", "f2", "warn", 0)]);
      expect(await b.claim([rec("f1", "overdue", "r2"), rec("f3", "warn", "r2")], NOW, 60_000)).toEqual([noticeKey("hook", "f3", "warn", 0)]);
    });

    test("concurrent claims of the same notices from two instances: each notice won exactly once", async () => {
      const [a, b] = await factory.open();
      const batch = (run: string) => Array.from({ length: 20 }, (_, i) => rec(`c${i}`, "overdue", run));
      const [x, y] = await Promise.all([a.claim(batch("ra"), NOW, 60_000), b.claim(batch("rb"), NOW, 60_000)]);
      expect([...x, ...y].sort()).toEqual(batch("").map((r) => r.key).sort());
      expect(new Set([...x, ...y]).size).toBe(20);
    });

    test("complete → firing (latest per fingerprint); a resolved notice ends it", async () => {
      const [a, b] = await factory.open();
      await a.claim([rec("g1", "warn", "r1"), rec("g2", "overdue", "r1")], NOW, 60_000);
      expect(await b.firing("hook")).toEqual([]); // claimed, not sent
      await a.complete([noticeKey("hook", "g1", "warn", 0), noticeKey("hook", "g2", "overdue", 0)], "r1", later(1000));
      await a.claim([rec("g1", "overdue", "r2", { slot: 1 })], later(2000), 60_000);
      await a.complete([noticeKey("hook", "g1", "overdue", 1)], "r2", later(3000));
      const firing = await b.firing("hook");
      expect(firing.map((r) => [r.fingerprint, r.kind, r.slot, r.status])).toEqual([
        ["g1", "overdue", 1, "sent"],
        ["g2", "overdue", 0, "sent"],
      ]);
      expect(firing[0]!.item.title).toBe("item g1");
      expect(await b.firing("other-hook")).toEqual([]);
      await b.claim([rec("g2", "resolved", "r3")], later(4000), 60_000);
      expect((await a.firing("hook")).map((r) => r.fingerprint)).toEqual(["g1"]);
    });

    test("released claims are claimable again; a run cannot complete or release another run's claim", async () => {
      const [a, b] = await factory.open();
      const k = noticeKey("hook", "h1", "warn", 0);
      expect(await a.claim([rec("h1", "warn", "r1")], NOW, 60_000)).toEqual([k]);
      await b.release([k], "someone-else");
      await b.complete([k], "someone-else", NOW);
      expect(await b.claim([rec("h1", "warn", "r2")], NOW, 60_000)).toEqual([]);
      expect(await a.firing("hook")).toEqual([]);
      await a.release([k], "r1");
      expect(await b.claim([rec("h1", "warn", "r2")], NOW, 60_000)).toEqual([k]);
    });

    test("an abandoned claim is taken over after the lease, never before; a sent notice never", async () => {
      const [a, b] = await factory.open();
      await a.claim([rec("i1", "overdue", "crashed"), rec("i2", "overdue", "ok")], NOW, 60_000);
      await a.complete([noticeKey("hook", "i2", "overdue", 0)], "ok", NOW);
      const retry = [rec("i1", "overdue", "r2", { claimed_at: later(30_000).toISOString() }), rec("i2", "overdue", "r2")];
      expect(await b.claim(retry, later(30_000), 60_000)).toEqual([]);
      const after = [rec("i1", "overdue", "r3", { claimed_at: later(61_000).toISOString() }), rec("i2", "overdue", "r3")];
      expect(await b.claim(after, later(61_000), 60_000)).toEqual([noticeKey("hook", "i1", "overdue", 0)]);
      await b.complete([noticeKey("hook", "i1", "overdue", 0)], "r3", later(62_000));
      expect((await a.firing("hook")).map((r) => r.fingerprint)).toEqual(["i1", "i2"]);
    });

    test("prune removes what decide picks unless it changed since it was read; a dry run removes nothing", async () => {
      const [a, b] = await factory.open();
      const [k1, k2] = [noticeKey("hook", "p1", "warn", 0), noticeKey("hook", "p2", "warn", 0)];
      await a.claim([rec("p1", "warn", "r1"), rec("p2", "warn", "r1")], NOW, 60_000);
      await a.complete([k1], "r1", NOW);
      expect(await b.prune(async (all) => all, true)).toBe(2);
      expect(await b.claim([rec("p1", "warn", "r2")], NOW, 60_000)).toEqual([]);
      // p2 is completed by the other instance between the read and the delete: it stays
      const removed = await b.prune(async (all) => {
        await a.complete([k2], "r1", later(1000));
        return all;
      });
      expect(removed).toBe(1);
      expect((await a.firing("hook")).map((r) => r.key)).toEqual([k2]);
      expect(await a.claim([rec("p1", "warn", "r3")], later(2000), 60_000)).toEqual([k1]);
    });
  });
}
