/**
 * risk_history_tool and architecture_pressure_tool through the one dispatcher, on the memory backend
 * with a movable clock and a temp reports dir: validation, entitlements, idempotent snapshots,
 * dry runs, missing history, report paths. (The chain on JSONL and Postgres: tests/chain-*.test.ts.)
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findPlatformDigest, findRiskDigest } from "../../lib/generation/digest.ts";
import { silentLogger } from "../../lib/core/log.ts";
import { REPO_ROOT } from "../../lib/config/index.ts";
import { loadPolicy } from "../../lib/generation/policy.ts";
import { reportPaths } from "../../lib/generation/reports.ts";
import { riskHistoryFor } from "../../lib/risk/storage.ts";
import { MemoryBacklogStore } from "../../lib/store/memory.ts";
import { dispatch } from "../../lib/tools/dispatch.ts";
import { loadToolRegistry } from "../../lib/tools/index.ts";
import type { ToolContext } from "../../lib/tools/types.ts";

const policy = loadPolicy(undefined, {});
const registry = await loadToolRegistry({ policy });
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const SCHEDULER = ["tools.backlog.admin", "tools.pressure.write", "tools.risk.write"];

function setup(start = "2026-03-11T10:30:00.000Z", entitlements: readonly string[] = SCHEDULER) {
  const reportsDir = mkdtempSync(join(tmpdir(), "bb-reports-"));
  dirs.push(reportsDir);
  let now = new Date(start);
  const store = new MemoryBacklogStore({ clock: () => now });
  const ctx: ToolContext = {
    store,
    agent: "scheduler",
    entitlements,
    now: () => now,
    log: silentLogger,
    paths: { root: REPO_ROOT, reportsDir, policyFile: join(REPO_ROOT, "config/backlog_policy.yml") },
  };
  return {
    ctx,
    store,
    reportsDir,
    at: (iso: string) => (now = new Date(iso)),
    call: (tool: string, action: string, params: Record<string, unknown> = {}) => dispatch(registry, { tool, action, params }, ctx) as Promise<any>,
    files: () => (existsSync(reportsDir) ? readdirSync(reportsDir, { recursive: true }).map(String).sort() : []),
  };
}

describe("risk_history_tool.record", () => {
  test("one record (env defaults to the policy's first env) and a batch; dry run writes nothing", async () => {
    const t = setup();
    const one = await t.call("risk_history_tool", "record", { service: "gateway", signals: { slo_burn_rate: 2 }, ts: "2026-03-11T09:00:00+01:00" });
    expect(one).toMatchObject({ recorded: 1, dry_run: false, storage: "MemoryRiskHistory" });
    expect(one.records[0]).toMatchObject({ env: "prod", service: "gateway", ts: "2026-03-11T08:00:00.000Z", actor: "scheduler", source: "manual" });
    const dry = await t.call("risk_history_tool", "record", { records: [{ env: "staging", service: "db", signals: { open_alerts: 3 } }], dry_run: true });
    expect(dry).toMatchObject({ recorded: 0, would_record: 1, dry_run: true });
    await t.call("risk_history_tool", "record", { records: [{ env: "staging", service: "db", signals: { open_alerts: 3 }, source: "alertmanager" }] });
    const h = riskHistoryFor(t.store, silentLogger);
    expect((await h.signals("prod", "2026-01-01T00:00:00.000Z", "2027-01-01T00:00:00.000Z")).length).toBe(1);
    expect((await h.signals("staging", "2026-01-01T00:00:00.000Z", "2027-01-01T00:00:00.000Z")).map((r) => r.source)).toEqual(["alertmanager"]);
  });

  test("every bad field is named, by index in a batch, and nothing of the batch is written", async () => {
    const t = setup();
    const err = await t
      .call("risk_history_tool", "record", {
        records: [
          { env: "prod", service: "ok", signals: { critical_vulns: 1 } },
          { env: "qa", service: "gw", signals: { slo_burn: 1 } },
          { env: "prod", service: "gw", signals: { change_failure_rate: 3 }, ts: "2026-03-12T10:30:00Z" },
        ],
      })
      .catch((e) => e);
    expect(err.code).toBe("invalid_input");
    expect(err.message).toContain("records.1.signals.slo_burn: unknown signal");
    expect(err.message).toContain("records.1.env: must be one of prod|staging|dev");
    expect(err.message).toContain("records.2.signals.change_failure_rate: must be a number from 0 to 1");
    expect(err.message).toContain("records.2.ts: must not be in the future");
    expect(err.message).toContain("nothing was recorded");
    expect(await riskHistoryFor(t.store, silentLogger).signals("prod", "2000-01-01T00:00:00.000Z", "2100-01-01T00:00:00.000Z")).toEqual([]);

    await expect(t.call("risk_history_tool", "record", { service: "gw" })).rejects.toThrow("signals: is required (or pass records: [...])");
    await expect(t.call("risk_history_tool", "record", { service: "gw", signals: {}, ts: "yesterday" })).rejects.toThrow(/ts: must be an ISO 8601 time/);
    await expect(t.call("risk_history_tool", "record", { records: [], env: "prod" })).rejects.toThrow("env: give them inside each of records");
    await expect(t.call("risk_history_tool", "record", { service: "gw", signals: { open_alerts: 1 }, sevice: "x" })).rejects.toThrow('unknown parameter "sevice"');
  });

  test("entitlements: writing needs tools.risk.write / tools.pressure.write", async () => {
    const t = setup(undefined, ["tools.risk.read", "tools.pressure.read"]);
    await expect(t.call("risk_history_tool", "record", { service: "gw", signals: { open_alerts: 1 } })).rejects.toThrow("lacks the entitlement tools.risk.write");
    await expect(t.call("architecture_pressure_tool", "digest", { env: "prod" })).rejects.toThrow("lacks the entitlement tools.pressure.write");
  });
});

describe("risk_history_tool.snapshot", () => {
  test("idempotent per hour; a new hour adds rows; stale signals are ignored; dry run writes nothing", async () => {
    const t = setup("2026-03-11T10:05:00.000Z");
    await t.call("risk_history_tool", "record", {
      records: [
        { env: "prod", service: "gw", signals: { incidents_sev1_30d: 3 }, ts: "2026-03-11T09:00:00Z" },
        { env: "prod", service: "db", signals: { critical_vulns: 5 }, ts: "2026-03-11T09:00:00Z" },
        { env: "prod", service: "old", signals: { critical_vulns: 5 }, ts: "2026-02-01T09:00:00Z" },
      ],
    });
    const dry = await t.call("risk_history_tool", "snapshot", { env: "prod", dry_run: true });
    expect(dry).toMatchObject({ hour: "2026-03-11T10:00:00.000Z", inserted: 2, existing: 0, dry_run: true });
    const first = await t.call("risk_history_tool", "snapshot", { env: "prod" });
    expect(first).toMatchObject({ inserted: 2, existing: 0 });
    expect(first.services.map((s: any) => [s.service, s.score, s.band])).toEqual([
      ["gw", 25, "medium"],
      ["db", 15, "low"],
    ]);
    t.at("2026-03-11T10:59:00.000Z");
    expect(await t.call("risk_history_tool", "snapshot", { env: "prod" })).toMatchObject({ inserted: 0, existing: 2 });
    t.at("2026-03-11T11:00:00.000Z");
    expect(await t.call("risk_history_tool", "snapshot", { env: "prod" })).toMatchObject({ inserted: 2, existing: 0 });
    expect((await riskHistoryFor(t.store, silentLogger).history("prod", "2026-03-11T00:00:00.000Z", "2026-03-12T00:00:00.000Z")).length).toBe(4);
  });

  test("no signals: says so (never silently empty); `at` in the future is refused", async () => {
    const t = setup();
    const r = await t.call("risk_history_tool", "snapshot", { env: "staging" });
    expect(r).toMatchObject({ inserted: 0, services: [] });
    expect(r.skipped).toContain("no signals recorded for staging");
    await expect(t.call("risk_history_tool", "snapshot", { at: "2026-03-12T10:00:00Z" })).rejects.toThrow("at: must not be in the future");
  });
});

async function seedWeek(t: ReturnType<typeof setup>, env = "prod") {
  // gw worsens over the week, db stays calm; snapshots daily at 09:00 plus now.
  for (let d = 4; d <= 11; d++) {
    const ts = `2026-03-${String(d).padStart(2, "0")}T09:00:00Z`;
    await t.call("risk_history_tool", "record", {
      records: [
        { env, service: "gw", signals: { incidents_sev1_30d: Math.min(3, Math.floor((d - 4) / 2)), slo_burn_rate: (d - 3) * 0.4 }, ts },
        { env, service: "db", signals: { open_alerts: 2 }, ts },
      ],
    });
    await t.call("risk_history_tool", "snapshot", { env, at: ts });
  }
}

describe("risk_history_tool.digest", () => {
  test("missing history: clear error, no file; dry run: no file; then the digest validates and the generation loader finds it", async () => {
    const t = setup();
    const err = await t.call("risk_history_tool", "digest", { env: "prod" }).catch((e) => e);
    expect(err.code).toBe("not_found");
    expect(err.message).toMatch(/No risk history found for prod in the 24 hours before .*Run risk_history_tool\.snapshot first.*No risk digest was written\./);
    expect(t.files()).toEqual([]);

    await seedWeek(t);
    const dry = await t.call("risk_history_tool", "digest", { env: "prod", dry_run: true });
    expect(dry).toMatchObject({ written: false, date: "2026-03-11", services: 2 });
    expect(t.files()).toEqual([]);

    const r = await t.call("risk_history_tool", "digest", { env: "prod" });
    expect(r.files).toEqual(reportPaths(t.reportsDir, "risk", "prod", "2026-03-11", "prod"));
    expect(t.files()).toEqual(["risk", "risk/2026-03-11.json", "risk/2026-03-11.md"]);
    const found = await findRiskDigest({ reportsDir: t.reportsDir, env: "prod", policy });
    const gw = found.digest.services.find((s) => s.service === "gw")!;
    expect(found.digest.services[0]!.service).toBe("gw");
    expect(gw.delta_24h).toBeGreaterThan(0);
    expect(gw.delta_7d).toBeGreaterThan(gw.delta_24h);
    expect(gw.top_signals[0]).toMatchObject({ signal: "incidents_sev1_30d", value: 3, contribution: 25 });
    expect(gw.recommended_categories).toEqual(["slo_hardening"]);
    expect(readFileSync(r.files.md, "utf8")).toMatch(/\| gw \| \d+(\.\d)? \| (medium|high) \| \+/);
  });

  test("a non-primary env goes to its own folder; a future date is refused", async () => {
    const t = setup();
    await seedWeek(t, "staging");
    await t.call("risk_history_tool", "digest", { env: "staging" });
    expect(t.files()).toContain("risk/staging/2026-03-11.json");
    await expect(t.call("risk_history_tool", "digest", { date: "2026-03-12" })).rejects.toThrow("date: must not be after today (2026-03-11)");
  });
});

describe("risk_history_tool.cleanup", () => {
  test("policy retention by default, the caller's when given; dry run removes nothing", async () => {
    const t = setup();
    await seedWeek(t);
    const h = riskHistoryFor(t.store, silentLogger);
    expect(await t.call("risk_history_tool", "cleanup", {})).toMatchObject({ retention_days: 90, removed: { signals: 0, history: 0 } });
    // 8 days (03-04 … 03-11, 09:00) × 2 services; a 3-day cutoff at 03-08T10:30 leaves 03-09 … 03-11.
    expect(await t.call("risk_history_tool", "cleanup", { retention_days: 3, dry_run: true })).toMatchObject({ would_remove: { signals: 10, history: 10 } });
    expect((await h.history("prod", "2026-01-01T00:00:00.000Z", "2027-01-01T00:00:00.000Z")).length).toBe(16);
    // The scheduler passes {"env": "prod"}; another env's cleanup leaves prod alone.
    expect(await t.call("risk_history_tool", "cleanup", { env: "staging", retention_days: 3 })).toMatchObject({ env: "staging", removed: { signals: 0, history: 0 } });
    expect(await t.call("risk_history_tool", "cleanup", { retention_days: 3 })).toMatchObject({ cutoff: "2026-03-08T10:30:00.000Z", removed: { signals: 10, history: 10 } });
    const left = await h.history("prod", "2026-01-01T00:00:00.000Z", "2027-01-01T00:00:00.000Z");
    expect(left.map((r) => `${r.service} ${r.hour.slice(5, 10)}`)).toEqual(["db 03-09", "db 03-10", "db 03-11", "gw 03-09", "gw 03-10", "gw 03-11"]);
  });
});

describe("architecture_pressure_tool.digest", () => {
  test("missing history: clear error, no file; dry run: no file; re-running the week overwrites the same files", async () => {
    const t = setup();
    const err = await t.call("architecture_pressure_tool", "digest", { env: "prod" }).catch((e) => e);
    expect(err.code).toBe("not_found");
    expect(err.message).toMatch(/No risk history for prod between .* run risk_history_tool\.snapshot .*No platform digest was written\./);
    expect(t.files()).toEqual([]);

    await seedWeek(t);
    expect(await t.call("architecture_pressure_tool", "digest", { dry_run: true })).toMatchObject({ written: false, week: "2026-W11" });
    expect(t.files()).toEqual([]);

    const first = await t.call("architecture_pressure_tool", "digest", {});
    expect(first).toMatchObject({ week: "2026-W11", window: { from: "2026-03-04T10:30:00.000Z", to: "2026-03-11T10:30:00.000Z" } });
    expect(t.files()).toEqual(["platform", "platform/2026-W11.json", "platform/2026-W11.md"]);
    const gwBefore = first.digest.services.find((s: any) => s.service === "gw");

    // Overdue work on gw raises its pressure; the same week's files are replaced.
    for (const category of ["refactor", "security", "tech_debt"]) {
      await t.store.upsert({ env: "prod", service: "gw", category, title: `old ${category}`, priority: "P2", dedupe_key: `x:${category}`, due_date: "2026-03-01" }, { actor: "t" });
    }
    t.at("2026-03-11T11:00:00.000Z");
    const second = await t.call("architecture_pressure_tool", "digest", { env: "prod", week: "2026-W11" });
    const gw = second.digest.services.find((s: any) => s.service === "gw");
    expect(gw.signals).toMatchObject({ open_items: 3, overdue_items: 3 });
    expect(gw.pressure_score).toBeGreaterThan(gwBefore.pressure_score);
    expect(gw.recommended_categories).toContain("arch_review");
    expect(t.files()).toEqual(["platform", "platform/2026-W11.json", "platform/2026-W11.md"]);
    const found = await findPlatformDigest({ reportsDir: t.reportsDir, env: "prod", policy });
    expect(found.digest.generated_at).toBe("2026-03-11T11:00:00.000Z");
    expect(readFileSync(join(t.reportsDir, "platform/2026-W11.md"), "utf8")).toContain("# Platform priority digest — prod, 2026-W11");
  });

  test("a past week uses that week's 7 days; a future week is refused", async () => {
    const t = setup();
    await seedWeek(t);
    const r = await t.call("architecture_pressure_tool", "digest", { week: "2026-W10" });
    expect(r.window).toEqual({ from: "2026-03-02T00:00:00.000Z", to: "2026-03-09T00:00:00.000Z" });
    expect(r.digest.services.every((s: any) => s.signals.snapshots === 5)).toBe(true);
    await expect(t.call("architecture_pressure_tool", "digest", { week: "2026-W12" })).rejects.toThrow("week: must not be after the current week 2026-W11");
  });
});

describe("report paths", () => {
  test("built only from a valid env and period", () => {
    expect(reportPaths("/r", "platform", "prod", "2026-W11", "prod")).toEqual({ json: "/r/platform/2026-W11.json", md: "/r/platform/2026-W11.md" });
    expect(reportPaths("/r", "risk", "dev", "2026-03-11", "prod").json).toBe("/r/risk/dev/2026-03-11.json");
    expect(() => reportPaths("/r", "risk", "../etc", "2026-03-11", "prod")).toThrow("env: must be a lowercase name");
    expect(() => reportPaths("/r", "risk", "prod", "2026-02-30", "prod")).toThrow("expected a calendar date YYYY-MM-DD");
    expect(() => reportPaths("/r", "platform", "prod", "../../x", "prod")).toThrow("expected an ISO week like 2026-W47");
  });
});
