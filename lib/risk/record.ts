/**
 * Turning signal input (one record, or a batch from a tool call or a file) into stored records.
 * A batch is validated entirely before anything is written; every problem names its place
 * (`records.3.signals.slo_burn_rate: …` in a call, `line 7: signals.slo_burn_rate: …` in a JSONL file,
 * `[3] signals…` in a JSON array file).
 */
import { randomUUID } from "node:crypto";
import * as v from "valibot";
import { AppError, formatIssues } from "../errors.ts";
import { MAX_FUTURE_SKEW_MS, SignalInputSchema, type SignalInput, type SignalRecord } from "./signals.ts";

/** Largest batch per call/file: one statement / one append; split bigger imports. */
export const MAX_BATCH = 10_000;

/** Problems outside the schema: an env the policy does not allow, a time in the future. */
export function checkRecord(input: SignalInput, envs: readonly string[], now: Date): string[] {
  const problems: string[] = [];
  if (!envs.includes(input.env)) problems.push(`env: must be one of ${envs.join("|")} (config/backlog_policy.yml envs), got ${JSON.stringify(input.env)}`);
  if (input.ts !== undefined && Date.parse(input.ts) > now.getTime() + MAX_FUTURE_SKEW_MS) {
    problems.push(`ts: must not be in the future (now is ${now.toISOString()}), got ${JSON.stringify(input.ts)}`);
  }
  return problems;
}

export function toRecord(input: SignalInput, actor: string, now: Date): SignalRecord {
  const ts = input.ts === undefined ? now.toISOString() : new Date(input.ts).toISOString();
  return { id: `rs_${randomUUID()}`, env: input.env, service: input.service, ts, signals: { ...input.signals }, source: input.source, actor, recorded_at: now.toISOString() };
}

/**
 * Validates every entry (`label(i)` names entry i in messages) and returns the records, or throws ONE
 * error listing every problem (at most 50 lines, then a count).
 */
export function parseBatch(entries: readonly unknown[], label: (i: number) => string, envs: readonly string[], actor: string, now: Date, what: string): SignalRecord[] {
  if (entries.length === 0) throw new AppError("invalid_input", `${what}: no signal records (expected at least one).`);
  if (entries.length > MAX_BATCH) throw new AppError("invalid_input", `${what}: ${entries.length} records; at most ${MAX_BATCH} per batch — split the file.`);
  const problems: string[] = [];
  const records: SignalRecord[] = [];
  entries.forEach((entry, i) => {
    const r = v.safeParse(SignalInputSchema, entry);
    const issues = r.success ? checkRecord(r.output, envs, now) : formatIssues(r.issues);
    if (issues.length) problems.push(...issues.map((p) => `${label(i)}${p}`));
    else if (r.success) records.push(toRecord(r.output, actor, now));
  });
  if (problems.length) {
    const shown = problems.slice(0, 50);
    if (problems.length > shown.length) shown.push(`… and ${problems.length - shown.length} more problems`);
    throw new AppError("invalid_input", `${what} is invalid; nothing was recorded:\n  ${shown.join("\n  ")}`, { details: shown });
  }
  return records;
}

/**
 * A batch file's text: a JSON array of records, or JSONL (one record per line; blank lines skipped).
 * Entry labels are `[i] ` for an array and `line N: ` for JSONL.
 */
export function parseBatchText(text: string, file: string): { entries: unknown[]; label: (i: number) => string } {
  const trimmed = text.trimStart();
  if (trimmed.startsWith("[")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new AppError("invalid_input", `${file} starts with "[" but is not a valid JSON array: ${(err as Error).message}`, { cause: err });
    }
    return { entries: parsed as unknown[], label: (i) => `[${i}] ` };
  }
  const entries: unknown[] = [];
  const lines: number[] = [];
  const problems: string[] = [];
  text.split("\n").forEach((line, i) => {
    if (!line.trim()) return;
    try {
      entries.push(JSON.parse(line));
      lines.push(i + 1);
    } catch (err) {
      problems.push(`line ${i + 1}: not valid JSON (${(err as Error).message})`);
    }
  });
  if (problems.length) throw new AppError("invalid_input", `${file} is invalid; nothing was recorded:\n  ${problems.slice(0, 50).join("\n  ")}`, { details: problems });
  return { entries, label: (i) => `line ${lines[i]}: ` };
}
