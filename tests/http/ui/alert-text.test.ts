/**
 * Alert text is data, never markup: an Alertmanager notification whose labels and annotations hold HTML
 * (alertname, service, team, summary, runbook_url) files an item whose title, service, owner and
 * description the /ui pages and the /dashboard page show escaped. JSX escapes text and attributes and
 * the pages carry no script or image of their own, so any <script, <img or <svg in a page is injected.
 */
import { expect, test } from "bun:test";
import { silentLogger } from "../../../lib/core/log.ts";
import { createToolContext, dispatch, loadToolRegistry } from "../../../lib/tools/index.ts";
import { alert, payload } from "../../intake/payloads.ts";
import { login, READER, uiApp } from "./ui-app.ts";

const XSS = `<img src=x onerror="alert(1)"><script>alert(2)</script>`;

test("an alert's labels and annotations appear escaped on the item, list, owner, overview and dashboard pages", async () => {
  const { app, store, policy, at } = await uiApp();
  const registry = await loadToolRegistry({ policy, only: ["alert_intake"] });
  const ctx = createToolContext({ store, agent: "alertmanager", entitlements: ["tools.alerts.write"], now: () => at.now, log: silentLogger, paths: { root: "/nonexistent", reportsDir: "/nonexistent", policyFile: "x.yml" } });
  const labels = { alertname: `Disk${XSS}`, env: "prod", service: `svc${XSS}`, team: `team"><svg onload=alert(3)>`, severity: "critical" };
  const p = { ...payload({ commonLabels: labels, alerts: [alert({ labels, summary: XSS })] }), commonAnnotations: { summary: XSS, runbook_url: "javascript:alert(4)" } };
  const r = (await dispatch(registry, { tool: "alert_intake", action: "ingest", params: p }, ctx)) as { outcome: string; item_id: string };
  expect(r.outcome).toBe("created");

  const { session } = await login(app);
  const owner = encodeURIComponent(labels.team);
  const pages: [string, Record<string, string>][] = [
    [`/ui/items/${r.item_id}`, { cookie: session! }],
    ["/ui/items?env=prod", { cookie: session! }],
    [`/ui/owners/${owner}?env=prod`, { cookie: session! }],
    ["/ui?env=prod", { cookie: session! }],
    ["/dashboard?env=prod", { authorization: `Bearer ${READER}` }],
  ];
  for (const [path, headers] of pages) {
    const res = await app.request(path, { headers });
    const html = await res.text();
    expect({ path, status: res.status }).toEqual({ path, status: 200 });
    expect({ path, injected: html.match(/<(script|img|svg)\b|href="javascript:/gi) }).toEqual({ path, injected: null });
    expect(html).toContain("&lt;img src=x onerror=");
  }
});
