/**
 * POST /v1/alerts/alertmanager through the real Hono app (app.request): who may post, every bad payload a
 * 4xx naming the field with nothing written, 413 over the body limit, idempotent answers and the
 * /metrics counters. The tool behind it is covered on every backend in tests/intake/ingest.test.ts.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { MemoryBacklogStore } from "../../lib/store/memory.ts";
import { alert, payload } from "../intake/payloads.ts";
import { auth, buildTestApp, KEYS } from "./harness.ts";

const store = new MemoryBacklogStore({ clock: () => new Date("2026-11-23T10:00:00Z") });
const { app, reportsDir } = buildTestApp(store, { bodyLimitBytes: 64 * 1024 });
afterAll(async () => {
  await store.close();
  (await import("node:fs")).rmSync(reportsDir, { recursive: true, force: true });
});

const PATH = "/v1/alerts/alertmanager";
const post = (body: unknown, who: Parameters<typeof auth>[0] = "alertmanager", query = "") =>
  app.request(PATH + query, { method: "POST", headers: { ...auth(who), "content-type": "application/json" }, body: typeof body === "string" ? body : JSON.stringify(body) });
const count = async () => (await store.list({ limit: 1000 })).total;

describe("who may post alerts", () => {
  test("no key or a wrong key → 401; a key without tools.alerts.write → 403 naming it, before the body is read", async () => {
    for (const who of ["none", "bad"] as const) expect((await post(payload(), who)).status).toBe(401);
    for (const who of ["reader", "writer", "admin", "scheduler"] as const) {
      for (const body of [payload(), "not json"]) {
        const res = await post(body, who);
        expect(res.status).toBe(403);
        expect(((await res.json()) as { required: string }).required).toBe("tools.alerts.write");
      }
    }
    expect(await count()).toBe(0);
  });

  test("the alertmanager key files the item; the same notification again changes nothing", async () => {
    const res = await post(payload({ groupKey: "{}:{alertname=\"A\"}" }));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { outcome: string; item_id: string };
    expect(body).toMatchObject({ outcome: "created", env: "prod", service: "gateway" });
    const again = (await (await post(payload({ groupKey: "{}:{alertname=\"A\"}" }))).json()) as { outcome: string; item_id: string };
    expect(again).toMatchObject({ outcome: "unchanged", item_id: body.item_id, events: [] });
    const item = (await store.get(body.item_id))!;
    expect(item).toMatchObject({ owner: "team-edge", priority: "P0", status: "open" });
    expect((await store.events(item.id)).map((e) => [e.type, e.actor])).toEqual([["created", "alertmanager"]]);
  });

  test("?dry_run=true says what it would do and writes nothing", async () => {
    const before = await count();
    const res = await post(payload({ groupKey: "{}:{alertname=\"Dry\"}" }), "alertmanager", "?dry_run=true");
    expect(await res.json()).toMatchObject({ outcome: "created", dry_run: true, item_id: null });
    expect(await count()).toBe(before);
  });
});

describe("bad payloads: 400 naming the field, nothing written, never a 5xx", () => {
  const base = payload({ groupKey: "{}:{alertname=\"Bad\"}" }) as unknown as Record<string, unknown>;
  const cases: [string, unknown, string][] = [
    ["not JSON", "{oops", "Body must be an Alertmanager webhook payload"],
    ["an array", "[]", "Body must be an Alertmanager webhook payload: a JSON object"],
    ["another version", { ...base, version: "3" }, 'version: expected "4"'],
    ["no groupKey", { ...base, groupKey: undefined }, "groupKey"],
    ["an empty groupKey", { ...base, groupKey: "  " }, "groupKey: must not be empty"],
    ["a bad status", { ...base, status: "pending" }, 'status: expected "firing" or "resolved"'],
    ["no alerts", { ...base, alerts: [] }, "alerts: must hold at least one alert"],
    ["a bad startsAt", { ...base, alerts: [{ ...alert(), startsAt: "yesterday" }] }, "alerts.0.startsAt: must be an RFC 3339 time"],
    ["a bad fingerprint", { ...base, alerts: [{ ...alert(), fingerprint: "../x" }] }, "alerts.0.fingerprint: must be the alert's hex fingerprint"],
    ["a bad label name", { ...base, commonLabels: { "bad-name": "x" } }, "commonLabels"],
    ["a NUL in a label", { ...base, alerts: [alert({ labels: { service: "a\u0000b" } })] }, "alerts[0].labels.service"],
    ["an unknown env", { ...base, commonLabels: { env: "qa" } }, 'commonLabels.env: "qa" is not an env of the backlog policy'],
    ["a service label too long", { ...base, commonLabels: { service: "s".repeat(300) } }, "commonLabels.service: a service is at most 200 characters"],
    ["a bad dry_run", { ...base, dry_run: "yes" }, "dry_run"],
    ["truncatedAlerts past any real count", { ...base, truncatedAlerts: 1e308 }, "truncatedAlerts: must be a whole number from 0 to 9007199254740991"],
    ["truncatedAlerts as a string", { ...base, truncatedAlerts: "3" }, "truncatedAlerts"],
  ];
  for (const [name, body, field] of cases) {
    test(name, async () => {
      const before = await count();
      const res = await post(body);
      const error = ((await res.json()) as { error: string }).error;
      expect({ status: res.status, error }).toEqual({ status: 400, error: expect.stringContaining(field) });
      expect(error).not.toMatch(/\n\s+at /); // no stack
      expect(await count()).toBe(before);
    });
  }

  test("a body over the limit → 413 with the fix", async () => {
    const big = payload({ alerts: Array.from({ length: 300 }, (_, i) => alert({ fingerprint: i.toString(16), summary: "x".repeat(300) })) });
    const res = await post(big);
    expect(res.status).toBe(413);
    expect(await res.text()).toContain("max_alerts");
  });
});

test("/metrics counts notifications by outcome and alerts by status, nothing else", async () => {
  await post(payload({ groupKey: "{}:{alertname=\"M\"}", status: "resolved", alerts: [alert({ status: "resolved" }), alert({ status: "resolved", fingerprint: "ff" })] }));
  const text = await (await app.request("/metrics", { headers: auth("reader") })).text();
  expect(text).toContain('backlog_alert_intake_notifications_total{outcome="created"} 1');
  expect(text).toContain('backlog_alert_intake_notifications_total{outcome="unchanged"} 1');
  expect(text).toContain('backlog_alert_intake_notifications_total{outcome="ignored"} 1');
  expect(text).toContain('backlog_alert_intake_alerts_total{status="resolved"} 2');
  expect(text).not.toContain(KEYS.alertmanager);
  expect(text).not.toMatch(/backlog_alert_intake_\w+\{[^}]*(env|service|group)=/);
});
