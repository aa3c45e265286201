/**
 * Loads config/backlog_policy.yml: which digests become backlog items, with which priority, due date,
 * owner and title; retention; allowed envs; dashboard alert thresholds. Missing keys take their
 * defaults (lib/generation/policy-schema.ts); unknown keys and bad values fail with the file, the key path, what is
 * allowed and what was given, plus the line, e.g.
 *   config/backlog_policy.yml is invalid:
 *     categories.security.priority: expected one of P0|P1|P2|P3, got "P9" (line 45)
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import * as v from "valibot";
import type { Document, LineCounter } from "yaml";
import { AppError, formatIssue } from "../core/errors.ts";
import { resolveOwner } from "../lifecycle/owner.ts";
import { parseYamlText, withLine } from "../core/yaml-text.ts";
import { BANDS, PolicySchema, TITLE_PLACEHOLDERS, type Band, type CategoryPolicy, type PolicyData } from "./policy-schema.ts";
import { displayPath, processEnv, readVar, varSource, type Env } from "../config/index.ts";

export { BANDS, DEFAULT_CATEGORIES, TITLE_PLACEHOLDERS, type Band, type CategoryPolicy } from "./policy-schema.ts";
export { evaluateAlerts, type Alert } from "./alerts.ts";

/** The declared default (lib/config/vars.ts), read with an empty environment. */
export const DEFAULT_POLICY_FILE = readVar("BACKLOG_POLICY_FILE", {})!;

export type Policy = PolicyData & {
  /** The file it came from (for messages), relative to the repo root when inside it. */
  source: string;
};

/** Which file: explicit path → BACKLOG_POLICY_FILE → config/backlog_policy.yml. */
export function resolvePolicyFile(path?: string, env: Env = processEnv()): string {
  return path ? resolve(path) : readVar("BACKLOG_POLICY_FILE", env)!;
}

export function loadPolicy(path?: string, env: Env = processEnv()): Policy {
  const file = resolvePolicyFile(path, env);
  const shown = displayPath(file);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    const how = path ? "the given path" : varSource("BACKLOG_POLICY_FILE", env) === "default" ? "the default" : "BACKLOG_POLICY_FILE";
    throw new AppError("config", `Cannot read the backlog policy ${shown} (from ${how}): ${(err as Error).message}. Set BACKLOG_POLICY_FILE or restore config/backlog_policy.yml.`, {
      cause: err,
    });
  }
  return parsePolicyText(text, shown);
}

/** Parses policy YAML text; `source` names the file in every message. */
export function parsePolicyText(text: string, source: string): Policy {
  const { value, doc, lines } = parseYamlText(text, source);
  return parsePolicy(value ?? {}, source, { doc, lines });
}

/** Validates an already-parsed policy object (tests, or a policy built in code). */
export function parsePolicy(raw: unknown, source = "backlog policy", yaml?: { doc: Document; lines: LineCounter }): Policy {
  const result = v.safeParse(PolicySchema, raw);
  if (!result.success) {
    const problems = result.issues.map((i) => withLine(formatIssue(i), v.getDotPath(i), yaml));
    throw invalidPolicy(source, problems);
  }
  const policy = result.output;
  const problems = crossCheck(policy, raw).map(([path, msg]) => withLine(`${path}: ${msg}`, path, yaml));
  if (problems.length) throw invalidPolicy(source, problems);
  return { ...policy, source };
}

function invalidPolicy(source: string, problems: string[]): AppError {
  return new AppError("config", `${source} is invalid:\n  ${problems.join("\n  ")}`, { details: problems });
}

/** Rules between keys, which a per-key schema cannot see. */
function crossCheck(p: PolicyData, raw: unknown): [string, string][] {
  const out: [string, string][] = [];
  const known = Object.keys(p.categories);
  // Like daily_default_categories: the default category matters only where the file names it or the intake runs
  // (lib/intake/ingest.ts refuses then), so a policy with its own categories and no alert intake still loads.
  const intakeCategory = (raw as { alert_intake?: { category?: unknown } } | null)?.alert_intake?.category !== undefined;
  if (intakeCategory && !known.includes(p.alert_intake.category)) out.push(["alert_intake.category", `${JSON.stringify(p.alert_intake.category)} is not a category of this policy (known: ${known.join(", ")})`]);
  const env = p.alert_intake.default_env;
  if (env !== null && !p.envs.includes(env)) out.push(["alert_intake.default_env", `${JSON.stringify(env)} is not one of envs (${p.envs.join(", ")})`]);
  // The default [slo_hardening] only matters once daily generation is on or the key is written out:
  // a policy with its own categories and daily generation off need not mention it.
  const explicit = (raw as { generation?: { daily_default_categories?: unknown } } | null)?.generation?.daily_default_categories !== undefined;
  if (!p.generation.daily_from_risk_digest && !explicit) return out;
  p.generation.daily_default_categories.forEach((c, i) => {
    if (known.includes(c)) return;
    if (explicit) out.push([`generation.daily_default_categories.${i}`, `${JSON.stringify(c)} is not a category of this policy (known: ${known.join(", ")})`]);
    else out.push(["generation.daily_default_categories", `not set, and its default ${JSON.stringify(c)} is not a category of this policy (known: ${known.join(", ")}); set it`]);
  });
  return out;
}

export function categoryOf(policy: PolicyData, name: string): CategoryPolicy {
  const c = policy.categories[name];
  if (!c) throw new AppError("invalid_input", `category: ${JSON.stringify(name)} is not in the policy (known: ${Object.keys(policy.categories).join(", ")})`);
  return c;
}

/** Owner for a NEW item from the policy alone (override, else default_owner); with a catalog: lifecycle/owner.ts. */
export const ownerFor = (policy: PolicyData, service: string): string => resolveOwner(policy, new Map(), service).owner;

export const bandRank = (band: Band): number => BANDS.indexOf(band);

/** Fills a category title template; unknown placeholders were refused when the policy loaded. */
export function renderTitle(template: string, values: Record<(typeof TITLE_PLACEHOLDERS)[number], string>): string {
  return template.replace(/\{([a-z_]+)\}/g, (_, k: string) => values[k as keyof typeof values] ?? `{${k}}`);
}
