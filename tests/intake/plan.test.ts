/** The pure intake rules with data: payload → mapped fields (map.ts), group items → steps (plan.ts). */
import { describe, expect, test } from "bun:test";
import * as v from "valibot";
import { isSafeText } from "../../lib/domain/text.ts";
import { parsePolicyText } from "../../lib/generation/policy.ts";
import { intakeView } from "../../lib/intake/ingest.ts";
import { dedupeKeyOf, groupHash, mapGroup } from "../../lib/intake/map.ts";
import { AlertmanagerPayloadSchema, parseRfc3339 } from "../../lib/intake/payload.ts";
import { planIntake, touchedSinceOpened } from "../../lib/intake/plan.ts";
import type { BacklogEvent, BacklogItem } from "../../lib/store/types.ts";
import { thrownBy } from "../helpers/app-error.ts";
import { alert, GROUP_KEY, payload } from "./payloads.ts";

const POLICY = parsePolicyText("alert_intake:\n  auto_resolve: true\n", "intake.yml");
const VIEW = intakeView(POLICY);
const NOW = new Date("2026-11-23T10:00:00Z");
const OWNER = { owner: "team-edge", source: "label" };

function item(over: Partial<BacklogItem> & { meta?: Record<string, unknown> } = {}): BacklogItem {
  const hash = groupHash(GROUP_KEY);
  return {
    id: "bl_one", env: "prod", service: "gateway", category: "incident_followup", title: "HighErrorRate: gateway in prod", description: "", priority: "P0",
    status: "open", owner: "team-edge", due_date: "2026-11-30", source: "alertmanager", dedupe_key: dedupeKeyOf(hash, 1), tags: [],
    created_at: "2026-11-20T10:00:00.000Z", updated_at: "2026-11-20T10:00:00.000Z", ...over,
    meta: { lineage_key: `alertmanager:${hash}`, seq: 1, alert_status: "firing", ...(over.meta ?? {}) },
  };
}

const plan = (p = payload(), items: BacklogItem[] = [], o: { touched?: boolean; reopen?: number; autoResolve?: boolean } = {}) =>
  planIntake({ group: mapGroup(p, VIEW), items, touched: o.touched ?? false, owner: OWNER, policy: { reopen_within_days: o.reopen ?? 7, auto_resolve: o.autoResolve ?? true }, now: NOW });

describe("the payload schema", () => {
  test("a payload as Alertmanager sends it passes; unknown keys are dropped", () => {
    const r = v.safeParse(AlertmanagerPayloadSchema, { ...payload(), newField: 1 });
    expect(r.success).toBe(true);
  });
  test("RFC 3339 with nanoseconds and offsets, and Alertmanager's zero time", () => {
    expect(parseRfc3339("2026-11-23T09:55:00.123456789Z")?.toISOString()).toBe("2026-11-23T09:55:00.123Z");
    expect(parseRfc3339("2026-11-23T11:55:00+02:00")?.toISOString()).toBe("2026-11-23T09:55:00.000Z");
    expect(parseRfc3339("0001-01-01T00:00:00Z")).not.toBeNull();
    expect(parseRfc3339("2026-13-01T00:00:00Z")).toBeNull();
    // days a month lacks are refused, not rolled over into the next month
    for (const t of ["2026-02-31T09:55:00Z", "2026-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "1900-02-29T00:00:00Z"]) expect(parseRfc3339(t)).toBeNull();
    expect(parseRfc3339("2028-02-29T00:00:00Z")?.toISOString()).toBe("2028-02-29T00:00:00.000Z");
    expect(parseRfc3339("2000-02-29T23:30:00-01:00")?.toISOString()).toBe("2000-03-01T00:30:00.000Z");
    expect(parseRfc3339("yesterday")).toBeNull();
  });
});

describe("mapping a notification", () => {
  test("labels → env, service, owner, priority; the key is a hash; endsAt and annotations order do not matter", () => {
    const g = mapGroup(payload(), VIEW);
    expect(g).toMatchObject({ env: "prod", service: "gateway", owner_label: "team-edge", priority: "P0", category: "incident_followup", due_days: 7, title: "HighErrorRate: gateway in prod", firing: 1, resolved: 0 });
    expect(g.key_hash).toMatch(/^[0-9a-f]{24}$/);
    expect(g.lineage_key).toBe(`alertmanager:${g.key_hash}`);
    expect(JSON.stringify(dedupeKeyOf(g.key_hash, 1))).not.toContain("HighErrorRate");
    // a repeat notification (repeat_interval: endsAt moved) maps to the very same fields
    expect(mapGroup(payload(), VIEW)).toEqual(g);
    expect(g.description).toContain("5xx above 5% for 10 minutes");
    expect(g.meta).toMatchObject({ alert_status: "firing", alerts_firing: ["a1b2c3d4e5f60718"], alerts_firing_count: 1 });
  });

  test("the most urgent severity of the firing alerts wins; unmapped → the category's priority", () => {
    const mixed = payload({ alerts: [alert({ labels: { severity: "warning" } }), alert({ fingerprint: "ff", labels: { severity: "error" } })], commonLabels: { alertname: "X", env: "staging" } });
    expect(mapGroup(mixed, VIEW)).toMatchObject({ priority: "P1", env: "staging", service: "unknown", owner_label: null });
    const unknown = payload({ alerts: [alert({ labels: { severity: "weird" } })], commonLabels: { alertname: "X" } });
    expect(mapGroup(unknown, VIEW)).toMatchObject({ priority: "P1", env: "prod" }); // incident_followup's P1; the first env
  });

  test("a severity named like an Object property (constructor, __proto__, toString) maps to nothing, not to an inherited function", () => {
    for (const sev of ["constructor", "__proto__", "toString", "hasOwnProperty"]) {
      const p = payload({ alerts: [alert({ labels: { severity: sev } })], commonLabels: { alertname: "X", env: "prod", severity: sev } });
      expect(mapGroup(p, VIEW).priority).toBe("P1"); // incident_followup's priority, as for any unmapped severity
    }
  });

  test("credentials in URLs (externalURL, runbook_url, a summary) and secret-named group labels are not stored", () => {
    const p = { ...payload(), externalURL: "https://am-user:s3cr3t-am@am.example:9093", commonAnnotations: { summary: "see https://viewer:gr4fana-pw@grafana.local/d/x", runbook_url: "https://wiki.local/rb?token=t0ken-rb" }, groupLabels: { alertname: "X", api_token: "l4bel-secret" } };
    const g = mapGroup(p, VIEW);
    const stored = JSON.stringify([g.title, g.description, g.meta]);
    for (const secret of ["s3cr3t-am", "gr4fana-pw", "t0ken-rb", "l4bel-secret"]) expect(stored).not.toContain(secret);
    expect(g.description).toContain("https://am-user:***@am.example:9093");
    expect(g.description).toContain("https://wiki.local/rb?token=***");
    expect(g.key_hash).toBe(mapGroup(payload(), VIEW).key_hash); // identity: the group key as sent
  });

  test("a title, description or group key cut at its limit never splits a UTF-16 pair (the store refuses a lone surrogate)", () => {
    const emoji = "😀".repeat(600);
    const p = { ...payload({ groupKey: `{${emoji}`, commonLabels: { alertname: emoji, env: "prod" } }), commonAnnotations: { summary: `a${emoji.repeat(20)}` } };
    const g = mapGroup(p, VIEW);
    for (const text of [g.title, g.description, (g.meta.alert_group as { key: string }).key]) {
      expect(isSafeText(text)).toBe(true);
      expect(text.endsWith("…")).toBe(true);
    }
    expect(g.title.length).toBeLessThanOrEqual(500);
  });

  test("env labels match case-insensitively; alerts cut by max_alerts are counted in the description", () => {
    const g = mapGroup({ ...payload({ commonLabels: { env: "PROD", service: "gateway" } }), truncatedAlerts: 12 }, VIEW);
    expect(g.env).toBe("prod");
    expect(g.description).toContain("… and 12 more alerts left out by the receiver's max_alerts");
  });

  test("configured labels: environment and app, a default env", () => {
    const p = parsePolicyText("alert_intake:\n  env_labels: [cluster_env]\n  service_labels: [app]\n  default_env: staging\n  priorities: {sev1: P0}\n  severity_labels: [sev]\n", "x.yml");
    const g = mapGroup(payload({ commonLabels: { app: "billing", sev: "SEV1" }, alerts: [alert({ labels: { sev: "sev1" } })] }), intakeView(p));
    expect(g).toMatchObject({ env: "staging", service: "billing", priority: "P0" });
  });

  test("an env label naming no env of the policy is a 400 naming the label", () => {
    const err = thrownBy(() => mapGroup(payload({ commonLabels: { env: "qa" } }), VIEW));
    expect(err.status).toBe(400);
    expect(err.message).toContain('commonLabels.env: "qa" is not an env of the backlog policy (envs: prod, staging, dev)');
  });
});

describe("planning", () => {
  test("first firing → create item 1, open, due by the category's due_days, owner from the label", () => {
    const p = plan();
    expect(p.outcome).toBe("created");
    expect(p.steps).toHaveLength(1);
    const s = p.steps[0]!;
    if (s.step !== "upsert") throw new Error("expected an upsert");
    expect(s.input).toMatchObject({ status: "open", owner: "team-edge", due_date: "2026-11-30", priority: "P0", source: "alertmanager", meta: { seq: 1, prev_id: null, owner_source: "label" } });
    expect(s.dedupe_key).toBe(dedupeKeyOf(groupHash(GROUP_KEY), 1));
  });

  test("firing with the item open → one refresh of title, description and meta only", () => {
    const p = plan(payload(), [item({ owner: "someone-else", priority: "P2" })]);
    expect(p.outcome).toBe("updated");
    expect(p.steps).toHaveLength(1);
    const s = p.steps[0]!;
    if (s.step !== "upsert") throw new Error("expected an upsert");
    expect(s.input.owner).toBeUndefined();
    expect(s.input.tags).toBeUndefined();
    expect(s.existing_id).toBe("bl_one");
  });

  test("resolved → done with an event saying Alertmanager resolved it; a person's item gets signal_gone once", () => {
    const resolved = payload({ status: "resolved" });
    const p = plan(resolved, [item()]);
    expect(p.outcome).toBe("resolved");
    const t = p.steps[0]!;
    if (t.step !== "transition") throw new Error("expected a transition");
    expect(t.transition).toMatchObject({ type: "auto_resolved", set: { status: "done" }, expect_updated_at: "2026-11-20T10:00:00.000Z" });
    expect(t.transition.message).toBe("auto-resolved: Alertmanager resolved the alert group (1 alert)");
    expect(plan(resolved, [item()], { touched: true }).outcome).toBe("signal_gone");
    expect(plan(resolved, [item({ meta: { alert_status: "resolved" } })], { touched: true })).toMatchObject({ outcome: "unchanged", steps: [] });
    expect(plan(resolved, [item({ status: "done" })])).toMatchObject({ outcome: "ignored", steps: [] });
    expect(plan(resolved, [])).toMatchObject({ outcome: "ignored", steps: [] });
    expect(plan(resolved, [item()], { autoResolve: false })).toMatchObject({ outcome: "updated" });
  });

  test("firing again: within the window reopen (done), suppress (canceled); later a new linked item", () => {
    const closed = (status: "done" | "canceled", at: string) => item({ status, updated_at: at });
    const reopen = plan(payload(), [closed("done", "2026-11-20T10:00:00.000Z")]);
    expect(reopen.outcome).toBe("reopened");
    expect(reopen.steps.map((s) => (s.step === "transition" ? s.transition.type : s.step))).toEqual(["reopened", "upsert"]);
    expect(plan(payload(), [closed("canceled", "2026-11-20T10:00:00.000Z")])).toMatchObject({ outcome: "suppressed", steps: [] });
    // auto-resolved items count from meta.alert_resolved_at
    expect(plan(payload(), [item({ status: "done", updated_at: "2026-11-22T00:00:00.000Z", meta: { alert_resolved_at: "2026-11-01T00:00:00.000Z" } })]).outcome).toBe("created");
    for (const status of ["done", "canceled"] as const) {
      const later = plan(payload(), [closed(status, "2026-11-01T10:00:00.000Z")]);
      expect(later.outcome).toBe("created");
      expect(later.steps.map((s) => (s.step === "transition" ? s.transition.type : s.step))).toEqual(["upsert", "recurred"]);
      const s = later.steps[0]!;
      if (s.step !== "upsert") throw new Error("expected an upsert");
      expect(s.dedupe_key).toBe(dedupeKeyOf(groupHash(GROUP_KEY), 2));
      expect(s.input.meta).toMatchObject({ seq: 2, prev_id: "bl_one" });
    }
    expect(plan(payload(), [closed("done", "2026-11-23T09:00:00.000Z")], { reopen: 0 }).outcome).toBe("created");
  });

  test("a person's event since the last reopen counts as touched; one before it does not", () => {
    const ev = (type: BacklogEvent["type"], ts: string): BacklogEvent => ({ id: `ev_${ts}`, item_id: "bl_one", ts, type, actor: "x", message: "", meta: {} });
    const it = item();
    expect(touchedSinceOpened(it, [ev("created", "1"), ev("commented", "2")])).toBe(true);
    expect(touchedSinceOpened(it, [ev("created", "1"), ev("status_changed", "2"), ev("reopened", "3"), ev("updated", "4")])).toBe(false);
    expect(touchedSinceOpened(item({ status: "in_progress" }), [])).toBe(true);
  });
});
