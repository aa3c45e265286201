/**
 * Turning signal input (one record, or a batch from a tool call or a file) into stored records.
 * A batch is validated entirely before anything is written; every problem names its place
 * (`records.3.signals.slo_burn_rate: …` in a call, `line 7: signals.slo_burn_rate: …` in a JSONL file,
 * `[3] signals…` in a JSON array file).
 */
import { randomUUID } from "node:crypto";
import * as v from "valibot";
import { AppError, formatIssues } from "../core/errors.ts";
import { MAX_FUTURE_SKEW_MS, SignalInputSchema, type SignalInput, type SignalRecord } from "./signals.ts";

/** Largest batch per call/file: one statement / one append; split bigger imports. */
export const MAX_BATCH = 10_000;

/**
 * Problems outside the schema: an env the policy does not allow, a time in the future. Works on the raw
 * entry, so they are reported together with schema problems; a field the schema already faulted is skipped.
 */
export function checkRecord(raw: unknown, envs: readonly string[], now: Date, faulted: ReadonlySet<string> = new Set()): string[] {
  const { env, ts } = (raw && typeof raw === "object" ? raw : {}) as { env?: unknown; ts?: unknown };
  const problems: string[] = [];
  if (!faulted.has("env") && typeof env === "string" && !envs.includes(env)) {
    problems.push(`env: must be one of ${envs.join("|")} (config/backlog_policy.yml envs), got ${JSON.stringify(env)}`);
  }
  if (!faulted.has("ts") && typeof ts === "string" && Date.parse(ts) > now.getTime() + MAX_FUTURE_SKEW_MS) {
    problems.push(`ts: must not be in the future (now is ${now.toISOString()}), got ${JSON.stringify(ts)}`);
  }
  return problems;
}

export function toRecord(input: SignalInput, actor: string, now: Date): SignalRecord {
  const ts = input.ts === undefined ? now.toISOString() : new Date(input.ts).toISOString();
  return { id: `rs_${randomUUID()}`, env: input.env, service: input.service, ts, signals: { ...input.signals }, source: input.source, actor, recorded_at: now.toISOString() };
}

/**
 * Validates every entry (`label(i)` names entry i in messages) and returns the records, or throws ONE
 * error `<what>; nothing was recorded:` listing every problem (at most 50 lines, then a count).
 */
export function parseBatch(entries: readonly unknown[], label: (i: number) => string, envs: readonly string[], actor: string, now: Date, what: string): SignalRecord[] {
  if (entries.length === 0) throw new AppError("invalid_input", `${what}: no signal records (expected at least one).`);
  if (entries.length > MAX_BATCH) throw new AppError("invalid_input", `${what}: ${entries.length} records; at most ${MAX_BATCH} per batch — split the file.`);
  const problems: string[] = [];
  const records: SignalRecord[] = [];
  entries.forEach((entry, i) => {
    const r = v.safeParse(SignalInputSchema, entry);
    const faulted = new Set(r.success ? [] : r.issues.map((issue) => String(issue.path?.[0]?.key ?? "")));
    const issues = [...(r.success ? [] : formatIssues(r.issues)), ...checkRecord(entry, envs, now, faulted)];
    if (issues.length) problems.push(...issues.map((p) => `${label(i)}${p}`));
    else if (r.success) records.push(toRecord(r.output, actor, now));
  });
  if (problems.length) {
    const shown = problems.slice(0, 50);
    if (problems.length > shown.length) shown.push(`… and ${problems.length - shown.length} more problems`);
    throw new AppError("invalid_input", `${what}; nothing was recorded:\n  ${shown.join("\n  ")}`, { details: shown });
  }
  return records;
}

/**
 * A batch file's text: a JSON array of records, a JSON object {"description"?: "...", "records": [...]}
 * (how the shipped sample marks itself as sample data), or JSONL (one record per line; blank lines
 * skipped). Entry labels name the place: `[3] ` / `records.3.` / `line 7: `.
 */
export function parseBatchText(raw: string, file: string): { entries: unknown[]; label: (i: number) => string } {
  // A UTF-8 byte order mark (Windows exports) is no JSON; JSON.parse refuses it where trimStart() skips it.
  const text = raw.replace(/^\uFEFF/, "");
  const trimmed = text.trimStart();
  if (trimmed.startsWith("[")) {
    return { entries: parseJson(text, file, "a JSON array") as unknown[], label: (i) => `[${i}] ` };
  }
  if (trimmed.startsWith("{")) {
    // One object over several lines is the wrapper form; an object per line is JSONL.
    const firstLine = trimmed.split("\n", 1)[0]!.trim();
    if (!isJson(firstLine)) {
      const doc = parseJson(text, file, 'a JSON object like {"records": [...]}') as Record<string, unknown>;
      const extra = Object.keys(doc).filter((k) => k !== "records" && k !== "description");
      if (!Array.isArray(doc.records) || extra.length) {
        throw new AppError("invalid_input", `${file}: a JSON object must have "records" (an array of signal records) and optionally "description"` + (extra.length ? `; unknown key(s) ${extra.join(", ")}` : ""));
      }
      return { entries: doc.records, label: (i) => `records.${i}.` };
    }
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
  if (problems.length) throw new AppError("invalid_input", `${file} is not valid JSONL; nothing was recorded:\n  ${problems.slice(0, 50).join("\n  ")}`, { details: problems });
  return { entries, label: (i) => `line ${lines[i]}: ` };
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function parseJson(text: string, file: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new AppError("invalid_input", `${file} is not ${what}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Moves every entry's `ts` by the same amount so the newest one falls in the current hour (its minutes
 * kept): a fixed sample then reads as "the past week" whenever it is loaded. Entries without ts or
 * with an unreadable one are left for validation to report.
 */
export function shiftToNow(entries: readonly unknown[], now: Date): unknown[] {
  const times = entries.map((e) => Date.parse(String((e as { ts?: unknown })?.ts ?? ""))).filter(Number.isFinite);
  if (!times.length) return [...entries];
  const newest = Math.max(...times);
  const target = Date.parse(now.toISOString().slice(0, 13) + ":00:00Z") + (newest % 3_600_000);
  const by = target > now.getTime() ? target - 3_600_000 - newest : target - newest;
  return entries.map((e) => {
    const ts = Date.parse(String((e as { ts?: unknown })?.ts ?? ""));
    return Number.isFinite(ts) ? { ...(e as object), ts: new Date(ts + by).toISOString() } : e;
  });
}
