/**
 * Finds and reads the digests the generator turns into backlog items.
 *
 * Layout (under the reports dir, BACKLOG_REPORTS_DIR, default ops/reports):
 *   platform/<env>/2026-W47.json   weekly platform digest of one env
 *   platform/2026-W47.json         the runbook's path; its `env` field says which env it is for
 *   risk/<env>/2026-11-23.json     daily risk digest of one env
 *   risk/2026-11-23.json           likewise, env in the file
 * For a period both places are tried, the env folder first. "Latest" is the newest period that has a
 * digest for the env. A malformed digest stops the search with an error naming the file and the field
 * (never a silent fall back to an older one): generation then writes nothing.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import * as v from "valibot";
import { parseJsonBounded } from "../domain/schemas.ts";
import { AppError, formatIssues } from "../core/errors.ts";
import { platformDigestSchema, riskDigestSchema, type PlatformDigest, type RiskDigest } from "./digest-schema.ts";
import { isValidDate, isValidIsoWeek } from "../core/isoweek.ts";
import type { Logger } from "../core/log.ts";
import { displayPath } from "../config/index.ts";
import type { PolicyData } from "./policy-schema.ts";

export * from "./digest-schema.ts";

/** Exact texts operators grep for (runbook 3.3 and section 9 troubleshooting). */
export const NO_PLATFORM_DIGEST = "No platform digest found. Run architecture_pressure_tool.digest first.";
export const NO_RISK_DIGEST = "No risk digest found. Run risk_history_tool.digest first.";

interface KindSpec<T> {
  kind: "platform" | "risk";
  /** The digest field holding the period, also the file name: week | date. */
  field: "week" | "date";
  file: RegExp;
  valid: (period: string) => boolean;
  /** A file name that looks like a period in another spelling: warned about, not read. */
  lookalike: RegExp;
  hint: string;
  expected: string;
  notFound: string;
  producer: string;
  schema: (categories: readonly string[]) => v.GenericSchema<unknown, T>;
}

const PLATFORM: KindSpec<PlatformDigest> = {
  kind: "platform",
  field: "week",
  file: /^(\d{4}-W\d{2})\.json$/,
  valid: isValidIsoWeek,
  lookalike: /^\d{4}-w?\d{1,2}\.json$/i,
  hint: "weekly digests are named by ISO week, e.g. 2026-W47.json",
  expected: "an ISO week like 2026-W47",
  notFound: NO_PLATFORM_DIGEST,
  producer: "architecture_pressure_tool.digest",
  schema: platformDigestSchema,
};

const RISK: KindSpec<RiskDigest> = {
  kind: "risk",
  field: "date",
  file: /^(\d{4}-\d{2}-\d{2})\.json$/,
  valid: isValidDate,
  lookalike: /^\d{4}[-_]?\d{2}[-_]?\d{2}\.json$/,
  hint: "daily digests are named by date, e.g. 2026-11-23.json",
  expected: "a date like 2026-11-23",
  notFound: NO_RISK_DIGEST,
  producer: "risk_history_tool.digest",
  schema: riskDigestSchema,
};

export interface FoundDigest<T> {
  /** Absolute path of the file read. */
  file: string;
  /** The period: 2026-W47 or 2026-11-23. */
  period: string;
  digest: T;
}

export interface FindOptions {
  reportsDir: string;
  env: string;
  policy: Pick<PolicyData, "categories">;
  log?: Logger;
}

export const findPlatformDigest = (o: FindOptions & { week?: string }) => findDigest(PLATFORM, o, o.week);
export const findRiskDigest = (o: FindOptions & { date?: string }) => findDigest(RISK, o, o.date);

/** Parses and validates one platform digest's text (pure; `file` names it in errors). */
export const parsePlatformDigest = (text: string, file: string, policy: Pick<PolicyData, "categories">) =>
  validate(PLATFORM, parseJson(text, file), file, policy);
export const parseRiskDigest = (text: string, file: string, policy: Pick<PolicyData, "categories">) => validate(RISK, parseJson(text, file), file, policy);

/**
 * Every period with a digest of this env (env folder, plus shared files whose `env` is this env),
 * ascending: the lifecycle counts consecutive digests with it (streaks, auto-resolve after N).
 */
export async function listDigestPeriods(kind: "platform" | "risk", o: Pick<FindOptions, "reportsDir" | "env">): Promise<string[]> {
  const spec = kind === "platform" ? PLATFORM : RISK;
  const base = join(o.reportsDir, spec.kind);
  const periods = new Set(await listPeriods(spec, join(base, o.env)));
  for (const p of await listPeriods(spec, base)) {
    if (periods.has(p)) continue;
    const text = await readIfExists(join(base, `${p}.json`));
    try {
      if (text !== null && (JSON.parse(text) as { env?: unknown } | null)?.env === o.env) periods.add(p);
    } catch {
      // A broken shared file is reported when it is read as a digest; here it just is not counted.
    }
  }
  return [...periods].sort();
}

async function findDigest<T>(spec: KindSpec<T>, o: FindOptions, period: string | undefined): Promise<FoundDigest<T>> {
  const base = join(o.reportsDir, spec.kind);
  const envDir = join(base, o.env);
  const candidates = (p: string) => [
    { file: join(envDir, `${p}.json`), shared: false },
    { file: join(base, `${p}.json`), shared: true },
  ];

  if (period !== undefined) {
    if (!spec.valid(period)) throw new AppError("invalid_input", `${spec.field}: expected ${spec.expected}, got ${JSON.stringify(period)}`);
    const found = await tryPeriod(spec, o, period, candidates(period));
    if (found) return found;
    const looked = candidates(period).map((c) => displayPath(c.file));
    o.log?.warn(`generate: no ${spec.kind} digest`, { env: o.env, [spec.field]: period, looked });
    throw new AppError("not_found", `${spec.notFound.replace(" found.", ` found for ${o.env} ${spec.field} ${period} (looked for ${looked.join(" and ")}).`)}`);
  }

  const periods = new Set([...(await listPeriods(spec, envDir, o.log)), ...(await listPeriods(spec, base, o.log))]);
  for (const p of [...periods].sort().reverse()) {
    const found = await tryPeriod(spec, o, p, candidates(p));
    if (found) return found;
  }
  o.log?.warn(`generate: no ${spec.kind} digest`, { env: o.env, looked: [displayPath(envDir), displayPath(base)] });
  throw new AppError("not_found", spec.notFound);
}

async function tryPeriod<T>(spec: KindSpec<T>, o: FindOptions, period: string, candidates: { file: string; shared: boolean }[]) {
  for (const c of candidates) {
    const text = await readIfExists(c.file);
    if (text === null) continue;
    const raw = parseJson(text, c.file);
    const env = (raw as { env?: unknown } | null)?.env;
    // A shared file of another env is not ours; one without a readable env is broken (validate says why).
    if (c.shared && typeof env === "string" && env !== o.env) continue;
    const digest = validate(spec, raw, c.file, o.policy);
    const d = digest as { env: string } & Record<string, unknown>;
    if (d[spec.field] !== period) throw broken(spec, c.file, [`${spec.field}: the file name says ${period} but the digest says ${JSON.stringify(d[spec.field])}`]);
    if (!c.shared && d.env !== o.env) throw broken(spec, c.file, [`env: the file is in the ${o.env}/ folder but the digest says ${JSON.stringify(d.env)}`]);
    return { file: c.file, period, digest };
  }
  return null;
}

async function listPeriods(spec: KindSpec<unknown>, dir: string, log?: Logger): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw new AppError("config", `Cannot list the ${spec.kind} reports folder ${displayPath(dir)}: ${(err as Error).message}`, { cause: err });
  }
  const out: string[] = [];
  for (const name of names) {
    const m = spec.file.exec(name);
    if (m && spec.valid(m[1]!)) out.push(m[1]!);
    else if (m || spec.lookalike.test(name)) log?.warn(`generate: ignoring ${spec.kind} report ${displayPath(join(dir, name))}`, { reason: spec.hint });
  }
  return out;
}

async function readIfExists(file: string): Promise<string | null> {
  try {
    return await readFile(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return null;
    // A directory (or other non-file) where a digest belongs is a malformed digest, like bad JSON.
    if (code === "EISDIR") throw new AppError("unprocessable", `${displayPath(file)} is a directory, not a digest file; remove it and re-run the digest.`, { cause: err });
    throw new AppError("config", `Cannot read ${displayPath(file)}: ${(err as Error).message}`, { cause: err });
  }
}

function parseJson(text: string, file: string): unknown {
  const parsed = parseJsonBounded(text, displayPath(file));
  if (!parsed.ok) throw new AppError("unprocessable", parsed.error);
  return parsed.value;
}

function validate<T>(spec: KindSpec<T>, raw: unknown, file: string, policy: Pick<PolicyData, "categories">): T {
  const result = v.safeParse(spec.schema(Object.keys(policy.categories)), raw);
  if (!result.success) throw broken(spec, file, formatIssues(result.issues));
  return result.output;
}

function broken(spec: KindSpec<unknown>, file: string, problems: string[]): AppError {
  return new AppError("unprocessable", `${displayPath(file)} is not a valid ${spec.kind} digest (written by ${spec.producer}):\n  ${problems.join("\n  ")}`, {
    details: problems,
  });
}
