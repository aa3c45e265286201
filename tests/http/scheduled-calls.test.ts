/**
 * Tool calls from the cron runner carry `job` + `scheduled_at`; the app claims that (job, minute) in the
 * run ledger before running, so a second caller for the same minute is told `already ran`. The ledger
 * here is a small in-process one; the Postgres and JSONL ledgers have their own tests.
 */
import { describe, expect, test } from "bun:test";
import type { RunClaims } from "../../lib/http/app.ts";
import { MemoryBacklogStore } from "../../lib/store/memory.ts";
import { auth, buildTestApp } from "./harness.ts";

function mapLedger() {
  const runs = new Map<string, { run_id: string; status: string; result?: unknown; error?: string }>();
  const ledger: RunClaims = {
    async claim(job, at) {
      const key = `${job}@${at}`;
      const existing = runs.get(key);
      if (existing) return { claimed: false, existing };
      const run = { run_id: key, status: "running" };
      runs.set(key, run);
      return { claimed: true, run };
    },
    async finish(runId, outcome) {
      Object.assign(runs.get(runId)!, outcome);
      return runs.get(runId);
    },
  };
  return { ledger, runs };
}

const call = (app: ReturnType<typeof buildTestApp>["app"], body: unknown, who: "scheduler" | "reader" = "scheduler") =>
  app.request("/v1/tools/execute", { method: "POST", headers: { ...auth(who), "content-type": "application/json" }, body: JSON.stringify(body) });

describe("scheduled tool calls", () => {
  test("one run per (job, minute): concurrent callers, the loser gets `already ran`", async () => {
    const store = new MemoryBacklogStore({ clock: () => new Date("2026-11-23T06:20:00Z") });
    const { ledger, runs } = mapLedger();
    const { app } = buildTestApp(store, { ledger });
    const body = { tool: "backlog_tool", action: "auto_generate_weekly", env: "prod", job: "weekly_backlog_generate", scheduled_at: "2026-11-23T06:20:00.000Z" };
    const [a, b] = await Promise.all([call(app, body), call(app, body)]);
    const results = [await a.json(), await b.json()];
    expect([a.status, b.status]).toEqual([200, 200]);
    const skipped = results.filter((r) => r.skipped === "already ran");
    expect(skipped).toHaveLength(1);
    expect(skipped[0]).toMatchObject({ job: "weekly_backlog_generate", scheduled_at: "2026-11-23T06:20:00.000Z" });
    expect(results.find((r) => r.skipped !== "already ran").created).toBeGreaterThan(0);
    expect(runs.get("weekly_backlog_generate@2026-11-23T06:20:00.000Z")?.status).toBe("success");
    // the next week's minute is a new run
    const next = await (await call(app, { ...body, scheduled_at: "2026-11-30T06:20:00Z" })).json();
    expect(next.skipped).toBe(false); // the generation result, not the ledger's "already ran"
  });

  test("no claim is burnt by a caller without rights, bad params, a bad minute or a dry run", async () => {
    const store = new MemoryBacklogStore();
    const { ledger, runs } = mapLedger();
    const { app } = buildTestApp(store, { ledger });
    const base = { tool: "backlog_tool", action: "cleanup", job: "daily_backlog_cleanup", scheduled_at: "2026-11-23T03:40:00Z" };
    expect((await call(app, base, "reader")).status).toBe(403);
    expect((await call(app, { ...base, retention_days: -1 })).status).toBe(400);
    const badMinute = await call(app, { ...base, scheduled_at: "2026-11-23T03:40:17Z" });
    expect(badMinute.status).toBe(400);
    expect((await badMinute.json()).fields.join()).toContain("scheduled_at");
    expect((await call(app, { ...base, job: "x" } as never)).status).toBe(200); // job "x" is a fine id
    runs.clear();
    expect((await call(app, { tool: "backlog_tool", action: "cleanup", job: "daily_backlog_cleanup" })).status).toBe(400);
    expect((await (await call(app, { ...base, dry_run: true })).json()).dry_run).toBe(true);
    expect(runs.size).toBe(0);
    expect((await call(app, base)).status).toBe(200);
    expect(runs.size).toBe(1);
  });

  test("a failing run is recorded as an error and the error reaches the caller", async () => {
    const store = new MemoryBacklogStore();
    const { ledger, runs } = mapLedger();
    const { app } = buildTestApp(store, { ledger, reportsDir: "/nonexistent" });
    const res = await call(app, { tool: "backlog_tool", action: "auto_generate_weekly", env: "prod", job: "weekly_backlog_generate", scheduled_at: "2026-11-23T06:20:00Z" });
    expect(await res.json()).toEqual({ error: "No platform digest found. Run architecture_pressure_tool.digest first." });
    expect([...runs.values()][0]).toMatchObject({ status: "error", error: "No platform digest found. Run architecture_pressure_tool.digest first." });
  });
});
