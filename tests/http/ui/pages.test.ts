/**
 * The dashboard as a person uses it, in headless Chromium against the real server: sign in with a
 * writer key, filter, follow a link to an item, change its status, see the event, change the owner,
 * use the keyboard, sign out; a reader sees no forms and a forged post is refused. axe-core finds no
 * serious or critical violation on any page; every page is screenshotted (temp dir, removed after).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { buildAccess } from "../../../lib/access/config.ts";
import { silentLogger } from "../../../lib/core/log.ts";
import { addDays } from "../../../lib/store/dates.ts";
import { MemoryBacklogStore } from "../../../lib/store/memory.ts";
import { trendsFor } from "../../../lib/trends/storage.ts";
import { startServer, type RunningServer } from "../../../server.ts";
import { item } from "../../store/contract.ts";
import { expectAccessible, launch, shoot } from "./browser-helpers.ts";

const KEYS = { writer: "ui-writer-key-0123456789", reader: "ui-reader-key-0123456789" };
const SECRET = "test-session-secret-0123456789abcdef";
const now = new Date("2026-11-23T10:00:00Z");
let server: RunningServer;
let browser: Browser;
let store: MemoryBacklogStore;
let tlsId = "";
const shots = mkdtempSync(join(tmpdir(), "bb-ui-shots-"));

beforeAll(async () => {
  store = new MemoryBacklogStore({ clock: () => now });
  const mk = async (key: string, over: Parameters<typeof item>[0]) => (await store.upsert(item({ dedupe_key: key, ...over }), { actor: "seed" })).item;
  tlsId = (await mk("tls", { service: "gateway", priority: "P0", due_date: "2026-11-13", title: "Patch TLS CVE", owner: "team-edge", meta: { pressure_score: 88, digest_week: "2026-W47", signals: { cves: 3 } } })).id;
  await mk("keys", { service: "gateway", priority: "P1", due_date: "2026-11-26", title: "Rotate gateway keys", owner: "team-edge" });
  await mk("idx", { service: "search", priority: "P2", due_date: "2026-12-20", title: "Reindex search shards", owner: "team-search", category: "tech_debt" });
  const old = await mk("old", { service: "billing", priority: "P0", due_date: "2026-10-01", title: "Old billing outage follow-up", owner: "team-pay" });
  await store.setStatus(old.id, "done", { actor: "seed" });
  for (let i = 0; i < 60; i++) await mk(`bulk-${i}`, { service: `svc-${i % 7}`, priority: (["P1", "P2", "P3"] as const)[i % 3], due_date: i % 4 ? "2027-01-15" : null, title: `Bulk item ${i}`, owner: `team-${i % 5}` });
  await mk("stg", { env: "staging", service: "gateway", priority: "P0", due_date: "2026-01-01", title: "Staging only item" });
  // 12 weeks of daily snapshots for prod, with two missing days (the job did not run)
  const rows = [];
  for (let i = 83; i >= 0; i--) {
    if (i === 40 || i === 41) continue;
    const t = 83 - i;
    rows.push({ env: "prod", day: addDays("2026-11-23", -i), total: 40 + t, open: 30 + (t % 9), overdue: 8 - Math.floor(t / 12), p0_open: t < 50 ? 3 : 1, p1_open: 6 + (t % 4), created: t % 3, closed: (t + 1) % 3, recorded_at: "2026-11-23T23:55:00.000Z" });
  }
  await trendsFor(store, silentLogger).put(rows);
  const access = buildAccess(
    { agents: { writer: { key_env: "W", entitlements: ["tools.backlog.write"] }, reader: { key_env: "R", entitlements: ["tools.backlog.read"] } } },
    { W: KEYS.writer, R: KEYS.reader },
  );
  server = await startServer({ store, access, port: 0, log: silentLogger, clock: () => now, env: { BACKLOG_SESSION_SECRET: SECRET } });
  browser = await launch();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  rmSync(shots, { recursive: true, force: true });
});

async function signIn(page: Page, key: string, path = "/ui") {
  await page.goto(`${server.url}${path}`);
  expect(new URL(page.url()).pathname).toBe("/ui/login");
  await page.getByLabel("API key").fill(key);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL((u) => u.pathname !== "/ui/login");
}

test("a writer signs in, filters, opens an item, changes its status and owner, sees the events, signs out", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();

  // sign-in page
  await page.goto(`${server.url}/ui`);
  expect(new URL(page.url()).pathname).toBe("/ui/login");
  await expectAccessible(page);
  await shoot(page, shots, "login");
  await signIn(page, KEYS.writer);
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === "bb_session")!;
  expect(session).toMatchObject({ httpOnly: true, sameSite: "Strict", secure: false, path: "/ui" });
  expect(session.value).not.toContain(KEYS.writer);
  expect(page.url()).not.toContain(KEYS.writer);
  expect(await page.content()).not.toContain(KEYS.writer);

  // overview
  expect(await page.getByTestId("who").innerText()).toContain("writer");
  expect(await page.getByTestId("overdue-count").innerText()).toBe("1");
  expect(await page.getByTestId("due-soon-count").innerText()).toBe("1");
  expect(await page.getByTestId("alerts").innerText()).toContain("P0");
  await expectAccessible(page);
  await shoot(page, shots, "overview");

  // items list: filter by text and priority through the form; the state lands in the URL
  await page.getByRole("link", { name: "Items", exact: true }).click();
  expect(await page.getByTestId("items-total").innerText()).toBe("Items 1–50 of 64");
  await page.getByRole("link", { name: "Next →" }).click();
  expect(await page.getByTestId("items-total").innerText()).toBe("Items 51–64 of 64");
  await expectAccessible(page);
  await shoot(page, shots, "items");
  await page.getByLabel("Text (title, service, id)").fill("tls");
  await page.getByLabel("P0").check();
  await page.getByRole("button", { name: "Apply" }).click();
  const url = new URL(page.url());
  expect(url.searchParams.get("q")).toBe("tls");
  expect(url.searchParams.getAll("priority")).toEqual(["P0"]);
  expect(url.searchParams.get("page")).toBeNull();
  expect(await page.getByTestId("items-total").innerText()).toBe("Items 1–1 of 1");

  // env switcher keeps the filters
  await page.getByRole("navigation", { name: "Environment" }).getByRole("link", { name: "staging" }).click();
  expect(new URL(page.url()).searchParams.get("env")).toBe("staging");
  expect(new URL(page.url()).searchParams.get("q")).toBe("tls");
  expect(await page.getByTestId("items-total").innerText()).toBe("No items match.");
  await page.goBack();

  // follow the link to the item
  await page.getByRole("link", { name: "Patch TLS CVE" }).click();
  expect(new URL(page.url()).pathname).toBe(`/ui/items/${tlsId}`);
  expect(await page.getByTestId("meta").innerText()).toContain("2026-W47");
  await expectAccessible(page);
  await shoot(page, shots, "item");

  // change its status, then see the event (written by the tool dispatcher, actor = the agent)
  await page.getByLabel("New status").selectOption("in_progress");
  await page.getByLabel("Why (optional)").fill("picked up by edge on-call");
  await page.getByRole("button", { name: "Set status" }).click();
  expect(await page.getByTestId("form-done").innerText()).toBe("Status changed.");
  expect(await page.getByTestId("item-status").innerText()).toBe("in progress");
  const first = await page.getByTestId("timeline").locator("li").first().innerText();
  expect(first).toContain("status changed · by writer");
  expect(first).toContain("picked up by edge on-call");
  const events = await store.events(tlsId);
  expect(events.at(-1)).toMatchObject({ type: "status_changed", actor: "writer", meta: { from: "open", to: "in_progress" } });

  // bad form input: the page again with a message naming the field, not a 500
  await page.getByLabel("Comment").fill("   ");
  await page.getByRole("button", { name: "Add comment" }).click();
  expect(await page.getByTestId("form-error").innerText()).toContain("message: must not be empty");
  await page.getByLabel("Comment").fill("ETA Friday");
  await page.getByRole("button", { name: "Add comment" }).click();
  expect(await page.getByTestId("form-done").innerText()).toBe("Comment added.");

  // change the owner, then open the owner's page
  await page.getByLabel("Owner (empty: nobody)").fill("team-core");
  await page.getByRole("button", { name: "Change owner" }).click();
  expect(await page.getByTestId("item-owner").innerText()).toBe("team-core");
  expect((await store.events(tlsId)).map((e) => e.type)).toEqual(["created", "status_changed", "commented", "owner_changed"]);
  await page.getByTestId("item-owner").getByRole("link").click();
  expect(await page.getByTestId("owner-open").innerText()).toBe("1");
  expect(await page.getByTestId("owner-overdue").innerText()).toBe("1");
  await expectAccessible(page);
  await shoot(page, shots, "owner");

  // keyboard: the first Tab reaches the skip link, Enter moves focus to the content
  await page.keyboard.press("Tab");
  expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Skip to content");
  await page.keyboard.press("Enter");
  expect(await page.evaluate(() => document.activeElement?.id)).toBe("main");

  // sign out: back to the sign-in page, and the old cookie no longer opens anything
  const stolen = (await context.cookies()).find((c) => c.name === "bb_session")!.value;
  await page.getByRole("button", { name: "Sign out" }).click();
  expect(new URL(page.url()).pathname).toBe("/ui/login");
  expect(await page.getByTestId("form-done").innerText()).toBe("You are signed out.");
  const replay = await fetch(`${server.url}/ui`, { headers: { cookie: `bb_session=${stolen}` }, redirect: "manual" });
  expect(replay.status).toBe(303);
  await context.close();
}, 120_000); // ten pages checked by axe-core and screenshotted: 10 s here, 35 s on a loaded machine

test("a reader sees no forms, and a forged status post with the reader's own session is refused", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, KEYS.reader, `/ui/items/${tlsId}`);
  expect(new URL(page.url()).pathname).toBe(`/ui/items/${tlsId}`);
  expect(await page.getByTestId("read-only").innerText()).toContain("need tools.backlog.write");
  expect(await page.locator("form[data-testid=status-form]").count()).toBe(0);
  const before = (await store.get(tlsId))!.status;
  const csrf = await page.locator("form[action='/ui/logout'] input[name=csrf]").inputValue();
  const res = await page.request.post(`${server.url}/ui/items/${tlsId}/status`, { form: { csrf, status: "done" }, headers: { origin: server.url }, maxRedirects: 0 });
  expect(res.status()).toBe(403);
  expect(await res.text()).toContain("Agent reader lacks the entitlement tools.backlog.write");
  expect((await store.get(tlsId))!.status).toBe(before);
  await context.close();
});

test("trends: three server-drawn charts with their numbers, readable without colour, for each env", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await signIn(page, KEYS.reader, "/ui/trends?env=prod");
  expect(await page.locator("svg[role=img]").count()).toBe(3);
  expect(await page.locator("svg[data-chart=open-overdue] title").textContent()).toBe("Open and overdue items per day, prod");
  // the end of each line says its value; the table has every recorded day
  expect(await page.locator("svg[data-chart=p0p1]").innerHTML()).toContain(">P0 open 1</text>");
  expect(await page.getByTestId("daily").locator("tbody tr").count()).toBe(82);
  expect(await page.getByTestId("weekly").locator("tbody tr").count()).toBe(13);
  await expectAccessible(page);
  await page.locator("details").first().evaluate((d) => ((d as HTMLDetailsElement).open = false));
  await shoot(page, shots, "trends");
  await page.getByRole("navigation", { name: "Environment" }).getByRole("link", { name: "staging" }).click();
  expect(await page.getByTestId("no-trends").innerText()).toContain("No snapshots yet for staging");
  await context.close();
});
