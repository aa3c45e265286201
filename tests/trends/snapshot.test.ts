/** trends_tool through the one dispatcher: today's counts per env, history, retention, entitlements. */
import { describe, expect, test } from "bun:test";
import { silentLogger } from "../../lib/core/log.ts";
import { loadPolicy } from "../../lib/generation/policy.ts";
import { MemoryBacklogStore } from "../../lib/store/memory.ts";
import type { BacklogItem } from "../../lib/store/types.ts";
import { createToolContext, loadToolRegistry, dispatch, resolveToolPaths } from "../../lib/tools/index.ts";
import { tallyDay } from "../../lib/trends/snapshot.ts";
import { trendsFor } from "../../lib/trends/storage.ts";
import { item } from "../store/contract.ts";

const it = (id: string, created: string, updated: string, status: BacklogItem["status"] = "open") =>
  ({ id, created_at: created, updated_at: updated, status }) as BacklogItem;

describe("tallyDay", () => {
  test("counts the day's creations and closures and stops at the first older change", () => {
    const day = "2026-11-23";
    const items = [
      it("a", "2026-11-23T09:00:00Z", "2026-11-23T10:00:00Z"),
      it("b", "2026-11-01T09:00:00Z", "2026-11-23T08:00:00Z", "done"),
      it("c", "2026-11-23T01:00:00Z", "2026-11-23T02:00:00Z", "canceled"),
      it("d", "2026-11-20T01:00:00Z", "2026-11-22T23:59:59Z", "done"),
      it("e", "2026-11-23T01:00:00Z", "2026-11-23T02:00:00Z"), // never reached: the walk stopped at d
    ];
    expect(tallyDay(items, day)).toEqual({ created: 2, closed: 2, older: true });
    expect(tallyDay(items.slice(0, 3), day)).toEqual({ created: 2, closed: 2, older: false });
  });
});

describe("trends_tool", () => {
  const setup = async () => {
    let now = new Date("2026-11-22T12:00:00Z");
    const store = new MemoryBacklogStore({ clock: () => now });
    await store.upsert(item({ dedupe_key: "old", priority: "P0", due_date: "2026-11-01" }), { actor: "t" });
    await store.upsert(item({ dedupe_key: "old2", priority: "P2" }), { actor: "t" });
    now = new Date("2026-11-23T09:00:00Z");
    const a = await store.upsert(item({ dedupe_key: "new", priority: "P1", due_date: "2026-12-30" }), { actor: "t" });
    await store.upsert(item({ dedupe_key: "new2", priority: "P1", due_date: "2026-12-30" }), { actor: "t" });
    const old2 = (await store.list({ priority: "P2" })).items[0]!;
    await store.setStatus(old2.id, "done", { actor: "t" });
    await store.upsert(item({ env: "staging", dedupe_key: "stg", priority: "P0" }), { actor: "t" });
    const registry = await loadToolRegistry({ policy: loadPolicy() });
    const ctx = (entitlements: string[]) => createToolContext({ store, paths: resolveToolPaths({}), agent: "t", entitlements, now: () => now, log: silentLogger });
    const call = (action: string, params: Record<string, unknown>, ent = ["tools.backlog.admin"]) => dispatch(registry, { tool: "trends_tool", action, params }, ctx(ent));
    return { store, call, a };
  };

  test("snapshot records each env's counts for today; a re-run replaces the row; dry run writes nothing", async () => {
    const { store, call } = await setup();
    const dry = (await call("snapshot", { env: "prod", dry_run: true })) as { rows: unknown[] };
    expect(dry.rows).toEqual([{ env: "prod", day: "2026-11-23", total: 4, open: 3, overdue: 1, p0_open: 1, p1_open: 2, created: 2, closed: 1, recorded_at: "2026-11-23T09:00:00.000Z" }]);
    expect(await trendsFor(store, silentLogger).range("prod", "2026-01-01", "2026-12-31")).toEqual([]);
    const all = (await call("snapshot", {})) as { rows: { env: string }[] };
    expect(all.rows.map((r) => r.env)).toEqual(["prod", "staging", "dev"]);
    const hist = (await call("history", { env: "prod" }, ["tools.backlog.read"])) as { from: string; to: string; rows: { day: string; open: number }[] };
    expect(hist.from).toBe("2026-09-01");
    expect(hist.to).toBe("2026-11-23");
    expect(hist.rows.map((r) => [r.day, r.open])).toEqual([["2026-11-23", 3]]);
    expect(((await call("history", { env: "staging" }, ["tools.backlog.read"])) as { rows: { p0_open: number }[] }).rows[0]!.p0_open).toBe(1);
  });

  test("readers cannot snapshot; writers cannot clean up; bad params name the field", async () => {
    const { call } = await setup();
    await expect(call("snapshot", {}, ["tools.backlog.read"])).rejects.toMatchObject({ code: "forbidden" });
    await expect(call("cleanup", {}, ["tools.backlog.write"])).rejects.toMatchObject({ code: "forbidden" });
    await expect(call("history", { env: "moon" }, ["tools.backlog.read"])).rejects.toThrow("env: must be one of prod|staging|dev");
    await expect(call("history", { weeks: 0 }, ["tools.backlog.read"])).rejects.toThrow("weeks");
  });

  test("cleanup keeps retention_days (default 400) of rows", async () => {
    const { store, call } = await setup();
    const t = trendsFor(store, silentLogger);
    const base = { total: 1, open: 1, overdue: 0, p0_open: 0, p1_open: 0, created: 0, closed: 0, recorded_at: "2025-01-01T00:00:00.000Z" };
    await t.put([{ env: "prod", day: "2025-10-18", ...base }, { env: "prod", day: "2025-10-19", ...base }]);
    expect(await call("cleanup", { dry_run: true })).toMatchObject({ removed: 1, cutoff: "2025-10-19", dry_run: true });
    expect(await call("cleanup", {})).toMatchObject({ removed: 1 });
    expect((await t.range("prod", "2025-01-01", "2026-12-31")).map((r) => r.day)).toEqual(["2025-10-19"]);
  });
});
