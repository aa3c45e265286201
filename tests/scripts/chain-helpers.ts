/**
 * The governance chain as the scheduler runs it — record → snapshot → risk digest → platform digest →
 * backlog_tool.auto_generate_weekly — through any caller (`call`), and the checks every backend must
 * pass: both digests parse with the generation's own loaders, and the generated items are exactly one
 * per (service, recommended category) of the digest.
 */
import { expect } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parsePlatformDigest, parseRiskDigest, type PlatformDigest } from "../../lib/generation/digest.ts";
import { loadPolicy } from "../../lib/generation/policy.ts";
import { hourStart } from "../../lib/risk/score.ts";
import { parseBatchText, shiftToNow } from "../../lib/risk/record.ts";
import type { BacklogStore } from "../../lib/store/types.ts";
import { REPO } from "../helpers/run.ts";

export const SAMPLE = join(REPO, "ops/samples/risk_signals.sample.json");
export const NOW = new Date("2026-03-11T10:30:00.000Z");
export const WEEK = "2026-W11";
export const SCHEDULER = ["tools.backlog.admin", "tools.pressure.write", "tools.risk.write"] as const;

export type Call = (tool: string, action: string, params?: Record<string, unknown>) => Promise<any>;

/** The shipped sample, moved so its newest day is in NOW's hour. */
export function sampleRecords(now = NOW): { ts: string; service: string }[] {
  return shiftToNow(parseBatchText(readFileSync(SAMPLE, "utf8"), SAMPLE).entries, now) as { ts: string; service: string }[];
}

export interface ChainResult {
  platform: PlatformDigest;
  generated: any;
}

export async function runChain(call: Call, reportsDir: string, now = NOW): Promise<ChainResult> {
  const policy = loadPolicy(undefined, {});
  const records = sampleRecords(now);
  expect(await call("risk_history_tool", "record", { records })).toMatchObject({ recorded: records.length });

  const hours = [...new Set(records.map((r) => hourStart(new Date(r.ts))))].sort();
  for (const at of hours) expect(await call("risk_history_tool", "snapshot", { env: "prod", at })).toMatchObject({ inserted: 5, existing: 0 });
  // Idempotent per hour: the hourly job firing twice adds nothing.
  expect(await call("risk_history_tool", "snapshot", { env: "prod" })).toMatchObject({ inserted: 0, existing: 5 });

  const risk = await call("risk_history_tool", "digest", { env: "prod" });
  const riskFile = join(reportsDir, "risk", `${risk.date}.json`);
  const riskDigest = parseRiskDigest(readFileSync(riskFile, "utf8"), riskFile, policy);
  expect(riskDigest.services.map((s) => s.service).sort()).toEqual(["auth", "billing-api", "gateway", "notifications", "search"]);
  const gateway = riskDigest.services.find((s) => s.service === "gateway")!;
  expect(gateway.delta_7d).toBeGreaterThan(0);
  expect(riskDigest.services.find((s) => s.service === "search")!.delta_7d).toBeLessThan(0);

  const pressure = await call("architecture_pressure_tool", "digest", { env: "prod" });
  expect(pressure).toMatchObject({ week: WEEK, written: true });
  const platformFile = join(reportsDir, "platform", `${WEEK}.json`);
  const platform = parsePlatformDigest(readFileSync(platformFile, "utf8"), platformFile, policy);
  expect(platform.services.map((s) => [s.service, s.band, s.recommended_categories])).toEqual([
    ["gateway", "high", ["slo_hardening"]],
    ["billing-api", "medium", ["security", "refactor"]],
    ["auth", "medium", ["refactor", "slo_hardening"]],
    ["search", "low", []],
    ["notifications", "low", []],
  ]);

  const generated = await call("backlog_tool", "auto_generate_weekly", { env: "prod" });
  return { platform, generated };
}

/** The items in the store are exactly the digest's (service, category) pairs, with the policy's priority. */
export async function expectItemsMatchDigest(store: BacklogStore, platform: PlatformDigest, generated: any): Promise<void> {
  const policy = loadPolicy(undefined, {});
  const expected = platform.services.flatMap((s) => s.recommended_categories.map((c) => `platform_backlog:${WEEK}:prod:${s.service}:${c}`)).sort();
  expect(generated).toMatchObject({ week: WEEK, created: expected.length, updated: 0, capped: 0 });
  const { items } = await store.list({ env: "prod", limit: 1000 }, NOW);
  expect(items.map((i) => i.dedupe_key).sort()).toEqual(expected);
  for (const item of items) {
    expect(item.priority).toBe(policy.categories[item.category]!.priority);
    expect(item.owner).toBe(policy.ownership.overrides[item.service] ?? policy.ownership.default_owner);
  }
}
