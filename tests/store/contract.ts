/**
 * The ONE behavioural contract every BacklogStore backend must meet. Each backend's test file calls
 * `storeContract(label, factory)`; the assertions are identical for memory, JSONL and Postgres.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { AppError } from "../../lib/core/errors.ts";
import type { BacklogStore, UpsertInput } from "../../lib/store/types.ts";
import { upsertManyContract } from "./contract-upsert-many.ts";

export interface StoreFactory {
  /** A fresh, empty store whose notion of "now" is `clock()`. */
  open(clock: () => Date): Promise<BacklogStore>;
  /** Called after each test (drop the database, remove the dir). */
  dispose?(store: BacklogStore): Promise<void>;
  /**
   * `auto` with Postgres down: an id the fallback does not know cannot be known now, so it is a
   * `degraded` error (503) instead of null / not_found, and health reports degraded.
   */
  degraded?: boolean;
  /** Runs of the upsertMany property test (default 12): fewer where every few calls restart Postgres. */
  propertyRuns?: number;
}

export const item = (over: Partial<UpsertInput> = {}): UpsertInput => ({
  env: "prod",
  service: "gateway",
  category: "security",
  title: "Rotate gateway TLS keys",
  description: "Keys are 400 days old.",
  priority: "P1",
  dedupe_key: "platform_backlog:2026-W47:prod:gateway:security",
  owner: "team-edge",
  due_date: "2026-12-01",
  source: "weekly_digest",
  tags: ["auto"],
  meta: { pressure_score: 71 },
  ...over,
});

export function storeContract(label: string, factory: StoreFactory) {
  describe(`BacklogStore contract: ${label}`, () => {
    let now = new Date("2026-11-23T10:00:00.000Z");
    const clock = () => now;
    const tick = (ms = 1000) => (now = new Date(now.getTime() + ms));
    let store: BacklogStore;

    beforeEach(async () => {
      now = new Date("2026-11-23T10:00:00.000Z");
      store = await factory.open(clock);
    });
    afterEach(async () => {
      await store.close();
      await factory.dispose?.(store);
    });

    test("upsert creates an item with a bl_ id, defaults and a created event", async () => {
      const r = await store.upsert(item({ tags: undefined, meta: undefined, status: undefined }), { actor: "alice" });
      expect(r.created).toBe(true);
      expect(r.changed).toBe(true);
      expect(r.item.id).toMatch(/^bl_[a-z0-9]+$/);
      expect(r.item).toMatchObject({
        env: "prod", service: "gateway", category: "security", priority: "P1", status: "open",
        owner: "team-edge", due_date: "2026-12-01", tags: [], meta: {},
        created_at: "2026-11-23T10:00:00.000Z", updated_at: "2026-11-23T10:00:00.000Z",
      });
      expect(await store.get(r.item.id)).toEqual(r.item);
      expect(await store.getByDedupeKey(r.item.dedupe_key)).toEqual(r.item);
      const evs = await store.events(r.item.id);
      expect(evs.map((e) => [e.type, e.actor])).toEqual([["created", "alice"]]);
    });

    test("optional fields default: owner and due_date null, description empty, source manual", async () => {
      const r = await store.upsert(
        { env: "dev", service: "s", category: "c", title: "t", priority: "P3", dedupe_key: "k-min" },
        { actor: "a" },
      );
      expect(r.item).toMatchObject({ owner: null, due_date: null, description: "", source: "manual", status: "open" });
    });

    test("re-upsert updates title/description/meta, keeps owner, status, priority and due_date", async () => {
      const first = await store.upsert(item(), { actor: "gen" });
      await store.setStatus(first.item.id, "in_progress", { actor: "bob" });
      tick();
      const r = await store.upsert(
        item({ title: "Rotate gateway TLS keys now", description: "Keys are 407 days old.", meta: { week: "2026-W48" },
               owner: undefined, priority: "P0", due_date: "2030-01-01", status: "open" }),
        { actor: "gen" },
      );
      expect(r.created).toBe(false);
      expect(r.changed).toBe(true);
      expect(r.item.id).toBe(first.item.id);
      expect(r.item).toMatchObject({
        title: "Rotate gateway TLS keys now", description: "Keys are 407 days old.",
        meta: { pressure_score: 71, week: "2026-W48" }, // merged, earlier keys survive
        owner: "team-edge", status: "in_progress", priority: "P1", due_date: "2026-12-01",
        created_at: "2026-11-23T10:00:00.000Z", updated_at: "2026-11-23T10:00:01.000Z",
      });
      expect(await store.get(first.item.id)).toEqual(r.item);
      const types = (await store.events(first.item.id)).map((e) => e.type);
      expect(types).toEqual(["created", "status_changed", "updated"]);
    });

    test("an identical re-upsert writes nothing: no event, updated_at unchanged", async () => {
      const first = await store.upsert(item(), { actor: "gen" });
      tick();
      const again = await store.upsert(item(), { actor: "gen" });
      expect(again).toEqual({ item: first.item, created: false, changed: false });
      expect((await store.events(first.item.id)).length).toBe(1);
    });

    test("an explicit owner changes the owner and records from whom to whom", async () => {
      const first = await store.upsert(item(), { actor: "gen" });
      const r = await store.upsert(item({ owner: "team-core" }), { actor: "carol" });
      expect(r.item.owner).toBe("team-core");
      const ev = (await store.events(first.item.id)).find((e) => e.type === "owner_changed")!;
      expect(ev.actor).toBe("carol");
      expect(ev.message).toBe("owner changed from team-edge to team-core");
      expect(ev.meta).toEqual({ from: "team-edge", to: "team-core" });
    });

    test("unknown ids and keys are null; writes to them are not_found", async () => {
      expect(await store.getByDedupeKey("nope")).toBeNull();
      if (factory.degraded) {
        const calls = [() => store.get("bl_nope"), () => store.events("bl_nope"), () => store.setStatus("bl_nope", "done", { actor: "a" }), () => store.addComment("bl_nope", "hi", { actor: "a" })];
        for (const call of calls) await expect(call()).rejects.toMatchObject({ code: "degraded", status: 503 });
        return;
      }
      expect(await store.get("bl_nope")).toBeNull();
      expect(await store.events("bl_nope")).toEqual([]);
      await expect(store.setStatus("bl_nope", "done", { actor: "a" })).rejects.toMatchObject({ code: "not_found" });
      await expect(store.addComment("bl_nope", "hi", { actor: "a" })).rejects.toMatchObject({ code: "not_found" });
    });

    test("invalid input is an invalid_input error naming the field, and nothing is written", async () => {
      const bad = { ...item(), priority: "P9" } as unknown as UpsertInput;
      const err = await store.upsert(bad, { actor: "a" }).catch((e) => e);
      expect(err).toBeInstanceOf(AppError);
      expect(err.code).toBe("invalid_input");
      expect(err.message).toContain('priority: expected one of P0|P1|P2|P3, got "P9"');
      const badEnv = await store.upsert(item({ env: "../../etc" }), { actor: "a" }).catch((e) => e);
      expect(badEnv.message).toContain("env: must be a lowercase name");
      expect((await store.list()).total).toBe(0);
      await expect(store.setStatus("bl_x", "wontfix" as never, { actor: "a" })).rejects.toMatchObject({ code: "invalid_input" });
    });

    test("setStatus records status_changed with actor and message; same status is a no-op", async () => {
      const { item: it } = await store.upsert(item(), { actor: "gen" });
      tick();
      const done = await store.setStatus(it.id, "done", { actor: "dave", message: "rotated" });
      expect(done.status).toBe("done");
      expect(done.updated_at).toBe("2026-11-23T10:00:01.000Z");
      tick();
      const same = await store.setStatus(it.id, "done", { actor: "dave" });
      expect(same.updated_at).toBe("2026-11-23T10:00:01.000Z");
      const evs = await store.events(it.id);
      expect(evs.map((e) => [e.type, e.actor, e.message])).toEqual([
        ["created", "gen", "created: Rotate gateway TLS keys"],
        ["status_changed", "dave", "rotated"],
      ]);
      expect(evs[1]!.meta).toEqual({ from: "open", to: "done" });
    });

    test("addComment appends a commented event; empty comments are refused", async () => {
      const { item: it } = await store.upsert(item(), { actor: "gen" });
      tick();
      const ev = await store.addComment(it.id, "  waiting on vendor  ", { actor: "erin" });
      expect(ev).toMatchObject({ item_id: it.id, type: "commented", actor: "erin", message: "waiting on vendor", ts: "2026-11-23T10:00:01.000Z" });
      await expect(store.addComment(it.id, "   ", { actor: "erin" })).rejects.toMatchObject({ code: "invalid_input" });
      expect((await store.events(it.id)).map((e) => e.type)).toEqual(["created", "commented"]);
    });

    test("list filters by every field, paginates, and orders newest first", async () => {
      const mk = async (key: string, over: Partial<UpsertInput>) => {
        tick();
        return (await store.upsert(item({ dedupe_key: key, ...over }), { actor: "gen" })).item;
      };
      const a = await mk("a", { service: "gateway", owner: "x", priority: "P0", due_date: "2026-11-01" });
      const b = await mk("b", { service: "billing", owner: "y", category: "tech_debt", due_date: "2026-12-30" });
      const c = await mk("c", { env: "staging", service: "gateway", owner: "x", priority: "P2", due_date: null });
      const d = await mk("d", { service: "search", owner: "z", due_date: "2026-10-01" });
      await store.setStatus(d.id, "done", { actor: "a" }); // done: never overdue
      const ids = async (f: Parameters<BacklogStore["list"]>[0]) => (await store.list(f)).items.map((i) => i.id);

      expect(await ids({})).toEqual([d.id, c.id, b.id, a.id]);
      expect(await ids({ env: "staging" })).toEqual([c.id]);
      expect(await ids({ service: "gateway" })).toEqual([c.id, a.id]);
      expect(await ids({ owner: "x", env: "prod" })).toEqual([a.id]);
      expect(await ids({ category: "tech_debt" })).toEqual([b.id]);
      expect(await ids({ priority: "P0" })).toEqual([a.id]);
      expect(await ids({ priority: ["P0", "P2"] })).toEqual([c.id, a.id]);
      expect(await ids({ status: "done" })).toEqual([d.id]);
      expect(await ids({ status: ["open", "done"] })).toEqual([d.id, c.id, b.id, a.id]);
      expect(await ids({ overdue: true })).toEqual([a.id]);
      expect(await ids({ overdue: false })).toEqual([d.id, c.id, b.id]);
      const page = await store.list({ limit: 2, offset: 1 });
      expect(page.total).toBe(4);
      expect(page.items.map((i) => i.id)).toEqual([c.id, b.id]);
      await expect(store.list({ limit: 0 })).rejects.toMatchObject({ code: "invalid_input" });
    });

    test("list: text search, due soon and the three sort orders, paginated the same way", async () => {
      const mk = async (key: string, over: Partial<UpsertInput>) => {
        tick();
        return (await store.upsert(item({ dedupe_key: key, ...over }), { actor: "gen" })).item;
      };
      // today is 2026-11-23
      const a = await mk("a", { service: "gateway", title: "Patch TLS 100% now", priority: "P2", due_date: "2026-11-23" });
      const b = await mk("b", { service: "Billing", title: "Rotate keys", priority: "P0", due_date: "2026-11-30" });
      const c = await mk("c", { service: "search", title: "Shard index", priority: "P1", due_date: "2026-12-01" });
      const d = await mk("d", { service: "search", title: "Old tls thing", priority: "P0", due_date: "2026-11-01" });
      const e = await mk("e", { service: "queue", title: "No date: Élan", priority: "P3", due_date: null });
      const f = await mk("f", { service: "gateway", title: "Done tls", priority: "P1", due_date: "2026-11-24" });
      await store.setStatus(f.id, "done", { actor: "a" });
      const ids = async (flt: Parameters<BacklogStore["list"]>[0]) => (await store.list(flt)).items.map((i) => i.id);

      expect(await ids({ q: "TLS" })).toEqual([f.id, d.id, a.id]);
      expect(await ids({ q: "billing" })).toEqual([b.id]);
      expect(await ids({ q: "100%" })).toEqual([a.id]);
      expect(await ids({ q: "tls%" })).toEqual([]);
      // letters beyond ASCII fold alike on every backend (Postgres: migration 000013, even on a C-locale database)
      expect(await ids({ q: "élan" })).toEqual([e.id]);
      expect(await ids({ q: "ÉLAN" })).toEqual([e.id]);
      expect(await ids({ q: a.id.slice(0, 20).toUpperCase() })).toContain(a.id);
      // an id matches from its start only: its random tail must not make a word like "tls" find it
      expect(await ids({ q: a.id.slice(12) })).toEqual([]);
      // due today .. today+7, unfinished, not overdue
      expect(await ids({ due_within_days: 7 })).toEqual([b.id, a.id]);
      expect(await ids({ due_within_days: 0 })).toEqual([a.id]);
      expect(await ids({ sort: "due" })).toEqual([d.id, a.id, f.id, b.id, c.id, e.id]);
      expect(await ids({ sort: "priority" })).toEqual([d.id, b.id, f.id, c.id, a.id, e.id]);
      expect(await ids({ sort: "priority", limit: 2, offset: 2 })).toEqual([f.id, c.id]);
      expect((await store.list({ sort: "due", limit: 1, offset: 5 })).total).toBe(6);
      await expect(store.list({ sort: "bogus" as never })).rejects.toMatchObject({ code: "invalid_input" });
    });

    test("dashboard has the runbook's exact shape, zeros included, on an empty store", async () => {
      expect(await store.dashboard({ env: "prod" })).toEqual({
        total: 0,
        status_counts: { open: 0, in_progress: 0, blocked: 0, done: 0, canceled: 0 },
        priority_counts: { P0: 0, P1: 0, P2: 0, P3: 0 },
        overdue_count: 0,
        overdue: [],
        top_services: [],
      });
    });

    test("dashboard counts, overdue order and top services of open work", async () => {
      const mk = async (key: string, over: Partial<UpsertInput>, status?: "in_progress" | "blocked" | "done" | "canceled") => {
        const { item: it } = await store.upsert(item({ dedupe_key: key, ...over }), { actor: "gen" });
        if (status) await store.setStatus(it.id, status, { actor: "gen" });
        return it;
      };
      const p0 = await mk("1", { service: "gateway", priority: "P0", due_date: "2026-11-20" });
      const old = await mk("2", { service: "billing", priority: "P2", due_date: "2026-11-01" }, "blocked");
      await mk("3", { service: "gateway", priority: "P1", due_date: "2026-11-22" }, "in_progress");
      await mk("4", { service: "search", priority: "P1", due_date: "2026-11-23" }); // due today: not overdue
      await mk("5", { service: "search", priority: "P3", due_date: "2026-01-01" }, "done"); // closed: not overdue
      await mk("6", { service: "billing", priority: "P3", due_date: null }, "canceled");
      await mk("7", { env: "staging", service: "gateway", priority: "P0", due_date: "2026-01-01" });

      const d = await store.dashboard({ env: "prod" });
      expect(d.total).toBe(6);
      expect(d.status_counts).toEqual({ open: 2, in_progress: 1, blocked: 1, done: 1, canceled: 1 });
      expect(d.priority_counts).toEqual({ P0: 1, P1: 2, P2: 1, P3: 2 });
      expect(d.overdue_count).toBe(3);
      expect(d.overdue.map((o) => [o.id, o.days_overdue])).toEqual([
        [old.id, 22],
        [p0.id, 3],
        [expect.any(String), 1],
      ]);
      expect(d.overdue[1]).toMatchObject({ service: "gateway", priority: "P0", due_date: "2026-11-20", status: "open", owner: "team-edge" });
      expect(d.top_services).toEqual([
        { service: "gateway", count: 2 },
        { service: "billing", count: 1 },
        { service: "search", count: 1 },
      ]);
      const all = await store.dashboard({});
      expect(all.total).toBe(7);
      expect(all.overdue_count).toBe(4);
      expect(all.overdue[0]!.env).toBe("staging");
    });

    test("cleanup removes only done/canceled items older than the retention, with their events", async () => {
      const mk = async (key: string, status?: "done" | "canceled" | "blocked") => {
        const { item: it } = await store.upsert(item({ dedupe_key: key }), { actor: "gen" });
        if (status) await store.setStatus(it.id, status, { actor: "gen" });
        return it;
      };
      const oldDone = await mk("old-done", "done");
      const oldCanceled = await mk("old-canceled", "canceled");
      const oldOpen = await mk("old-open");
      const oldBlocked = await mk("old-blocked", "blocked");
      tick(100 * 86_400_000); // 100 days later
      const recentDone = await mk("recent-done", "done");
      tick(90 * 86_400_000); // old ones are now 190 days old, recent 90

      expect(await store.cleanup(180, clock(), { dryRun: true })).toBe(2);
      expect((await store.list()).total).toBe(5); // dry run removed nothing
      expect(await store.cleanup(180)).toBe(2);
      if (factory.degraded) {
        await expect(store.get(oldDone.id)).rejects.toMatchObject({ code: "degraded" });
        await expect(store.events(oldDone.id)).rejects.toMatchObject({ code: "degraded" });
      } else {
        expect(await store.get(oldDone.id)).toBeNull();
        expect(await store.get(oldCanceled.id)).toBeNull();
        expect(await store.events(oldDone.id)).toEqual([]);
      }
      expect(await store.getByDedupeKey("old-done")).toBeNull();
      for (const kept of [oldOpen, oldBlocked, recentDone]) expect(await store.get(kept.id)).not.toBeNull();
      expect(await store.cleanup(180)).toBe(0);
      expect(await store.cleanup(30)).toBe(1); // recent-done is 90 days old
      await expect(store.cleanup(0)).rejects.toMatchObject({ code: "invalid_input" });
      // a removed key can be generated again as a new item
      const again = await store.upsert(item({ dedupe_key: "old-done" }), { actor: "gen" });
      expect(again.created).toBe(true);
    });

    test("transition sets fields, merges meta and writes one typed event atomically; guards and bad input", async () => {
      const { item: it } = await store.upsert(item({ meta: { pressure_score: 71, keep: true } }), { actor: "gen" });
      tick();
      const after = await store.transition(
        it.id,
        { type: "escalated", message: "escalated from P1 to P0", set: { priority: "P0", due_date: "2026-12-05", status: "blocked", meta: { escalations: 1 } }, meta: { step: 1 } },
        { actor: "scheduler" },
      );
      expect(after).toMatchObject({ priority: "P0", due_date: "2026-12-05", status: "blocked", meta: { pressure_score: 71, keep: true, escalations: 1 }, updated_at: "2026-11-23T10:00:01.000Z" });
      expect(await store.get(it.id)).toEqual(after);
      const evs = await store.events(it.id);
      expect(evs.map((e) => e.type)).toEqual(["created", "escalated"]);
      expect(evs[1]).toMatchObject({
        actor: "scheduler",
        message: "escalated from P1 to P0",
        meta: { step: 1, fields: ["status", "priority", "due_date", "meta"], changes: { priority: { from: "P1", to: "P0" }, status: { from: "open", to: "blocked" }, due_date: { from: "2026-12-01", to: "2026-12-05" } } },
      });
      // A step planned against an older version is refused and writes nothing.
      const stale = await store.transition(it.id, { type: "auto_resolved", message: "x", set: { status: "done" }, expect_updated_at: it.updated_at }, { actor: "s" }).catch((e) => e);
      expect(stale).toBeInstanceOf(AppError);
      expect(stale.code).toBe("conflict");
      expect((await store.get(it.id))!.status).toBe("blocked");
      // An unknown id: not_found; on a degraded auto store it may exist only in Postgres, so degraded.
      await expect(store.transition("bl_nope", { type: "snoozed", message: "x" }, { actor: "s" })).rejects.toMatchObject({ code: factory.degraded ? "degraded" : "not_found" });
      const bad = await store.transition(it.id, { type: "created" as never, message: "", set: { priority: "P9" as never } }, { actor: "s" }).catch((e) => e);
      expect(bad.code).toBe("invalid_input");
      expect(bad.details.join("\n")).toContain("type");
      expect(bad.details.join("\n")).toContain("set.priority");
      expect((await store.events(it.id)).length).toBe(2);
    });

    test("a snoozed item is out of overdue counts, the overdue list and the overdue filter until its date", async () => {
      const mk = async (key: string, due: string) => (await store.upsert(item({ dedupe_key: key, due_date: due }), { actor: "gen" })).item;
      const a = await mk("a", "2026-11-01");
      const b = await mk("b", "2026-11-02");
      await store.transition(a.id, { type: "snoozed", message: "snoozed until 2026-11-30: vendor fix", set: { meta: { snoozed_until: "2026-11-30" } } }, { actor: "alice" });
      const d = await store.dashboard({ env: "prod" });
      expect(d.overdue_count).toBe(1);
      expect(d.overdue.map((o) => o.id)).toEqual([b.id]);
      expect((await store.list({ overdue: true })).items.map((i) => i.id)).toEqual([b.id]);
      expect((await store.list({ overdue: false })).items.map((i) => i.id)).toEqual([a.id]);
      // …and out of the due-soon filter.
      const c = await mk("c", "2026-11-24");
      expect((await store.list({ due_within_days: 3 })).items.map((i) => i.id)).toEqual([c.id]);
      await store.transition(c.id, { type: "snoozed", message: "snoozed until 2026-11-26: later", set: { meta: { snoozed_until: "2026-11-26" } } }, { actor: "alice" });
      expect((await store.list({ due_within_days: 3 })).total).toBe(0);
      // On the date itself the snooze is over.
      const later = new Date("2026-11-30T08:00:00.000Z");
      expect((await store.dashboard({ env: "prod" }, later)).overdue_count).toBe(3);
      expect((await store.list({ overdue: true }, later)).total).toBe(3);
      // Expiry clears it for good (the daily job's snooze_expired).
      await store.transition(a.id, { type: "snooze_expired", message: "snooze ended", set: { meta: { snoozed_until: null } } }, { actor: "scheduler" });
      expect((await store.dashboard({ env: "prod" })).overdue_count).toBe(2);
      expect((await store.list({ overdue: true })).total).toBe(2);
    });

    upsertManyContract(() => store, tick, factory.propertyRuns ?? 12);

    test("health names the backend", async () => {
      const h = await store.health();
      expect(h.backend).toBe(store.name);
      expect(h.degraded).toBe(Boolean(factory.degraded));
    });
  });
}
