/**
 * Report files (risk and platform digests): where they go and how they are written.
 *
 * Paths are built ONLY from a validated env name and a validated period, under the reports dir
 * (BACKLOG_REPORTS_DIR, default ops/reports — the ToolContext's paths.reportsDir):
 *   <reports>/platform/2026-W47.json   the PRIMARY env (first of backlog_policy.yml `envs`, prod by default):
 *   <reports>/risk/2026-11-23.json     the runbook's paths
 *   <reports>/platform/<env>/…         every other env, so envs never overwrite each other
 *   <reports>/risk/<env>/…
 * lib/generation/digest.ts reads exactly these places (env folder first, then the shared file with a matching env).
 *
 * Writes are atomic per file: temp file in the same directory, fsync, rename over, fsync the directory,
 * so a reader sees the old or the new report, never half of one. The .md goes first and the .json (the
 * one generation reads) last: a .json on disk always has its readable twin.
 */
import { mkdir } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import * as v from "valibot";
import { AppError, describeError, formatIssues } from "../core/errors.ts";
import { isValidDate, isValidIsoWeek } from "../core/isoweek.ts";
import { replaceFile } from "../fs/atomic-write.ts";
import { EnvName } from "../store/types.ts";

export type ReportKind = "risk" | "platform";

export interface ReportPaths {
  json: string;
  md: string;
}

const PERIOD: Record<ReportKind, { valid: (p: string) => boolean; example: string }> = {
  risk: { valid: isValidDate, example: "a calendar date YYYY-MM-DD" },
  platform: { valid: isValidIsoWeek, example: "an ISO week like 2026-W47" },
};

/** Where the `kind` report of `env` for `period` lives. Throws on anything that is not a plain name. */
export function reportPaths(reportsDir: string, kind: ReportKind, env: string, period: string, primaryEnv: string): ReportPaths {
  if (!v.is(EnvName, env)) throw new AppError("invalid_input", `env: must be a lowercase name like prod, staging or dev (a-z, 0-9, - and _), got ${JSON.stringify(env)}`);
  if (!PERIOD[kind].valid(period)) throw new AppError("invalid_input", `${kind} report period: expected ${PERIOD[kind].example}, got ${JSON.stringify(period)}`);
  const root = resolve(reportsDir);
  const dir = env === primaryEnv ? join(root, kind) : join(root, kind, env);
  const json = join(dir, `${period}.json`);
  // Belt and braces: the validated parts cannot climb out, and this proves it for every call.
  const rel = relative(root, json);
  if (rel.startsWith("..") || rel.includes(`..${sep}`)) throw new AppError("internal", `report path escaped the reports dir: ${json}`);
  return { json, md: join(dir, `${period}.md`) };
}

/** Writes `content` to `path` atomically (see the header). */
export async function writeFileAtomic(path: string, content: string): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true });
    await replaceFile(path, [content]);
  } catch (err) {
    throw new AppError("unavailable", `Cannot write the report ${path}: ${describeError(err)}. Check that the reports directory (BACKLOG_REPORTS_DIR) is writable.`, { cause: err });
  }
}

/** The report pair: .md first, .json last (see the header). */
export async function writeReport(paths: ReportPaths, json: unknown, markdown: string): Promise<void> {
  await writeFileAtomic(paths.md, markdown);
  await writeFileAtomic(paths.json, JSON.stringify(json, null, 2) + "\n");
}

/** Validates `digest` against the generation's schema before anything is written. */
export function checkDigest<S extends v.GenericSchema>(schema: S, digest: unknown, what: string): v.InferOutput<S> {
  const result = v.safeParse(schema, digest);
  if (result.success) return result.output;
  throw new AppError("internal", `${what} does not match the schema generation reads (lib/generation/digest-schema.ts); nothing was written:\n  ${formatIssues(result.issues).join("\n  ")}`);
}
