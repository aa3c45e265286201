/**
 * The notifier against real HTTP receivers on loopback: one message per owner per run in both formats,
 * nothing twice across runs and across two concurrent runs (two replicas) on every backend, reminders in
 * a bounded window, resolved notes, the webhook's rate, retries after a 500, a slow and a hanging
 * receiver, and webhook URLs (secrets) nowhere in results, errors or logs.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolvePgConfig } from "../../lib/pg/db.ts";
import { AppError } from "../../lib/core/errors.ts";
import { createLogger, silentLogger, type Logger } from "../../lib/core/log.ts";
import { runNotify, type NotifyResult } from "../../lib/notify/dispatch.ts";
import type { WebhookPolicy } from "../../lib/notify/policy-schema.ts";
import { openNotifyState } from "../../lib/notify/state-open.ts";
import { parsePolicyText, type Policy } from "../../lib/generation/policy.ts";
import { JsonlBacklogStore } from "../../lib/store/jsonl/store.ts";
import { MemoryBacklogStore } from "../../lib/store/memory.ts";
import { PostgresBacklogStore } from "../../lib/store/postgres/store.ts";
import type { BacklogStore, UpsertInput } from "../../lib/store/types.ts";
import { dispatch } from "../../lib/tools/dispatch.ts";
import { createToolContext, loadToolRegistry, resolveToolPaths } from "../../lib/tools/index.ts";
import { freshDatabase, type TestDb } from "../helpers/pg.ts";
import { receiver, type Receiver } from "./receivers.ts";

const NOW = new Date("2026-11-23T10:00:00.000Z"); // today 2026-11-23
const HOUR = 3_600_000;
const at = (h: number) => new Date(NOW.getTime() + h * HOUR);
const receivers: Receiver[] = [];
const dirs: string[] = [];
const dbs: TestDb[] = [];
const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of closers) await c();
  for (const r of receivers) await r.close();
  for (const d of dbs) await d.drop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function hook(answer?: Parameters<typeof receiver>[0]) {
  const r = await receiver(answer);
  receivers.push(r);
  return r;
}

function policyWith(hooks: Partial<WebhookPolicy>[]): Policy {
  const yaml = `notify:\n  webhooks:\n${hooks.map((h) => `    - ${JSON.stringify({ min_interval_ms: 0, backoff_ms: 10, ...h })}`).join("\n")}\n`;
  return parsePolicyText(yaml, "test-policy.yml");
}

let n = 0;
const item = (over: Partial<UpsertInput>): UpsertInput => ({ env: "prod", service: "gateway", category: "security", title: `item ${n}`, priority: "P1", dedupe_key: `k${n++}`, owner: "team-a", due_date: null, ...over });

/** team-a: 2 overdue + 1 due soon; team-b: 1 due soon; unowned (→ oncall): 1 overdue; plus items that need nothing. */
async function seed(store: BacklogStore) {
  const ids: Record<string, string> = {};
  const put = async (name: string, over: Partial<UpsertInput>) => (ids[name] = (await store.upsert(item({ title: name, ...over }), { actor: "t" })).item.id);
  await put("a-overdue-p0", { priority: "P0", due_date: "2026-11-22" });
  await put("a-overdue-p2", { priority: "P2", due_date: "2026-11-20" });
  await put("a-soon", { due_date: "2026-11-25" });
  await put("b-soon", { owner: "team-b", due_date: "2026-11-23" });
  await put("unowned-overdue", { owner: null, due_date: "2026-11-21" });
  await put("far", { due_date: "2026-12-30" });
  const done = await put("done-overdue", { due_date: "2026-11-01" });
  await store.setStatus(done, "done", { actor: "t" });
  return ids;
}

function run(store: BacklogStore, policy: Policy, now: Date, env: Record<string, string>, log: Logger = silentLogger, state = openNotifyState(store, log)) {
  return runNotify({ store, state, policy, env, now: () => now, log });
}

const owners = (bodies: any[]) => bodies.map((b) => b.groupLabels?.owner ?? /\*Backlog for ([^:]+):/.exec(b.text)![1]).sort();

describe("one message per owner, each notice once", () => {
  test("Slack and Alertmanager formats: one message per owner grouping overdue and due soon; a second run sends nothing", async () => {
    const store = new MemoryBacklogStore({ clock: () => NOW });
    const ids = await seed(store);
    const [slack, am] = [await hook(), await hook()];
    const policy = policyWith([
      { name: "team-slack", format: "slack", url_env: "SLACK_URL" },
      { name: "pager-am", format: "alertmanager", url_env: "AM_URL" },
    ]);
    const env = { SLACK_URL: slack.url, AM_URL: am.url };
    const r1 = await run(store, policy, NOW, env);
    expect(owners(slack.delivered())).toEqual(["oncall", "team-a", "team-b"]);
    expect(owners(am.delivered())).toEqual(["oncall", "team-a", "team-b"]);
    expect(r1.webhooks.map((w) => w.messages)).toEqual([3, 3]);

    const teamA = slack.delivered().find((b) => b.text.includes("team-a"))!;
    expect(teamA.text).toStartWith("*Backlog for team-a: 2 overdue, 1 due soon*");
    expect(teamA.text).toContain("[prod] P0 gateway: a-overdue-p0 — due 2026-11-22, 1 day overdue");
    expect(teamA.text).toContain("a-soon — due 2026-11-25 (in 2 days)");
    // by id: the word "far" could be inside another item's random id, which the text shows
    expect(teamA.text).not.toContain(ids.far!);
    expect(teamA.text).not.toContain("done-overdue");

    const amA = am.delivered().find((b) => b.groupLabels.owner === "team-a")!;
    expect(amA).toMatchObject({ version: "4", status: "firing", receiver: "pager-am", groupLabels: { owner: "team-a" }, commonLabels: { owner: "team-a" }, truncatedAlerts: 0 });
    expect(amA.alerts.map((a: any) => [a.labels.alertname, a.labels.priority, a.status])).toEqual([
      ["BacklogItemOverdue", "P0", "firing"],
      ["BacklogItemOverdue", "P2", "firing"],
      ["BacklogItemDueSoon", "P1", "firing"],
    ]);
    expect(amA.alerts[0].startsAt).toBe("2026-11-23T00:00:00.000Z");
    expect(amA.alerts[0].fingerprint).toMatch(/^[0-9a-f]{16}$/);

    const r2 = await run(store, policy, at(0.5), env);
    expect(r2.webhooks.map((w) => [w.messages, w.already_sent])).toEqual([
      [0, 3],
      [0, 3],
    ]);
    expect(slack.delivered()).toHaveLength(3);
    expect(am.delivered()).toHaveLength(3);
  });

  test("reminders every remind_every_hours within remind_days of the breach, then silence; resolved after closing", async () => {
    const store = new MemoryBacklogStore({ clock: () => NOW });
    const ids = await seed(store);
    const r = await hook();
    const policy = parsePolicyText(`notify:\n  remind_days: 2\n  remind_every_hours: 24\n  webhooks:\n    - { name: h, format: alertmanager, url_env: H, min_interval_ms: 0 }\n`, "p.yml");
    const env = { H: r.url };
    await run(store, policy, NOW, env);
    expect(r.delivered()).toHaveLength(3);
    expect(JSON.stringify(r.delivered())).not.toContain("a-overdue-p2");
    // At NOW a-overdue-p2 (breached 11-21 00:00) is in slot 2: 48 h is not within the 2-day window → never told.
    // +24 h (2026-11-24 10:00): a-overdue-p0 (breached 11-23 00:00) is in slot 1 → reminder; unowned-overdue
    // (breached 11-22) is in slot 2 → outside the window → silent.
    // a-soon is still only due soon (warned already); b-soon (due 11-23) is now overdue: slot 0.
    await run(store, policy, at(24), env);
    const second = r.delivered().slice(3);
    expect(owners(second)).toEqual(["team-a", "team-b"]);
    const titles = (b: any) => b.alerts.map((a: any) => `${a.annotations.summary}:${a.status}`);
    expect(titles(second.find((b) => b.groupLabels.owner === "team-a"))).toEqual(["a-overdue-p0:firing"]);
    expect(titles(second.find((b) => b.groupLabels.owner === "team-b"))).toEqual(["b-soon:firing"]);
    // closing an item: one resolved note to its owner, once
    await store.setStatus(ids["a-overdue-p0"]!, "done", { actor: "t" });
    await run(store, policy, at(25), env);
    await run(store, policy, at(26), env);
    const third = r.delivered().slice(5);
    expect(third).toHaveLength(1);
    expect(third[0]).toMatchObject({ status: "resolved", groupLabels: { owner: "team-a" } });
    expect(third[0].alerts.map((a: any) => [a.labels.alertname, a.status, a.annotations.summary])).toEqual([["BacklogItemOverdue", "resolved", "a-overdue-p0"]]);
  });
});

describe("two replicas", () => {
  async function twoReplicas(open: () => Promise<[BacklogStore, BacklogStore]>) {
    const [s1, s2] = await open();
    await seed(s1);
    const r = await hook();
    const policy = policyWith([{ name: "h", format: "slack", url_env: "H" }]);
    const env = { H: r.url };
    const results: NotifyResult[] = await Promise.all([run(s1, policy, NOW, env), run(s2, policy, NOW, env)]);
    expect(owners(r.delivered())).toEqual(["oncall", "team-a", "team-b"]); // one message per owner in total
    const lines = r.delivered().flatMap((b) => b.text.split("\n").filter((l: string) => l.startsWith("•")));
    expect(lines).toHaveLength(5); // 3 overdue + 2 due soon, each exactly once
    expect(new Set(lines).size).toBe(lines.length);
    expect(results.reduce((s, x) => s + x.webhooks[0]!.messages, 0)).toBe(3);
    // and again from both: nothing
    await Promise.all([run(s1, policy, at(1), env), run(s2, policy, at(1), env)]);
    expect(r.delivered()).toHaveLength(3);
  }

  test("memory store (two runs in one process)", async () => {
    const s = new MemoryBacklogStore({ clock: () => NOW });
    await twoReplicas(async () => [s, s]);
  });

  test("JSONL: two store instances on one directory", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bb-notify-"));
    dirs.push(dir);
    await twoReplicas(async () => {
      const a = new JsonlBacklogStore({ dir, clock: () => NOW, log: silentLogger });
      const b = new JsonlBacklogStore({ dir, clock: () => NOW, log: silentLogger });
      closers.push(() => a.close(), () => b.close());
      return [a, b];
    });
  });

  test("Postgres: two store instances (pools) on one database", async () => {
    const db = await freshDatabase({ migrated: true });
    dbs.push(db);
    await twoReplicas(async () => {
      const mk = () => new PostgresBacklogStore({ config: resolvePgConfig({ dsn: db.dsn }, {})!, clock: () => NOW, log: silentLogger });
      const [a, b] = [mk(), mk()];
      closers.push(() => a.close(), () => b.close());
      return [a, b];
    });
  });
});

describe("delivery", () => {
  test("at most one message per min_interval_ms to a webhook", async () => {
    const store = new MemoryBacklogStore({ clock: () => NOW });
    await seed(store);
    const r = await hook();
    // The real fetch, with the moment each request starts noted (arrival times at a loaded receiver jitter).
    const starts: number[] = [];
    const timed: typeof fetch = Object.assign((input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => {
      starts.push(performance.now());
      return fetch(input, init);
    }, { preconnect: fetch.preconnect });
    const policy = policyWith([{ name: "h", format: "slack", url_env: "H", min_interval_ms: 250 }]);
    await runNotify({ store, state: openNotifyState(store, silentLogger), policy, env: { H: r.url }, now: () => NOW, log: silentLogger, fetch: timed });
    expect(r.got).toHaveLength(3);
    expect(starts).toHaveLength(3);
    for (let i = 1; i < starts.length; i++) expect(starts[i]! - starts[i - 1]!).toBeGreaterThanOrEqual(245);
  });

  test("a 500 is retried with backoff and the message delivered once; a 429's Retry-After is honoured", async () => {
    const store = new MemoryBacklogStore({ clock: () => NOW });
    await seed(store);
    const flaky = await hook((k) => (k === 0 ? { status: 500 } : k === 1 ? { status: 429, retryAfter: "0" } : { status: 200 }));
    const res = await run(store, policyWith([{ name: "flaky", format: "slack", url_env: "H" }]), NOW, { H: flaky.url });
    expect(flaky.got.map((g) => g.status)).toEqual([500, 429, 200, 200, 200]);
    expect(owners(flaky.delivered())).toEqual(["oncall", "team-a", "team-b"]);
    expect(res.webhooks[0]!.owners.map((o) => o.attempts)).toEqual([3, 1, 1]);
  });

  test("a receiver answering 500 every time: the run fails naming the webhook, nothing is marked sent, the next run delivers", async () => {
    const store = new MemoryBacklogStore({ clock: () => NOW });
    await seed(store);
    let broken = true;
    const r = await hook(() => ({ status: broken ? 500 : 200 }));
    const lines: string[] = [];
    const log = createLogger({ write: (l) => lines.push(l), level: "debug" });
    const policy = policyWith([{ name: "down", format: "alertmanager", url_env: "H", retries: 2 }]);
    const err = await run(store, policy, NOW, { H: r.url }, log).catch((e) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err.message).toContain("webhook down failed after 3 attempts: HTTP 500");
    expect(r.got).toHaveLength(9); // 3 owners × 3 attempts
    broken = false;
    await run(store, policy, at(0.1), { H: r.url }, log);
    expect(owners(r.delivered())).toEqual(["oncall", "team-a", "team-b"]);
    for (const text of [err.message, JSON.stringify(err.details), ...lines]) expect(text).not.toContain("SECRET-TOKEN");
  });

  test("a slow receiver within the timeout gets each message once; a hanging one times out, is retried, then released", async () => {
    const store = new MemoryBacklogStore({ clock: () => NOW });
    await seed(store);
    const slow = await hook(() => ({ status: 200, delayMs: 400 }));
    const hang = await hook(() => ({ status: 200, hang: true }));
    const policy = policyWith([
      { name: "slow", format: "slack", url_env: "SLOW", timeout_ms: 5000 },
      { name: "hang", format: "slack", url_env: "HANG", timeout_ms: 300, retries: 1 },
    ]);
    const err = await run(store, policy, NOW, { SLOW: slow.url, HANG: hang.url }).catch((e) => e);
    expect(slow.got).toHaveLength(3);
    expect(owners(slow.delivered())).toEqual(["oncall", "team-a", "team-b"]);
    expect(err.message).toContain("webhook hang failed after 2 attempts: no answer within 300 ms");
    expect(hang.got).toHaveLength(6);
    expect(err.details.webhooks[1].failures).toHaveLength(3);
    expect(JSON.stringify(err.details)).not.toContain("SECRET-TOKEN");
  });

  test("webhook URLs come from the named variables and never appear in errors", async () => {
    const store = new MemoryBacklogStore({ clock: () => NOW });
    const policy = policyWith([{ name: "h", format: "slack", url_env: "HOOK_URL" }]);
    const missing = await run(store, policy, NOW, {}).catch((e) => e);
    expect(missing.message).toContain("the environment variable HOOK_URL is not set");
    const bad = await run(store, policy, NOW, { HOOK_URL: "not a url SECRET-TOKEN" }).catch((e) => e);
    expect(bad.message).toContain("HOOK_URL does not hold a URL");
    expect(bad.message).not.toContain("SECRET-TOKEN");
    const ftp = await run(store, policy, NOW, { HOOK_URL: "ftp://example.org/SECRET-TOKEN" }).catch((e) => e);
    expect(ftp.message).toBe("notify.webhooks h: HOOK_URL must be an http(s) URL, got a ftp: URL.");
  });
});

describe("notify_tool.dispatch", () => {
  test("through the dispatcher with the scheduler's entitlement; dry_run sends nothing; readers are refused", async () => {
    const store = new MemoryBacklogStore({ clock: () => NOW });
    await seed(store);
    const r = await hook();
    const policy = policyWith([{ name: "h", format: "slack", url_env: "H" }]);
    const registry = await loadToolRegistry({ policy, notify: { env: { H: r.url } } });
    const ctx = (entitlements: string[]) => createToolContext({ store, paths: resolveToolPaths({}), agent: "scheduler", entitlements, now: () => NOW, log: silentLogger });
    const dry = (await dispatch(registry, { tool: "notify_tool", action: "dispatch", params: { dry_run: true } }, ctx(["tools.notify.write"]))) as NotifyResult;
    expect(dry.dry_run).toBe(true);
    expect(dry.webhooks[0]!.owners.map((o) => o.owner)).toEqual(["oncall", "team-a", "team-b"]);
    expect(r.got).toHaveLength(0);
    await expect(dispatch(registry, { tool: "notify_tool", action: "dispatch" }, ctx(["tools.backlog.admin"]))).rejects.toThrow("lacks the entitlement tools.notify.write");
    const real = (await dispatch(registry, { tool: "notify_tool", action: "dispatch" }, ctx(["tools.notify.write"]))) as NotifyResult;
    expect(real.webhooks[0]!.messages).toBe(3);
    expect(r.delivered()).toHaveLength(3);
    await expect(dispatch(registry, { tool: "notify_tool", action: "dispatch", params: { webhook: "nope" } }, ctx(["tools.notify.write"]))).rejects.toThrow('no webhook named "nope"');
  });
});
