import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rejectionOf } from "../helpers/app-error.ts";
import { silentLogger } from "../../lib/core/log.ts";
import { parsePolicyText, type Policy } from "../../lib/generation/policy.ts";
import { MemoryBacklogStore } from "../../lib/store/memory.ts";
import { createToolContext, loadToolRegistry, dispatch } from "../../lib/tools/index.ts";

const FIXTURE = new URL("../fixtures/platform-2026-W47.json", import.meta.url).pathname;
const RISK = new URL("../fixtures/risk-2026-11-23.json", import.meta.url).pathname;
const POLICY = parsePolicyText("ownership:\n  overrides:\n    gateway: team-edge\n", "policy.yml");

let reports: string;
let now: Date;
let store: MemoryBacklogStore;

beforeEach(() => {
  reports = mkdtempSync(join(tmpdir(), "bb-tools-"));
  mkdirSync(join(reports, "platform"));
  copyFileSync(FIXTURE, join(reports, "platform/2026-W47.json"));
  now = new Date("2026-11-16T06:20:00Z");
  store = new MemoryBacklogStore({ clock: () => now });
});
afterEach(() => rmSync(reports, { recursive: true, force: true }));

async function call(action: string, params: Record<string, unknown> = {}, o: { agent?: string; entitlements?: string[]; policy?: Policy } = {}) {
  const ctx = createToolContext({
    store, agent: o.agent ?? "scheduler", entitlements: o.entitlements ?? ["tools.backlog.admin"], now: () => now, log: silentLogger,
    paths: { root: reports, reportsDir: reports, policyFile: "policy.yml" },
  });
  return dispatch(await loadToolRegistry({ policy: o.policy ?? POLICY }), { tool: "backlog_tool", action, params }, ctx) as Promise<any>;
}
const snapshot = async () => {
  const { items } = await store.list({ limit: 1000 });
  return { items, events: await Promise.all(items.map((i) => store.events(i.id))) };
};

describe("backlog_tool access and params", () => {
  test("entitlements: read < write < admin", async () => {
    const reader = { agent: "bot", entitlements: ["tools.backlog.read"] };
    expect((await call("list", {}, reader)).total).toBe(0);
    expect((await call("dashboard", { env: "prod" }, reader)).total).toBe(0);
    const denied = await rejectionOf(call("upsert", { env: "prod", service: "a", category: "security", title: "t", dedupe_key: "k" }, reader));
    expect(denied.code).toBe("forbidden");
    expect(denied.message).toBe("Agent bot lacks the entitlement tools.backlog.write needed for backlog_tool.upsert.");
    const writer = { agent: "w", entitlements: ["tools.backlog.write"] };
    expect((await rejectionOf(call("auto_generate_weekly", {}, writer))).message).toContain("tools.backlog.admin");
    expect((await rejectionOf(call("cleanup", {}, writer))).code).toBe("forbidden");
  });

  test("env must be one of the policy's envs; unknown params are refused; every bad field is listed", async () => {
    const err = await rejectionOf(call("auto_generate_weekly", { env: "qa", week: "2026-47", force: true }));
    expect(err.code).toBe("invalid_input");
    expect(err.details).toEqual([
      'env: expected one of prod|staging|dev, got "qa"',
      'week: must be an ISO week like 2026-W47 (W53 only in 53-week years), got "2026-47"',
      'force: unknown parameter "force" (allowed: env, week, dry_run)',
    ]);
    const custom = parsePolicyText("envs: [prod, qa]\n", "p.yml");
    expect((await rejectionOf(call("list", { env: "staging" }, { policy: custom }))).details).toEqual(['env: expected one of prod|qa, got "staging"']);
    expect((await call("list", { env: "qa" }, { policy: custom })).total).toBe(0);
    expect((await rejectionOf(call("dashboard", { dry_run: true }))).details).toEqual(['dry_run: unknown parameter "dry_run" (allowed: env)']);
  });
});

describe("auto_generate_weekly on a store", () => {
  test("creates the fixture's items as the calling agent; a second run creates none and keeps a changed owner", async () => {
    const first = await call("auto_generate_weekly", { env: "prod" });
    expect(first).toMatchObject({ skipped: false, env: "prod", week: "2026-W47", created: 10, updated: 0, unchanged: 0, capped: 0, dry_run: false });
    expect(first.digest).toBe(join(reports, "platform/2026-W47.json"));
    expect(first.items[0]).toMatchObject({ dedupe_key: "platform_backlog:2026-W47:prod:gateway:security", created: true, owner: "team-edge", priority: "P0", due_date: "2026-11-23" });
    const id = first.items[0].id;
    expect((await store.events(id))[0]).toMatchObject({ type: "created", actor: "scheduler" });

    // People take over an item, then the scheduler runs again with a policy that would pick another owner.
    await store.upsert({ ...(await store.get(id))!, owner: "alice" }, { actor: "alice" });
    await store.setStatus(id, "in_progress", { actor: "alice" });
    now = new Date("2026-11-17T06:20:00Z");
    const other = parsePolicyText("ownership:\n  overrides:\n    gateway: team-new\n", "p.yml");
    const second = await call("auto_generate_weekly", { env: "prod" }, { policy: other });
    expect(second).toMatchObject({ created: 0, updated: 0, unchanged: 10 });
    expect(await store.get(id)).toMatchObject({ owner: "alice", status: "in_progress", due_date: "2026-11-23", priority: "P0" });
    expect((await store.list({ limit: 1000 })).total).toBe(10);
  });

  test("dry run writes nothing and shows what would happen, including kept owners", async () => {
    const dry = await call("auto_generate_weekly", { dry_run: true });
    expect(dry).toMatchObject({ created: 10, dry_run: true });
    expect(dry.items.every((i: { id: unknown }) => i.id === null)).toBe(true);
    expect((await store.list()).total).toBe(0);
    await call("auto_generate_weekly", {});
    const id = (await store.getByDedupeKey("platform_backlog:2026-W47:prod:auth:security"))!.id;
    await store.upsert({ ...(await store.get(id))!, owner: "bob" }, { actor: "bob" });
    const before = await snapshot();
    const again = await call("auto_generate_weekly", { dry_run: true });
    expect(again).toMatchObject({ created: 0, unchanged: 10, dry_run: true });
    expect(again.items.find((i: { id: string }) => i.id === id)).toMatchObject({ owner: "bob", action: "unchanged" });
    expect(await snapshot()).toEqual(before);
  });

  test("missing digest: the exact message, nothing written; malformed digest: file and field, nothing written", async () => {
    rmSync(join(reports, "platform/2026-W47.json"));
    const missing = await rejectionOf(call("auto_generate_weekly", { env: "prod" }));
    expect(missing.message).toBe("No platform digest found. Run architecture_pressure_tool.digest first.");
    expect(missing.status).toBe(404);
    writeFileSync(join(reports, "platform/2026-W47.json"), JSON.stringify({ week: "2026-W47", env: "prod", generated_at: "2026-11-16T06:00:00Z", services: [{ service: "a" }] }));
    const bad = await rejectionOf(call("auto_generate_weekly", { env: "prod" }));
    expect(bad.message).toContain(`${join(reports, "platform/2026-W47.json")} is not a valid platform digest`);
    expect(bad.details).toContain("services.0.pressure_score: is required");
    expect((await store.list()).total).toBe(0);
  });

  test("skipped when the policy says so, with the reason; capped runs say how many were left out", async () => {
    const off = parsePolicyText("generation:\n  weekly_from_pressure_digest: false\n", "config/backlog_policy.yml");
    expect(await call("auto_generate_weekly", {}, { policy: off })).toMatchObject({ skipped: true, reason: expect.stringContaining("weekly_from_pressure_digest is false") });
    const capped = await call("auto_generate_weekly", {}, { policy: parsePolicyText("defaults:\n  max_items_per_run: 3\n", "p.yml") });
    expect(capped).toMatchObject({ created: 3, capped: 7 });
    expect((await store.list()).total).toBe(3);
  });

  test("daily generation from the risk digest when switched on", async () => {
    mkdirSync(join(reports, "risk/prod"), { recursive: true });
    copyFileSync(RISK, join(reports, "risk/prod/2026-11-23.json"));
    expect(await call("auto_generate_daily", { env: "prod" })).toMatchObject({ skipped: true });
    const on = parsePolicyText("generation:\n  daily_from_risk_digest: true\n", "p.yml");
    const r = await call("auto_generate_daily", { env: "prod", date: "2026-11-23" }, { policy: on });
    expect(r).toMatchObject({ date: "2026-11-23", created: 3 });
    expect((await rejectionOf(call("auto_generate_daily", { date: "2026-11-22" }, { policy: on }))).message).toStartWith("No risk digest found for prod date 2026-11-22");
  });
});

describe("item actions", () => {
  const base = { env: "prod", service: "gateway", category: "security", title: "Rotate keys", dedupe_key: "manual:gateway:keys" };

  test("upsert: new items take priority, due date and owner from the policy; existing ones keep their owner", async () => {
    const r = await call("upsert", base, { agent: "ops", entitlements: ["tools.backlog.write"] });
    expect(r).toMatchObject({ created: true, changed: true, dry_run: false, item: { priority: "P0", due_date: "2026-11-23", owner: "team-edge", source: "manual" } });
    expect((await store.events(r.item.id))[0]!.actor).toBe("ops");
    await call("upsert", { ...base, description: "Keys are 400 days old." });
    // Moving the owner (runbook 7) needs no description: leaving it out keeps the item's.
    await call("upsert", { ...base, owner: "carol" });
    expect((await call("upsert", { ...base, title: "Rotate TLS keys" })).item).toMatchObject({ owner: "carol", title: "Rotate TLS keys", description: "Keys are 400 days old." });
    const unknown = await rejectionOf(call("upsert", { ...base, category: "bug", dedupe_key: "k2" }));
    expect(unknown.message).toStartWith('priority: required for category "bug"');
    expect((await call("upsert", { ...base, category: "bug", dedupe_key: "k2", priority: "P3" })).item).toMatchObject({ priority: "P3", due_date: null });
  });

  test("every writing action honours dry_run: nothing changes", async () => {
    const { item } = await call("upsert", base);
    const before = await snapshot();
    const up = await call("upsert", { ...base, title: "New title", owner: "dave", dry_run: true });
    expect(up).toMatchObject({ created: false, changed: true, dry_run: true, item: { title: "New title", owner: "dave" } });
    expect((await call("upsert", { ...base, dedupe_key: "new", dry_run: true })).item.id).toBeNull();
    expect(await call("set_status", { id: item.id, status: "done", dry_run: true })).toMatchObject({ previous_status: "open", changed: true, item: { status: "done" } });
    expect((await call("add_comment", { id: item.id, message: "looking", dry_run: true })).event).toMatchObject({ type: "commented", message: "looking" });
    expect(await call("cleanup", { retention_days: 1, dry_run: true })).toMatchObject({ removed: 0, dry_run: true });
    expect(await snapshot()).toEqual(before);
  });

  test("set_status, add_comment and get record the agent and return the events", async () => {
    const { item } = await call("upsert", base);
    const ctx = { agent: "erin", entitlements: ["tools.backlog.write"] };
    expect(await call("set_status", { id: item.id, status: "blocked", message: "waiting on vendor" }, ctx)).toMatchObject({ item: { status: "blocked" }, previous_status: "open", changed: true, dry_run: false });
    expect((await call("add_comment", { id: item.id, message: "vendor replied" }, ctx)).event).toMatchObject({ actor: "erin", message: "vendor replied" });
    const got = await call("get", { id: item.id }, { agent: "r", entitlements: ["tools.backlog.read"] });
    expect(got.item.status).toBe("blocked");
    expect(got.events.map((e: { type: string; actor: string }) => `${e.type}:${e.actor}`)).toEqual(["created:scheduler", "status_changed:erin", "commented:erin"]);
    expect((await rejectionOf(call("get", { id: "bl_nope" }))).code).toBe("not_found");
    expect((await rejectionOf(call("set_status", { id: item.id, status: "closed" }))).details).toEqual(['status: expected one of open|in_progress|blocked|done|canceled, got "closed"']);
  });

  test("cleanup removes exactly the old done/canceled items (default retention from the policy)", async () => {
    const at = (iso: string) => (now = new Date(iso));
    at("2026-01-01T00:00:00Z");
    for (const [key, status] of [["old-done", "done"], ["old-canceled", "canceled"], ["old-open", "open"], ["old-blocked", "blocked"], ["old-progress", "in_progress"]] as const) {
      const { item } = await call("upsert", { ...base, dedupe_key: key });
      if (status !== "open") await call("set_status", { id: item.id, status });
    }
    at("2026-11-01T00:00:00Z");
    const { item: recent } = await call("upsert", { ...base, dedupe_key: "recent-done" });
    await call("set_status", { id: recent.id, status: "done" });
    at("2026-11-16T06:20:00Z");
    expect(await call("cleanup", { dry_run: true })).toEqual({
      removed: 2, retention_days: 180, cutoff: "2026-05-20T06:20:00.000Z", sla: { snooze_expired: 0, escalated: 0, steps: [] }, notify_sent: { removed: 0, kept: 0 }, dry_run: true,
    });
    expect(await call("cleanup", {})).toMatchObject({ removed: 2, retention_days: 180, dry_run: false });
    const left = (await store.list({ limit: 100 })).items.map((i) => i.dedupe_key).sort();
    expect(left).toEqual(["old-blocked", "old-open", "old-progress", "recent-done"]);
    expect(await call("cleanup", { retention_days: 10 })).toMatchObject({ removed: 1 });
    expect((await rejectionOf(call("cleanup", { retention_days: 0 }))).details).toEqual(["retention_days: expected >=1, got 0"]);
  });

  test("dashboard carries the policy's alerts", async () => {
    now = new Date("2026-01-01T00:00:00Z");
    for (let i = 0; i < 6; i++) await call("upsert", { ...base, dedupe_key: `k${i}`, priority: i === 0 ? "P0" : "P2", due_date: "2026-01-10" });
    now = new Date("2026-02-01T00:00:00Z");
    const d = await call("dashboard", { env: "prod" }, { agent: "r", entitlements: ["tools.backlog.read"] });
    expect(d.overdue_count).toBe(6);
    expect(d.alerts).toEqual([
      { level: "notify", target: "oncall", reason: "6 overdue items (threshold: more than 5)" },
      { level: "page", target: "cto", reason: expect.stringMatching(/^1 overdue P0 item: bl_\w+ \(gateway, due 2026-01-10\)$/) },
    ]);
  });
});
