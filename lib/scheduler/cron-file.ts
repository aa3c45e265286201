/**
 * The physical /etc/cron.d file: rendered from the registry, parsed back for the drift check and for the
 * in-process scheduler (which mirrors exactly what cron would run).
 */
import { parseJsonBounded } from "../domain/schemas.ts";
import { AppError } from "../core/errors.ts";
import { stableJson } from "../store/logic.ts";
import { validCron, type JobSpec } from "./registry.ts";

export const CRON_USER = "backlog";
export const LOG_DIR = "/var/log/daarion";
/**
 * How a cron line starts the runner: the repository's own bun (installed by `npm ci`), relative to
 * REPO_ROOT after the `cd`, because cron's PATH has no bun unless one was installed globally.
 */
export const CRON_BUN = "node_modules/.bin/bun";
/**
 * How a suspended job's line starts: a comment to cron (so it starts nothing, mails nothing), a job to
 * parseCron, so the drift check and the in-process scheduler still see the job.
 */
export const SUSPENDED_PREFIX = "#suspended# ";

export interface CronJob {
  id: string;
  schedule: string;
  user: string;
  tool: string;
  action: string;
  params: Record<string, unknown>;
  log: string | null;
  /** Commented out with SUSPENDED_PREFIX (the registry's suspend). */
  suspended: boolean;
  /** The word that starts the runner (e.g. node_modules/.bin/bun), for the drift check. */
  bin: string;
  line: number;
}

export interface CronFile {
  env: Record<string, string>;
  jobs: CronJob[];
}

/** Single-quotes a word for /bin/sh (JSON params contain spaces and quotes). */
const shq = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

export function renderCron(jobs: JobSpec[]): string {
  const out = [
    "# GENERATED from ops/task_registry.yml by `npx bun run ops/scripts/render_cron.ts` - do not edit by hand;",
    "# `npx bun run check` fails when this file and the registry disagree.",
    "#",
    "# Install (runbook 9): sudo cp ops/cron/jobs.cron /etc/cron.d/daarion-governance",
    "#                      sudo chmod 644 /etc/cron.d/daarion-governance",
    "# then set REPO_ROOT and ROUTER_URL below, and run `npm ci` in REPO_ROOT: each job runs",
    `# $REPO_ROOT/${CRON_BUN} (bun from npm), so the host needs no global bun. The runner reads the`,
    "# scheduler's API key from SCHEDULER_API_KEY_FILE (a root/backlog-only file), so the key never sits",
    "# in this world-readable file.",
    "# Schedules are UTC: CRON_TZ works with cronie; Debian/Ubuntu cron ignores it, so run that host in UTC.",
    "SHELL=/bin/bash",
    "PATH=/usr/local/bin:/usr/bin:/bin",
    "CRON_TZ=UTC",
    "REPO_ROOT=/opt/backlog-bridge",
    "ROUTER_URL=http://localhost:8000",
    "SCHEDULER_API_KEY_FILE=/etc/backlog-bridge/scheduler_api_key",
    "",
  ];
  for (const j of jobs) {
    out.push(`# ${j.id}: ${j.description}`);
    const cmd = [
      `cd "$REPO_ROOT" && ${CRON_BUN} run ops/scripts/run_governance_job.ts`,
      `--job ${j.id} --tool ${j.tool} --action ${j.action} --params-json ${shq(JSON.stringify(j.params))}`,
      `>> ${LOG_DIR}/${j.log} 2>&1`,
    ].join(" ");
    const line = `${j.schedule} ${CRON_USER} ${cronEscape(cmd)}`;
    if (!j.suspend) out.push(line, "");
    else {
      const why = j.suspend_reason ? ` (${j.suspend_reason})` : "";
      out.push(`# SUSPENDED in ops/task_registry.yml${why}: cron does not run it. Resume: remove suspend, re-render, re-install.`, `${SUSPENDED_PREFIX}${line}`, "");
    }
  }
  return out.join("\n");
}

/** cron turns an unescaped `%` in a command into a newline (the rest becomes stdin): `50%` → `50\%`. */
export const cronEscape = (cmd: string) => cmd.replaceAll("%", "\\%");

/**
 * The command cron hands to the shell: up to the first unescaped `%`, with `\%` turned back into `%`.
 * Returns the stdin part too, so a stray `%` is reported instead of silently cutting params short.
 */
export function cronCommand(field: string): { command: string; stdin: string | null } {
  let command = "";
  for (let i = 0; i < field.length; i++) {
    const ch = field[i]!;
    if (ch === "\\" && field[i + 1] === "%") {
      command += "%";
      i++;
    } else if (ch === "%") {
      return { command, stdin: field.slice(i + 1) };
    } else {
      command += ch;
    }
  }
  return { command, stdin: null };
}

/** Splits a shell command into words, honouring '…', "…" and \ escapes (enough for what we render). */
export function shellWords(cmd: string): string[] {
  const words: string[] = [];
  let cur = "";
  let inWord = false;
  for (let i = 0; i < cmd.length; i++) {
    const ch = cmd[i]!;
    if (ch === "'") {
      const end = cmd.indexOf("'", i + 1);
      if (end < 0) throw new Error("unterminated single quote");
      cur += cmd.slice(i + 1, end);
      i = end;
      inWord = true;
    } else if (ch === '"') {
      let j = i + 1;
      for (; j < cmd.length && cmd[j] !== '"'; j++) {
        if (cmd[j] === "\\" && j + 1 < cmd.length) j++;
        cur += cmd[j];
      }
      if (j >= cmd.length) throw new Error("unterminated double quote");
      i = j;
      inWord = true;
    } else if (ch === "\\" && i + 1 < cmd.length) {
      cur += cmd[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(cur), (cur = ""), (inWord = false);
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (inWord) words.push(cur);
  return words;
}

const ENV_LINE = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/;

export function parseCron(text: string, source = "ops/cron/jobs.cron"): CronFile {
  const env: Record<string, string> = {};
  const jobs: CronJob[] = [];
  const fail = (n: number, why: string): never => {
    throw new AppError("invalid_input", `${source} line ${n}: ${why}`);
  };
  text.split("\n").forEach((raw, i) => {
    const n = i + 1;
    let line = raw.trim();
    const suspended = line.startsWith(SUSPENDED_PREFIX);
    if (suspended) line = line.slice(SUSPENDED_PREFIX.length).trim();
    else if (!line || line.startsWith("#")) return;
    const envm = ENV_LINE.exec(line);
    if (envm && !/^[\d*@]/.test(line)) {
      env[envm[1]!] = envm[2]!.replace(/^(["'])(.*)\1$/, "$2");
      return;
    }
    if (line.startsWith("@")) fail(n, "@-schedules (@daily, @reboot, …) are not supported; write the 5 cron fields");
    const parts = line.split(/\s+/);
    if (parts.length < 7) fail(n, "expected 5 schedule fields, a user and a command");
    const schedule = parts.slice(0, 5).join(" ");
    if (!validCron(schedule)) fail(n, `invalid schedule "${schedule}"`);
    const user = parts[5]!;
    const { command, stdin } = cronCommand(line.replace(/^(\S+\s+){6}/, ""));
    if (stdin !== null) fail(n, "an unescaped % ends a cron command (cron feeds the rest to stdin); write \\% for a literal percent sign");
    let words: string[];
    try {
      words = shellWords(command);
    } catch (err) {
      return fail(n, `cannot read the command: ${(err as Error).message}`);
    }
    const flag = (name: string) => {
      const k = words.indexOf(name);
      return k >= 0 && k + 1 < words.length ? words[k + 1]! : undefined;
    };
    const script = words.findIndex((w) => w.endsWith("run_governance_job.ts") || w.endsWith("run_governance_job.js"));
    if (script < 0) fail(n, "the command does not run ops/scripts/run_governance_job.ts");
    const bin = words[script - 1] === "run" ? words[script - 2] ?? "" : words[script - 1] ?? "";
    const id = flag("--job");
    const tool = flag("--tool");
    const action = flag("--action");
    if (!id || !tool || !action) fail(n, "the runner needs --job, --tool and --action");
    let params: Record<string, unknown> = {};
    const pj = flag("--params-json");
    if (pj !== undefined) {
      const parsed = parseJsonBounded(pj, "--params-json");
      if (!parsed.ok) fail(n, parsed.error);
      else params = parsed.value as Record<string, unknown>;
      if (!params || typeof params !== "object" || Array.isArray(params)) fail(n, "--params-json must be a JSON object");
    }
    const logm = />>\s*(\S+)/.exec(command);
    jobs.push({ id: id!, schedule, user, tool: tool!, action: action!, params, log: logm ? logm[1]!.split("/").pop()! : null, suspended, bin, line: n });
  });
  const seen = new Set<string>();
  for (const j of jobs) {
    if (seen.has(j.id)) fail(j.line, `job ${j.id} appears twice`);
    seen.add(j.id);
  }
  return { env, jobs };
}

/** Human-readable differences between the registry and a cron file; empty when in sync. */
export function diffCron(registry: JobSpec[], cron: CronFile, cronSource = "the cron file"): string[] {
  const problems: string[] = [];
  const byId = new Map(cron.jobs.map((j) => [j.id, j]));
  for (const r of registry) {
    const c = byId.get(r.id);
    if (!c) {
      problems.push(`${r.id}: in the registry but missing from ${cronSource}`);
      continue;
    }
    const at = `(line ${c.line})`;
    const cmp = (field: string, want: string, got: string) => {
      if (want !== got) problems.push(`${r.id}: ${field} is ${want} in the registry but ${got} in ${cronSource} ${at}`);
    };
    cmp("schedule", JSON.stringify(r.schedule), JSON.stringify(c.schedule));
    cmp("tool", r.tool, c.tool);
    cmp("action", r.action, c.action);
    cmp("params", stableJson(r.params), stableJson(c.params));
    cmp("log", r.log, String(c.log));
    cmp("suspend", String(r.suspend), String(c.suspended));
    if (c.bin !== CRON_BUN && !c.bin.endsWith(`/${CRON_BUN}`)) {
      problems.push(`${r.id}: runs the runner with "${c.bin}" ${at}; cron's PATH has no bun after npm ci, so use ${CRON_BUN} (the repository's bun)`);
    }
  }
  const ids = new Set(registry.map((r) => r.id));
  for (const c of cron.jobs) if (!ids.has(c.id)) problems.push(`${c.id}: in ${cronSource} (line ${c.line}) but not in the registry`);
  return problems;
}
