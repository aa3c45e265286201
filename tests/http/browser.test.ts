/**
 * The HTML dashboard as a person sees it: headless Chromium (Debian's, driven by playwright-core)
 * against the real server with seeded data. Asserts the visible numbers and keeps a screenshot.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { buildAccess } from "../../lib/access/config.ts";
import { silentLogger } from "../../lib/core/log.ts";
import { MemoryBacklogStore } from "../../lib/store/memory.ts";
import { startServer, type RunningServer } from "../../server.ts";
import { item } from "../store/contract.ts";
import { tempDir } from "../helpers/tmp.ts";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const KEY = "browser-reader-key";
let server: RunningServer;
let browser: Browser;
const shots = tempDir("bb-dashboard-shot-");

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}. Install it with \`apt-get update && apt-get install -y chromium\` or set CHROMIUM_PATH.`);
  }
  const now = new Date("2026-11-23T10:00:00Z");
  const store = new MemoryBacklogStore({ clock: () => now });
  const mk = (key: string, over: Parameters<typeof item>[0]) => store.upsert(item({ dedupe_key: key, ...over }), { actor: "seed" });
  await mk("a", { service: "gateway", priority: "P0", due_date: "2026-11-13", title: "Patch TLS CVE" }); // 10 days overdue
  await mk("b", { service: "gateway", priority: "P1", due_date: "2026-11-20" }); // 3 days
  await mk("c", { service: "billing", priority: "P2", due_date: "2026-12-20" });
  const d = await mk("d", { service: "search", priority: "P3", due_date: "2026-10-01" });
  await store.setStatus(d.item.id, "done", { actor: "seed" });
  await mk("e", { env: "staging", service: "gateway", priority: "P0", due_date: "2026-01-01" }); // other env: not shown
  const access = buildAccess({ agents: { reader: { key_env: "READER", entitlements: ["tools.backlog.read"] } } }, { READER: KEY });
  server = await startServer({ store, access, port: 0, log: silentLogger, clock: () => now, env: {} });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

test("dashboard page shows counts, overdue days, alerts and the backend", async () => {
  const page = await browser.newPage({ extraHTTPHeaders: { authorization: `Bearer ${KEY}` }, viewport: { width: 1280, height: 900 } });
  const res = await page.goto(`${server.url}/dashboard?env=prod`);
  expect(res?.status()).toBe(200);
  const text = async (id: string) => (await page.getByTestId(id).innerText()).trim();
  expect(await text("total")).toBe("4");
  expect(await text("overdue-count")).toBe("2");
  expect(await text("status-open")).toBe("3");
  expect(await text("status-done")).toBe("1");
  expect(await text("priority-P0")).toBe("1");
  expect(await text("services-gateway")).toBe("2");
  expect(await text("backend")).toContain("MemoryBacklogStore");
  const alerts = await text("alerts");
  expect(alerts).toContain("PAGE");
  expect(alerts).toContain("P0");
  const rows = await page.locator("[data-testid=overdue] tbody tr").allInnerTexts();
  expect(rows).toHaveLength(2);
  expect(rows[0]).toContain("10");
  expect(rows[0]).toContain("Patch TLS CVE");
  expect(rows[1]).toMatch(/^3\b/);
  // bars are drawn proportionally: the open bar is the longest status bar
  const openWidth = await page.locator('[data-testid=status] [data-key=open] .fill').evaluate((el) => (el as HTMLElement).offsetWidth);
  const doneWidth = await page.locator('[data-testid=status] [data-key=done] .fill').evaluate((el) => (el as HTMLElement).offsetWidth);
  expect(openWidth).toBeGreaterThan(doneWidth * 2);
  const shot = join(shots, "dashboard.png");
  await page.screenshot({ path: shot, fullPage: true });
  expect(statSync(shot).size).toBeGreaterThan(10_000);
  await page.close();
});

test("without a key the page is a 401 JSON error, not a half-rendered page", async () => {
  const page = await browser.newPage();
  const res = await page.goto(`${server.url}/dashboard?env=prod`);
  expect(res?.status()).toBe(401);
  expect(await res?.json()).toMatchObject({ error: expect.stringContaining("Authorization") });
  await page.close();
});
