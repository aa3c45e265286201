/**
 * ops/task_registry.yml: the declarative list of governance jobs. Validated on load; every error names
 * the job and the field.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Cron } from "croner";
import * as v from "valibot";
import { parseEntitlement } from "../access/entitlements.ts";
import { AppError, formatIssue } from "../core/errors.ts";
import { type ParsedYaml, parseYamlText, withLine } from "../core/yaml-text.ts";
import { ENVELOPE_KEYS, envelopeKeysIn } from "./ledger.ts";
import { processEnv, readVar } from "../config/index.ts";

export const DEFAULT_REGISTRY_FILE = fileURLToPath(new URL("../../ops/task_registry.yml", import.meta.url));

/**
 * What Vixie cron / cronie accept in each of the 5 fields: numbers, `*`, ranges, steps and lists, plus
 * one month or weekday name. croner also takes `L`, `W`, `#`, `?` — cron rejects those, and a line it
 * rejects can stop the whole /etc/cron.d file from loading, so the registry refuses them.
 */
const NUMERIC_FIELD = /^(\*|\d+(-\d+)?)(\/\d+)?(,(\*|\d+(-\d+)?)(\/\d+)?)*$/;
const NAMES = [/^(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)$/i, /^(sun|mon|tue|wed|thu|fri|sat)$/i];

export function validCron(expr: string): boolean {
  const fields = expr.trim().split(/\s+/);
  if (fields.length !== 5) return false;
  if (!fields.every((f, i) => NUMERIC_FIELD.test(f) || (i >= 3 && NAMES[i - 3]!.test(f)))) return false;
  try {
    new Cron(expr, { timezone: "UTC", paused: true }).stop();
    return true;
  } catch {
    return false;
  }
}

/** "none" → 0; "90m" → 5400000; "6h" → 21600000. */
export function parseWindow(raw: string): number {
  if (raw === "none") return 0;
  const m = /^(\d+)(m|h)$/.exec(raw);
  if (!m) throw new AppError("invalid_input", `catch_up: expected "none" or a duration like "30m" or "6h", got ${JSON.stringify(raw)}`);
  return Number(m[1]) * (m[2] === "h" ? 3_600_000 : 60_000);
}

const JobSchema = v.pipe(v.strictObject({
  schedule: v.pipe(v.string(), v.check(validCron, "must be a 5-field cron expression (minute hour day-of-month month day-of-week) that cron and croner both read: numbers, *, ranges, steps, lists, or one month/weekday name")),
  tool: v.pipe(v.string(), v.regex(/^[a-z][a-z0-9_]*$/, "must be a tool name like backlog_tool")),
  action: v.pipe(v.string(), v.regex(/^[a-z][a-z0-9_]*$/, "must be an action name like cleanup")),
  params: v.optional(
    v.pipe(
      v.record(v.string(), v.unknown()),
      v.check((p) => envelopeKeysIn(p).length === 0, `must not use ${ENVELOPE_KEYS.join(", ")} (they are the call's own fields, not action params)`),
    ),
    {},
  ),
  entitlement: v.pipe(v.string(), v.check((e) => parseEntitlement(e) !== null, "must look like tools.<domain>.<read|write|admin>")),
  dry_run: v.optional(v.boolean(), false),
  log: v.pipe(v.string(), v.regex(/^[a-z0-9_.-]+\.log$/, "must be a file name like backlog_generate.log")),
  catch_up: v.optional(v.pipe(v.string(), v.regex(/^(none|\d+[mh])$/, 'must be "none" or a duration like "30m" or "6h"')), "none"),
  description: v.pipe(v.string(), v.minLength(1, "must say what the job does")),
  // Stops every runner of the job (docs/scheduler.md, Suspending a job); resuming = removing it.
  suspend: v.optional(v.boolean("must be true or false (true stops every scheduled run of the job)"), false),
  suspend_reason: v.optional(v.pipe(v.string(), v.minLength(1, "must say why the job is suspended"), v.maxLength(200, "must be at most 200 characters"), v.regex(/^[^\n%]*$/, "must be one line without % (it is written into the cron file)"))),
}), v.forward(v.check((j) => j.suspend || j.suspend_reason === undefined, "is only for a suspended job (suspend: true); remove it when resuming"), ["suspend_reason"]));

const RegistrySchema = v.strictObject({
  timezone: v.optional(v.literal("UTC", 'must be "UTC" (every governance job is scheduled in UTC)'), "UTC"),
  jobs: v.pipe(
    v.record(v.pipe(v.string(), v.regex(/^[a-z][a-z0-9_]{0,63}$/, "job ids are lowercase words joined by _")), JobSchema),
    v.check((jobs) => Object.keys(jobs).length > 0, "must list at least one job"),
  ),
});

export type JobSpec = v.InferOutput<typeof JobSchema> & { id: string; catchUpMs: number };

export function parseRegistry(raw: unknown, source = "ops/task_registry.yml", yaml?: Pick<ParsedYaml, "doc" | "lines">): JobSpec[] {
  const parsed = v.safeParse(RegistrySchema, raw);
  if (!parsed.success) {
    const problems = parsed.issues.map((i) => withLine(formatIssue(i), v.getDotPath(i), yaml));
    throw new AppError("invalid_input", `${source} is invalid:\n  ${problems.join("\n  ")}`, { details: problems });
  }
  const reg = parsed.output;
  return Object.entries(reg.jobs).map(([id, job]) => ({ ...job, id, catchUpMs: parseWindow(job.catch_up) }));
}

/** The suspended jobs and their reasons (null: none given); what every runner of a job asks. */
export function suspendedJobs(jobs: readonly Pick<JobSpec, "id" | "suspend" | "suspend_reason">[]): Map<string, string | null> {
  return new Map(jobs.filter((j) => j.suspend).map((j) => [j.id, j.suspend_reason ?? null]));
}

/** Which file: BACKLOG_TASK_REGISTRY_FILE of `env` (relative: from the repository root) → ops/task_registry.yml. */
export function registryFile(env = processEnv()): string {
  return readVar("BACKLOG_TASK_REGISTRY_FILE", env) ?? DEFAULT_REGISTRY_FILE;
}

/** Which file: explicit path → registryFile(env). */
export function loadRegistry(file?: string, env = processEnv()): JobSpec[] {
  const path = file ?? registryFile(env);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new AppError("config", `Cannot read the task registry ${path}: ${(err as Error).message}`, { cause: err });
  }
  const yaml = parseYamlText(text, path);
  return parseRegistry(yaml.value, path, yaml);
}
