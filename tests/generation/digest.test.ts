import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { findPlatformDigest, findRiskDigest, NO_PLATFORM_DIGEST, NO_RISK_DIGEST, parsePlatformDigest } from "../../lib/generation/digest.ts";
import { rejectionOf } from "../helpers/app-error.ts";
import { createLogger } from "../../lib/core/log.ts";
import { parsePolicyText } from "../../lib/generation/policy.ts";

const policy = parsePolicyText("", "policy.yml");
const FIXTURE = JSON.parse(readFileSync(new URL("../fixtures/platform-2026-W47.json", import.meta.url), "utf8"));
const RISK = JSON.parse(readFileSync(new URL("../fixtures/risk-2026-11-23.json", import.meta.url), "utf8"));

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "bb-digest-"))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function put(rel: string, value: unknown) {
  const f = join(dir, rel);
  mkdirSync(dirname(f), { recursive: true });
  writeFileSync(f, typeof value === "string" ? value : JSON.stringify(value));
  return f;
}
const weekly = (over: Record<string, unknown> = {}) => ({ ...structuredClone(FIXTURE), ...over });

describe("platform digest", () => {
  test("the fixture is a valid digest", () => {
    const d = parsePlatformDigest(JSON.stringify(FIXTURE), "fixture.json", policy);
    expect(d.week).toBe("2026-W47");
    expect(d.services.map((s) => s.band)).toEqual(["critical", "high", "high", "high", "medium", "medium", "low"]);
  });

  test("latest for the env from the runbook path: newest week first, across a year change", async () => {
    put("platform/2026-W52.json", weekly({ week: "2026-W52" }));
    put("platform/2026-W53.json", weekly({ week: "2026-W53" }));
    put("platform/2027-W01.json", weekly({ week: "2027-W01" }));
    put("platform/2026-W53.md", "# the human-readable digest is ignored");
    const found = await findPlatformDigest({ reportsDir: dir, env: "prod", policy });
    expect(found.period).toBe("2027-W01");
    expect(found.file).toBe(join(dir, "platform/2027-W01.json"));
    expect((await findPlatformDigest({ reportsDir: dir, env: "prod", policy, week: "2026-W53" })).digest.week).toBe("2026-W53");
  });

  test("several envs: <env>/ folders, and a shared file counts only for the env it names", async () => {
    put("platform/2026-W47.json", weekly());
    put("platform/staging/2026-W46.json", weekly({ env: "staging", week: "2026-W46" }));
    put("platform/prod/2026-W47.json", weekly({ services: [] }));
    const prod = await findPlatformDigest({ reportsDir: dir, env: "prod", policy });
    expect(prod.file).toBe(join(dir, "platform/prod/2026-W47.json")); // the env folder wins
    const staging = await findPlatformDigest({ reportsDir: dir, env: "staging", policy });
    expect(staging.period).toBe("2026-W46"); // the shared 2026-W47 is prod's
    const dev = await rejectionOf(findPlatformDigest({ reportsDir: dir, env: "dev", policy }));
    expect(dev.message).toBe(NO_PLATFORM_DIGEST);
  });

  test("nothing there: the exact runbook message, not_found", async () => {
    const err = await rejectionOf(findPlatformDigest({ reportsDir: dir, env: "prod", policy }));
    expect(err.message).toBe("No platform digest found. Run architecture_pressure_tool.digest first.");
    expect(err.code).toBe("not_found");
    expect(err.details).toBeUndefined(); // HTTP body is exactly {"error": ...}
    const week = await rejectionOf(findPlatformDigest({ reportsDir: dir, env: "prod", policy, week: "2026-W40" }));
    expect(week.message).toStartWith("No platform digest found for prod week 2026-W40 (looked for ");
    expect(week.message).toEndWith("Run architecture_pressure_tool.digest first.");
  });

  test("a malformed digest names the file and every bad field", async () => {
    const bad = weekly();
    bad.services[1].band = "severe";
    bad.services[2].recommended_categories = ["refactor", "rewrite"];
    bad.services[3].pressure_score = 130;
    delete bad.generated_at;
    const f = put("platform/2026-W47.json", bad);
    const err = await rejectionOf(findPlatformDigest({ reportsDir: dir, env: "prod", policy }));
    expect(err.message).toStartWith(`${f} is not a valid platform digest (written by architecture_pressure_tool.digest):`);
    expect(err.details).toEqual([
      'generated_at: is required',
      'services.1.band: expected one of low|medium|high|critical, got "severe"',
      'services.2.recommended_categories.1: must be a category of the backlog policy (one of arch_review|refactor|slo_hardening|security|tech_debt|capacity|incident_followup), got "rewrite"',
      "services.3.pressure_score: must be from 0 to 100, got 130",
    ]);
  });

  test("the newest digest being broken is an error, never a silent fall back to an older week", async () => {
    put("platform/2026-W46.json", weekly({ week: "2026-W46" }));
    const f = put("platform/2026-W47.json", "{ not json");
    const err = await rejectionOf(findPlatformDigest({ reportsDir: dir, env: "prod", policy }));
    expect(err.message).toStartWith(`${f} is not valid JSON:`);
  });

  test("the file name and the digest must agree on week and env", async () => {
    put("platform/2026-W48.json", weekly());
    expect((await rejectionOf(findPlatformDigest({ reportsDir: dir, env: "prod", policy }))).details).toEqual([
      'week: the file name says 2026-W48 but the digest says "2026-W47"',
    ]);
    rmSync(join(dir, "platform"), { recursive: true });
    put("platform/prod/2026-W47.json", weekly({ env: "staging" }));
    expect((await rejectionOf(findPlatformDigest({ reportsDir: dir, env: "prod", policy }))).details).toEqual([
      'env: the file is in the prod/ folder but the digest says "staging"',
    ]);
  });

  test("other spellings of a week are reported, not read", async () => {
    put("platform/2026-47.json", weekly());
    put("platform/2025-W53.json", weekly({ week: "2025-W53" }));
    const lines: string[] = [];
    const log = createLogger({ write: (l) => lines.push(l) });
    const err = await rejectionOf(findPlatformDigest({ reportsDir: dir, env: "prod", policy, log }));
    expect(err.message).toBe(NO_PLATFORM_DIGEST);
    const events = lines.map((l) => JSON.parse(l).event);
    expect(events).toContain(`generate: ignoring platform report ${join(dir, "platform/2026-47.json")}`);
    expect(events).toContain(`generate: ignoring platform report ${join(dir, "platform/2025-W53.json")}`);
    expect(events).toContain("generate: no platform digest");
  });
});

describe("risk digest", () => {
  test("the fixture loads as the latest daily digest; a date can be chosen", async () => {
    put("risk/2026-11-23.json", RISK);
    put("risk/prod/2026-11-22.json", { ...RISK, date: "2026-11-22" });
    const found = await findRiskDigest({ reportsDir: dir, env: "prod", policy });
    expect(found.period).toBe("2026-11-23");
    expect(found.digest.services[1]!.recommended_categories).toBeUndefined();
    expect((await findRiskDigest({ reportsDir: dir, env: "prod", policy, date: "2026-11-22" })).digest.date).toBe("2026-11-22");
  });

  test("missing and malformed risk digests", async () => {
    expect((await rejectionOf(findRiskDigest({ reportsDir: dir, env: "prod", policy }))).message).toBe(NO_RISK_DIGEST);
    const bad = structuredClone(RISK);
    bad.services[0].top_signals[0].contribution = "high";
    bad.services[1].delta_7d = null;
    put("risk/2026-11-23.json", bad);
    expect((await rejectionOf(findRiskDigest({ reportsDir: dir, env: "prod", policy }))).details).toEqual([
      'services.0.top_signals.0.contribution: must be a number, got "high"',
      "services.1.delta_7d: must be a number, got null",
    ]);
  });
});
