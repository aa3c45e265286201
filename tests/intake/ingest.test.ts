/**
 * alert_intake.ingest through the tool registry on all four backends (memory, JSONL, Postgres, auto),
 * one alert group's life: fire, repeat, resolve, reopen, a person's change, a new linked item after the
 * window, won't fix, retention cleanup removing the group's old items. Every notification is sent twice
 * (Alertmanager retries): the second must write nothing.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { silentLogger } from "../../lib/core/log.ts";
import { parsePolicyText } from "../../lib/generation/policy.ts";
import type { BacklogStore } from "../../lib/store/types.ts";
import { createToolContext, dispatch, loadToolRegistry } from "../../lib/tools/index.ts";
import { BACKENDS, type Opened } from "../lifecycle/backends.ts";
import { alert, payload } from "./payloads.ts";

const POLICY = parsePolicyText("alert_intake:\n  auto_resolve: true\n  reopen_within_days: 7\n", "intake.yml");
const REGISTRY = await loadToolRegistry({ policy: POLICY, only: ["alert_intake", "backlog_tool"] });
const T0 = Date.parse("2026-11-23T10:00:00Z");
const DAY = 86_400_000;

let opened: Opened | undefined;
afterEach(async () => {
  await opened?.dispose();
  opened = undefined;
});

function harness(store: BacklogStore, clock: { now: Date }) {
  const ctx = (agent: string, entitlements: string[]) => createToolContext({ store, agent, entitlements, now: () => clock.now, log: silentLogger, paths: { root: "/nonexistent", reportsDir: "/nonexistent", policyFile: "intake.yml" } });
  const ingest = (p: unknown, dry_run?: boolean) => dispatch(REGISTRY, { tool: "alert_intake", action: "ingest", params: { ...(p as object), ...(dry_run ? { dry_run } : {}) } }, ctx("alertmanager", ["tools.alerts.write"])) as Promise<any>;
  const person = (action: string, params: Record<string, unknown>) => dispatch(REGISTRY, { tool: "backlog_tool", action, params }, ctx("alice", ["tools.backlog.write"]));
  const all = async () => (await store.list({ limit: 1000, sort: "updated" })).items.sort((a, b) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : a.id < b.id ? -1 : 1));
  const types = async (id: string) => (await store.events(id)).map((e) => e.type);
  /** Sends the notification twice (a retry): the second answer writes nothing. */
  const twice = async (p: unknown) => {
    const first = await ingest(p);
    const second = await ingest(p);
    expect(second.events).toEqual([]);
    return { first, second };
  };
  return { ingest, person, all, types, twice };
}

describe.each(Object.keys(BACKENDS))("alert_intake.ingest on %s", (backend) => {
  test("one group's life: one item, reopened, linked, never duplicated", async () => {
    const clock = { now: new Date(T0) };
    opened = await BACKENDS[backend]!(() => clock.now);
    const { store } = opened;
    const h = harness(store, clock);
    const at = (days: number) => (clock.now = new Date(T0 + days * DAY));

    // fire → one item; a retry and a repeat notification (endsAt moved) change nothing
    let r = await h.twice(payload());
    expect(r.first).toMatchObject({ outcome: "created", events: ["created"], env: "prod", service: "gateway", alerts: { firing: 1, resolved: 0 }, dry_run: false });
    expect(r.second.outcome).toBe("unchanged");
    expect((await h.ingest(payload())).outcome).toBe("unchanged");
    let items = await h.all();
    expect(items).toHaveLength(1);
    const first = items[0]!;
    expect(first).toMatchObject({ id: r.first.item_id, status: "open", owner: "team-edge", priority: "P0", due_date: "2026-11-30", source: "alertmanager", category: "incident_followup" });
    expect(first.dedupe_key).toBe(r.first.dedupe_key);
    expect(first.dedupe_key).toMatch(/^alertmanager:[0-9a-f]{24}:1$/);

    // a second alert joins the group → one `updated`
    r = await h.twice(payload({ alerts: [alert(), alert({ fingerprint: "bb00", labels: { instance: "b" } })] }));
    expect(r.first).toMatchObject({ outcome: "updated", events: ["updated"] });

    // resolved → done, with the event saying Alertmanager resolved it; again → ignored
    at(1);
    r = await h.twice(payload({ status: "resolved", alerts: [alert({ status: "resolved" }), alert({ status: "resolved", fingerprint: "bb00" })] }));
    expect(r.first).toMatchObject({ outcome: "resolved", events: ["auto_resolved"], item_id: first.id });
    expect(r.second.outcome).toBe("ignored");
    expect((await store.get(first.id))!.status).toBe("done");
    const resolvedEvent = (await store.events(first.id)).find((e) => e.type === "auto_resolved")!;
    expect(resolvedEvent.message).toBe("auto-resolved: Alertmanager resolved the alert group (2 alerts)");
    expect(resolvedEvent.actor).toBe("alertmanager");

    // fires again within 7 days → the same item reopened, due date from today
    at(2);
    r = await h.twice(payload());
    expect(r.first).toMatchObject({ outcome: "reopened", events: ["reopened", "updated"], item_id: first.id });
    expect(await store.get(first.id)).toMatchObject({ status: "open", due_date: "2026-12-02" });
    expect(await h.all()).toHaveLength(1);

    // a person comments; the resolve then leaves it open with one signal_gone
    await h.person("add_comment", { id: first.id, message: "looking into it" });
    r = await h.twice(payload({ status: "resolved", alerts: [alert({ status: "resolved" })] }));
    expect(r.first).toMatchObject({ outcome: "signal_gone", events: ["signal_gone"] });
    expect(r.second.outcome).toBe("unchanged");
    expect((await store.get(first.id))!.status).toBe("open");

    // the person closes it; 17 days later it fires: a NEW item linked to the old one
    await h.person("set_status", { id: first.id, status: "done" });
    at(20);
    r = await h.twice(payload());
    expect(r.first).toMatchObject({ outcome: "created", events: ["created", "recurred"] });
    items = await h.all();
    expect(items).toHaveLength(2);
    const second = items[1]!;
    expect(second.dedupe_key).toMatch(/:2$/);
    expect(second.meta).toMatchObject({ seq: 2, prev_id: first.id });
    expect((await store.get(first.id))!.meta.next_id).toBe(second.id);
    expect(await h.types(first.id)).toEqual(["created", "updated", "auto_resolved", "reopened", "updated", "commented", "signal_gone", "status_changed", "recurred"]);

    // won't fix: canceled, and firing within the window files nothing
    await h.person("set_status", { id: second.id, status: "canceled" });
    at(21);
    r = await h.twice(payload());
    expect(r.first).toMatchObject({ outcome: "suppressed", events: [] });
    expect(await h.all()).toHaveLength(2);

    // after the window: item 3; then retention cleanup removes items 1 and 2, item 3 stays the group's item
    at(30);
    r = await h.twice(payload());
    expect(r.first).toMatchObject({ outcome: "created" });
    const third = r.first.item_id as string;
    at(30 + 200);
    expect(await store.cleanup(180, clock.now)).toBe(2);
    r = await h.twice(payload({ alerts: [alert({ summary: "still failing" })] }));
    expect(r.first).toMatchObject({ outcome: "updated", item_id: third });
    expect((await h.all()).map((i) => i.id)).toEqual([third]);
  }, 60_000);

  test("a dry run writes nothing; two identical notifications at once make one item", async () => {
    const clock = { now: new Date(T0) };
    opened = await BACKENDS[backend]!(() => clock.now);
    const h = harness(opened.store, clock);
    const p = payload({ groupKey: "{}:{alertname=\"DiskFull\"}" });
    expect(await h.ingest(p, true)).toMatchObject({ outcome: "created", item_id: null, events: ["created"], dry_run: true });
    expect(await h.all()).toHaveLength(0);
    const answers = await Promise.all([h.ingest(p), h.ingest(p), h.ingest(p)]);
    expect(answers.map((a) => a.outcome).sort()).toEqual(["created", "unchanged", "unchanged"]);
    const items = await h.all();
    expect(items).toHaveLength(1);
    expect(await h.types(items[0]!.id)).toEqual(["created"]);
  }, 60_000);

  test("an HA pair's identical resolves, then re-fires, at once: one auto_resolved, one reopened", async () => {
    const clock = { now: new Date(T0) };
    opened = await BACKENDS[backend]!(() => clock.now);
    const h = harness(opened.store, clock);
    const fire = payload({ groupKey: `{}:{alertname="Ha"}` });
    const resolve = payload({ groupKey: `{}:{alertname="Ha"}`, status: "resolved", alerts: [alert({ status: "resolved" })] });
    const { item_id } = await h.ingest(fire);
    clock.now = new Date(T0 + DAY);
    const resolves = await Promise.all([h.ingest(resolve), h.ingest(resolve), h.ingest(resolve)]);
    expect(resolves.map((a) => a.outcome).sort()).toEqual(["ignored", "ignored", "resolved"]);
    clock.now = new Date(T0 + 2 * DAY);
    const fires = await Promise.all([h.ingest(fire), h.ingest(fire), h.ingest(fire)]);
    // The losers re-read and refresh: one of them may land the refresh before the winner does (`updated`).
    expect(fires.filter((a) => a.outcome === "reopened")).toHaveLength(1);
    for (const a of fires) expect(["reopened", "updated", "unchanged"]).toContain(a.outcome);
    expect((await h.all()).map((i) => [i.id, i.status])).toEqual([[item_id, "open"]]);
    expect(await h.types(item_id)).toEqual(["created", "auto_resolved", "reopened", "updated"]);
  }, 60_000);
});
