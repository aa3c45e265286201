/**
 * /ui/jobs in headless Chromium against the real server (shipped registry and cron file, a registry copy
 * suspending weekly_backlog_generate): every job with its schedule, description, next and last run, a
 * stuck run and a suspension in words; an admin's "Run now" runs the job once (recorded as manual, by
 * admin) even when the form is sent twice at once; a reader sees no button. axe finds nothing serious.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { buildAccess } from "../../../lib/access/config.ts";
import { silentLogger } from "../../../lib/core/log.ts";
import { MemoryRunLedger } from "../../../lib/scheduler/ledger-open.ts";
import { MemoryBacklogStore } from "../../../lib/store/memory.ts";
import { startServer, type RunningServer } from "../../../server.ts";
import { REPO } from "../../helpers/run.ts";
import { expectAccessible, launch, shoot } from "./browser-helpers.ts";

const KEYS = { admin: "ui-admin-key-0123456789", reader: "ui-reader-key-0123456789" };
const now = new Date("2026-11-23T10:00:00Z");
// Moves with real time from `now`: two manual runs are two instants (a fixed clock would give them one slot).
const t0 = Date.now();
const clock = () => new Date(now.getTime() + Date.now() - t0);
const dir = mkdtempSync(join(tmpdir(), "bb-ui-jobs-"));
const ledger = new MemoryRunLedger();
let server: RunningServer;
let browser: Browser;
let stuckRun = "";

beforeAll(async () => {
  const registry = readFileSync(join(REPO, "ops/task_registry.yml"), "utf8").replace(
    /(  weekly_backlog_generate:\n)/,
    '$1    suspend: true\n    suspend_reason: "INC-9 generator rewrite"\n',
  );
  writeFileSync(join(dir, "registry.yml"), registry);
  // A digest run that started 2 h ago and never finished: stuck.
  const claim = await ledger.claim("weekly_platform_priority_digest", "2026-11-23T06:00:00.000Z", "in-process", new Date("2026-11-23T08:00:00Z"));
  if (claim.claimed) stuckRun = claim.run.run_id;
  const access = buildAccess(
    { agents: { admin: { key_env: "A", entitlements: ["tools.backlog.admin"] }, reader: { key_env: "R", entitlements: ["tools.backlog.read"] } } },
    { A: KEYS.admin, R: KEYS.reader },
  );
  server = await startServer({
    store: new MemoryBacklogStore({ clock }),
    access,
    ledger,
    port: 0,
    log: silentLogger,
    clock,
    env: { BACKLOG_SESSION_SECRET: "test-session-secret-0123456789abcdef", BACKLOG_TASK_REGISTRY_FILE: join(dir, "registry.yml") },
  });
  browser = await launch();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function signIn(page: Page, key: string) {
  await page.goto(`${server.url}/ui/jobs`);
  await page.getByLabel("API key").fill(key);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL((u) => u.pathname === "/ui/jobs");
}

const row = (page: Page, job: string) => page.getByTestId(`job-${job}`);

test("an admin sees every job in words and runs one now, once, even when the form is sent twice", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await signIn(page, KEYS.admin);
  expect(await page.getByRole("link", { name: "Jobs" }).getAttribute("aria-current")).toBe("page");
  const jobs = (await page.getByTestId("jobs").locator("tbody tr").allInnerTexts()).length;
  expect(jobs).toBe(readFileSync(join(REPO, "ops/cron/jobs.cron"), "utf8").split("\n").filter((l) => /--job /.test(l)).length);
  const cleanup = row(page, "daily_backlog_cleanup");
  expect(await cleanup.innerText()).toContain("40 3 * * *");
  expect(await cleanup.innerText()).toContain("Removes done/canceled items older than the policy's retention_days.");
  expect(await cleanup.innerText()).toContain("2026-11-24 03:40 UTC"); // next run
  expect(await cleanup.innerText()).toContain("never run");
  expect(await page.getByTestId("suspended-weekly_backlog_generate").innerText()).toBe("suspended: INC-9 generator rewrite");
  expect(await page.getByTestId("stuck-weekly_platform_priority_digest").innerText()).toContain("stuck");
  expect(await row(page, "weekly_platform_priority_digest").innerText()).toContain(stuckRun);
  // the admin may run backlog jobs by hand, not risk ones (tools.risk.admin)
  expect(await page.getByTestId("run-daily_backlog_cleanup").count()).toBe(1);
  expect(await row(page, "hourly_risk_snapshot").innerText()).toContain("needs tools.risk.admin");
  await expectAccessible(page);
  await shoot(page, dir, "jobs");

  await cleanup.getByRole("button", { name: "Run now" }).click();
  await page.waitForURL((u) => u.searchParams.get("ran") === "daily_backlog_cleanup");
  expect(await page.getByTestId("form-done").innerText()).toMatch(/^daily_backlog_cleanup ran by hand: success \(run run_/);
  expect(await row(page, "daily_backlog_cleanup").innerText()).toContain("by hand (admin)");
  const runs = () => [...ledger.runs.values()].filter((r) => r.job === "daily_backlog_cleanup").length;
  expect(runs()).toBe(1);

  // A double submit: the same form (same one-time key) sent twice at once starts one run.
  const statuses = await page.evaluate(async () => {
    const form = document.querySelector('[data-testid="run-daily_backlog_cleanup"]') as HTMLFormElement;
    const send = () => fetch(form.action, { method: "POST", body: new URLSearchParams(new FormData(form) as unknown as Record<string, string>), redirect: "manual" });
    return (await Promise.all([send(), send()])).map((r) => r.status).sort();
  });
  // opaqueredirect reads as status 0: one run started (303), the other refused (409)
  expect(statuses).toEqual([0, 409]);
  expect(runs()).toBe(2);

  // Garbage in the form's boxes (dry_run=yes, =true) is a 400 naming the field, never a real run.
  const garbage = await page.evaluate(async () => {
    const form = document.querySelector('[data-testid="run-daily_backlog_cleanup"]') as HTMLFormElement;
    const out: [string, number, boolean][] = [];
    for (const [k, v] of [["dry_run", "yes"], ["dry_run", "true"], ["even_if_suspended", "1"]] as const) {
      const body = new URLSearchParams(new FormData(form) as unknown as Record<string, string>);
      body.set("key", `garbage-${crypto.randomUUID()}`);
      body.set(k, v);
      const r = await fetch(form.action, { method: "POST", body, redirect: "manual" });
      out.push([`${k}=${v}`, r.status, (await r.text()).includes(`${k}: expected`)]);
    }
    return out;
  });
  expect(garbage).toEqual([["dry_run=yes", 400, true], ["dry_run=true", 400, true], ["even_if_suspended=1", 400, true]]);
  expect(runs()).toBe(2);
  await context.close();
}, 60_000);

test("a reader sees the jobs but no Run now button; a forged post is refused", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, KEYS.reader);
  expect(await page.getByTestId("jobs").isVisible()).toBe(true);
  expect(await page.getByRole("button", { name: "Run now" }).count()).toBe(0);
  expect(await row(page, "daily_backlog_cleanup").innerText()).toContain("needs tools.backlog.admin");
  const status = await page.evaluate(async () => (await fetch("/ui/jobs/daily_backlog_cleanup/run", { method: "POST", body: new URLSearchParams({ csrf: "forged" }) })).status);
  expect(status).toBe(403);
  await context.close();
}, 60_000);
