import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { parsePlatformDigest, parseRiskDigest, type PlatformDigest } from "../../lib/generation/digest.ts";
import { dedupeKey, planDaily, planWeekly, type Plan } from "../../lib/generation/generate.ts";
import { parsePolicyText } from "../../lib/generation/policy.ts";
import type { BacklogItem } from "../../lib/store/types.ts";

const text = (name: string) => readFileSync(new URL(`../fixtures/${name}`, import.meta.url), "utf8");
const policyOf = (yaml = "") => parsePolicyText(yaml, "policy.yml");
const POLICY = policyOf("ownership:\n  overrides:\n    gateway: team-edge\n    billing: team-money\n");
const DIGEST = parsePlatformDigest(text("platform-2026-W47.json"), "platform-2026-W47.json", POLICY);
const RISK = parseRiskDigest(text("risk-2026-11-23.json"), "risk-2026-11-23.json", POLICY);
const NOW = new Date("2026-11-16T06:20:00Z");
const none = new Map<string, BacklogItem>();

function plan(result: ReturnType<typeof planWeekly>): Plan {
  if (result.skipped) throw new Error(`unexpected skip: ${result.reason}`);
  return result;
}

function stored(p: Plan, i: number, over: Partial<BacklogItem> = {}): BacklogItem {
  const input = p.items[i]!.input;
  return {
    id: `bl_${i}`, env: input.env, service: input.service, category: input.category, title: input.title, description: input.description ?? "",
    priority: input.priority, status: "open", owner: input.owner ?? null, due_date: input.due_date ?? null, source: input.source ?? "x",
    dedupe_key: input.dedupe_key, tags: input.tags ?? [], meta: input.meta ?? {}, created_at: NOW.toISOString(), updated_at: NOW.toISOString(), ...over,
  };
}

describe("weekly planning", () => {
  test("one item per (service, recommended category), highest pressure first, deterministic ties", () => {
    const p = plan(planWeekly(DIGEST, POLICY, none, NOW));
    expect(p).toMatchObject({ kind: "weekly", env: "prod", period: "2026-W47", capped: 0, skipped: false });
    expect(p.items.map((i) => i.dedupe_key)).toEqual([
      "platform_backlog:2026-W47:prod:gateway:security", // 88, P0
      "platform_backlog:2026-W47:prod:gateway:arch_review", // 88, P1 (name before slo_hardening)
      "platform_backlog:2026-W47:prod:gateway:slo_hardening",
      "platform_backlog:2026-W47:prod:billing:arch_review", // 74, P1
      "platform_backlog:2026-W47:prod:billing:refactor", // 74, P2: billing before ledger
      "platform_backlog:2026-W47:prod:ledger:refactor",
      "platform_backlog:2026-W47:prod:search:capacity", // 61
      "platform_backlog:2026-W47:prod:search:slo_hardening",
      "platform_backlog:2026-W47:prod:auth:security", // 47
      "platform_backlog:2026-W47:prod:notifications:tech_debt", // 30; reporting recommends nothing
    ]);
    expect(p.items.every((i) => i.action === "create" && i.existing_id === null)).toBe(true);
  });

  test("priority, due date (creation day + due_days), title, owner override vs default, meta", () => {
    const p = plan(planWeekly(DIGEST, POLICY, none, NOW));
    const by = (k: string) => p.items.find((i) => i.dedupe_key.endsWith(k))!.input;
    expect(by("gateway:security")).toMatchObject({
      env: "prod", service: "gateway", category: "security", priority: "P0", due_date: "2026-11-23", owner: "team-edge",
      title: "gateway: fix security findings in prod (2026-W47)", source: "weekly_digest", tags: ["auto", "weekly"],
      meta: {
        week: "2026-W47", pressure_score: 88, band: "critical", digest_generated_at: "2026-11-16T06:00:12Z",
        reasons: ["3 open CVEs in the TLS stack", "p95 latency 840 ms over the 500 ms SLO", "fan-out to 14 services"],
        signals: { error_rate: 0.031, p95_latency_ms: 840, open_cves: 3, fan_out: 14 },
      },
    });
    expect(by("gateway:security").description).toContain("- 3 open CVEs in the TLS stack");
    expect(by("billing:arch_review")).toMatchObject({ owner: "team-money", priority: "P1", due_date: "2026-11-30", title: "billing: architecture review (2026-W47, pressure 74/high)" });
    expect(by("notifications:tech_debt")).toMatchObject({ owner: "oncall", priority: "P3", due_date: "2027-01-15" });
  });

  test("max_items_per_run caps the run, keeping the highest pressure, and says how many were left out", () => {
    const p = plan(planWeekly(DIGEST, policyOf("defaults:\n  max_items_per_run: 5\n"), none, NOW));
    expect(p.capped).toBe(5);
    expect(p.items.map((i) => i.input.service + ":" + i.input.category)).toEqual([
      "gateway:security", "gateway:arch_review", "gateway:slo_hardening", "billing:arch_review", "billing:refactor",
    ]);
  });

  test("existing items: no owner or tags in the upsert (people's values survive), unchanged when nothing moved", () => {
    const first = plan(planWeekly(DIGEST, POLICY, none, NOW));
    const existing = new Map(first.items.map((it, i) => [it.dedupe_key, stored(first, i, { owner: "alice", tags: ["triaged"], status: "in_progress" })]));
    const later = new Date("2026-11-18T06:20:00Z");
    const again = plan(planWeekly(DIGEST, POLICY, existing, later));
    expect(again.items.map((i) => i.action)).toEqual(Array(10).fill("unchanged"));
    for (const it of again.items) {
      expect(it.input.owner).toBeUndefined();
      expect(it.input.tags).toBeUndefined();
      expect(it.existing_id).toBe(existing.get(it.dedupe_key)!.id);
    }
    // A regenerated digest with new reasons refreshes the item (title/description/meta), still without an owner.
    const changed: PlatformDigest = structuredClone(DIGEST);
    changed.services[0]!.reasons = ["2 open CVEs"];
    const updated = plan(planWeekly(changed, POLICY, existing, later));
    expect(updated.items.filter((i) => i.action === "update").map((i) => i.input.service)).toEqual(["gateway", "gateway", "gateway"]);
    expect(updated.items[0]!.input.owner).toBeUndefined();
  });

  test("policy switched off → skipped with the reason, never an empty success", () => {
    const off = parsePolicyText("generation:\n  weekly_from_pressure_digest: false\n", "config/backlog_policy.yml");
    expect(planWeekly(DIGEST, off, none, NOW)).toEqual({
      skipped: true, kind: "weekly", env: "prod",
      reason: "generation.weekly_from_pressure_digest is false in config/backlog_policy.yml; set it to true to generate weekly items.",
    });
  });

  test("dedupe keys follow the digest's ISO week across the year change (2026 has a W53)", () => {
    const w53 = { ...structuredClone(DIGEST), week: "2026-W53", services: [DIGEST.services[4]!] };
    const newYear = new Date("2027-01-01T06:20:00Z"); // a Friday in 2026-W53
    const p = plan(planWeekly(w53, POLICY, none, newYear));
    expect(p.items.map((i) => [i.dedupe_key, i.input.due_date, i.input.title])).toEqual([
      ["platform_backlog:2026-W53:prod:auth:security", "2027-01-08", "auth: fix security findings in prod (2026-W53)"],
    ]);
    const w01 = plan(planWeekly({ ...w53, week: "2027-W01" }, POLICY, none, new Date("2027-01-04T06:20:00Z")));
    expect(w01.items[0]!.dedupe_key).toBe("platform_backlog:2027-W01:prod:auth:security");
    // A new week is a new key, so last week's open item stays and this week's is created beside it.
    const existing = new Map([[p.items[0]!.dedupe_key, stored(p, 0)]]);
    expect(plan(planWeekly({ ...w53, week: "2027-W01" }, POLICY, existing, new Date("2027-01-04T06:20:00Z"))).items[0]!.action).toBe("create");
  });

  test("the key prefix comes from the policy", () => {
    expect(dedupeKey("platform_backlog", "2026-W47", "prod", "gateway", "security")).toBe("platform_backlog:2026-W47:prod:gateway:security");
    const p = plan(planWeekly(DIGEST, policyOf("dedupe:\n  key_prefix: arch\n"), none, NOW));
    expect(p.items[0]!.dedupe_key).toBe("arch:2026-W47:prod:gateway:security");
  });
});

describe("daily planning", () => {
  const daily = policyOf("generation:\n  daily_from_risk_digest: true\n");

  test("off by default (runbook 8)", () => {
    expect(planDaily(RISK, POLICY, none, NOW)).toMatchObject({ skipped: true, reason: expect.stringContaining("generation.daily_from_risk_digest is false") });
  });

  test("risky services only (band ≥ daily_min_band); default categories when none are recommended; key has the date", () => {
    const p = plan(planDaily(RISK, daily, none, new Date("2026-11-23T09:20:00Z")));
    expect(p).toMatchObject({ kind: "daily", period: "2026-11-23", capped: 0 });
    expect(p.items.map((i) => [i.dedupe_key, i.input.priority, i.input.due_date])).toEqual([
      ["platform_backlog:2026-11-23:prod:gateway:incident_followup", "P1", "2026-11-30"],
      ["platform_backlog:2026-11-23:prod:gateway:slo_hardening", "P1", "2026-12-07"],
      ["platform_backlog:2026-11-23:prod:billing:slo_hardening", "P1", "2026-12-07"],
    ]);
    expect(p.items[0]!.input).toMatchObject({ source: "daily_digest", tags: ["auto", "daily"], meta: { date: "2026-11-23", risk_score: 91, delta_24h: 6.5, delta_7d: 18 } });
    expect(p.items[0]!.input.description).toContain("+6.5 in 24h, +18 in 7 days");
    const medium = plan(planDaily(RISK, policyOf("generation:\n  daily_from_risk_digest: true\n  daily_min_band: medium\n"), none, NOW));
    expect(medium.items.map((i) => i.input.service)).toEqual(["gateway", "gateway", "billing", "search"]);
  });
});
