/**
 * Every environment variable backlog-bridge reads, declared once: name, default, parser (valibot, from
 * the raw string), base directory for paths, description. lib/config/index.ts loads them from an
 * injected env; README's table and the deployment tests are derived from this list.
 */
import * as v from "valibot";
import { dsnPasswordProblem, redactDsn, redactText } from "../core/redact.ts";

export type Group = "store" | "postgres" | "files" | "server" | "ui" | "keys" | "runner" | "logging" | "seed" | "tests";

export interface VarSpec {
  name: string;
  group: Group;
  /** The default as a reader sees it (a path is relative to the repository root). undefined = none. */
  default?: string;
  /** Parses the raw string (never empty: unset and "" both mean "use the default"). */
  schema: v.GenericSchema<string, unknown>;
  /** Paths: relative values are taken from the repository root, not the current directory. */
  path?: "file" | "dir";
  /** Secrets are never printed, not even in an error about their own value. */
  secret?: boolean;
  description: string;
}

// Values are echoed redacted: a URL or DSN typed with credentials never shows them.
const got = (input: unknown) => `got ${JSON.stringify(redactText(String(input)))}`;
const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return (u.protocol === "http:" || u.protocol === "https:") && u.hostname !== "";
  } catch {
    return false;
  }
}
const oneOf = <const T extends readonly string[]>(values: T) =>
  v.pipe(
    v.string(),
    v.transform((s) => s.trim().toLowerCase()),
    v.picklist(values, (i) => `must be one of ${values.join("|")}, ${got(i.input)}`),
  );
const numberOf = (ok: (n: number) => boolean, message: (input: string) => string) =>
  v.pipe(
    v.string(),
    v.check((s) => ok(Number(s)), (i) => message(i.input)),
    v.transform(Number),
  );
const positive = (unit: string, max = Number.MAX_SAFE_INTEGER) =>
  numberOf(
    (n) => Number.isFinite(n) && n > 0 && n <= max,
    (input) => `must be a positive number of ${unit}${max < Number.MAX_SAFE_INTEGER ? ` (at most ${max})` : ""}, ${got(input)}`,
  );
const port = (min: number) =>
  numberOf((n) => Number.isInteger(n) && n >= min && n <= 65535, (input) => `must be a port number ${min}-65535${min === 0 ? " (0 = any free port)" : ""}, ${got(input)}`);
const bool = v.pipe(
  v.string(),
  v.check((s) => /^(1|true|yes|on|0|false|no|off)$/i.test(s), (i) => `must be true or false, ${got(i.input)}`),
  v.transform((s) => /^(1|true|yes|on)$/i.test(s)),
);
const text = v.string();
// A DSN is shown redacted (never its password), with an example and the reserved-character rule.
const dsn = v.pipe(
  v.string(),
  v.check(
    (s) => /^postgres(ql)?:\/\//.test(s),
    (i) =>
      `must be a postgres:// or postgresql:// URL, got "${redactDsn(String(i.input)).slice(0, 80)}". ` +
      `Example: postgresql://user:pass@host:5432/daarion (URL-encode reserved characters in the password: @ → %40, : → %3A, / → %2F)`,
  ),
  v.check(
    (s) => !dsnPasswordProblem(s),
    (i) => `is ambiguous ("${redactDsn(String(i.input)).slice(0, 80)}"): ${dsnPasswordProblem(String(i.input))}`,
  ),
  // The driver reads it with new URL(): what fails there would surface as a bare "Invalid URL".
  v.check(
    (s) => URL.canParse(s),
    (i) =>
      `is not a valid URL ("${redactDsn(String(i.input)).slice(0, 80)}"): it needs a host and, if given, a numeric port, e.g. postgresql://user:pass@host:5432/daarion ` +
      `(an IPv6 host in brackets: @[::1]:5432; a Unix socket: leave the DSN unset and set POSTGRES_HOST to the socket directory)`,
  ),
);
const url = v.pipe(v.string(), v.check((s) => URL.canParse(s) && /^https?:/.test(s), (i) => `must be a URL like http://localhost:8000, ${got(i.input)}`));

// Keeps each variable's name and schema type, so readVar("PORT") is a number without a cast.
const spec = <const N extends string, S extends v.GenericSchema<string, unknown>>(name: N, group: Group, s: Omit<VarSpec, "name" | "group" | "schema"> & { schema: S }) => ({ name, group, ...s });

export const VARS = [
  spec("BACKLOG_BACKEND", "store", { default: "auto", schema: oneOf(["auto", "postgres", "jsonl", "memory"] as const), description: "`auto` (Postgres, falling back to JSONL), `postgres`, `jsonl`, `memory` (tests)" }),
  spec("BACKLOG_POSTGRES_DSN", "postgres", { schema: dsn, secret: true, description: "Postgres DSN, e.g. `postgresql://user:pass@host:5432/daarion` (first choice)" }),
  spec("POSTGRES_DSN", "postgres", { schema: dsn, secret: true, description: "used when `BACKLOG_POSTGRES_DSN` is unset" }),
  spec("POSTGRES_HOST", "postgres", { schema: text, description: "connection part, used when neither DSN is set (the Kubernetes Jobs' way)" }),
  spec("POSTGRES_PORT", "postgres", { default: "5432", schema: port(1), description: "connection part" }),
  spec("POSTGRES_USER", "postgres", { schema: text, description: "connection part" }),
  spec("POSTGRES_PASSWORD", "postgres", { schema: text, secret: true, description: "connection part" }),
  spec("POSTGRES_DB", "postgres", { schema: text, description: "connection part" }),
  spec("BACKLOG_PG_CONNECT_TIMEOUT", "postgres", { default: "5", schema: positive("seconds"), description: "seconds before Postgres counts as unreachable" }),
  spec("BACKLOG_PG_RETRY_SECONDS", "store", { default: "300", schema: numberOf((n) => Number.isFinite(n) && n > 0 && n <= 86_400, (input) => `must be a number of seconds between reconnect attempts (more than 0, at most 86400), ${got(input)}`), description: "auto backend: how often to retry Postgres while on the JSONL fallback" }),
  spec("BACKLOG_JSONL_DIR", "store", { default: "ops/backlog", schema: text, path: "dir", description: "JSONL files (`items.jsonl`, `events.jsonl`, risk and scheduler files)" }),
  spec("BACKLOG_POLICY_FILE", "files", { default: "config/backlog_policy.yml", schema: text, path: "file", description: "backlog policy" }),
  spec("BACKLOG_RISK_POLICY_FILE", "files", { default: "config/risk_policy.yml", schema: text, path: "file", description: "risk scoring policy" }),
  spec("BACKLOG_ACCESS_FILE", "files", { default: "config/access.yml", schema: text, path: "file", description: "HTTP agents and entitlements" }),
  spec("BACKLOG_REPORTS_DIR", "files", { default: "ops/reports", schema: text, path: "dir", description: "risk and platform digests" }),
  spec("BACKLOG_TASK_REGISTRY_FILE", "files", { default: "ops/task_registry.yml", schema: text, path: "file", description: "the job registry (catch-up windows, drift check)" }),
  spec("SCHEDULER_CRON_FILE", "files", { default: "ops/cron/jobs.cron", schema: text, path: "file", description: "the cron file the in-process scheduler mirrors" }),
  spec("PORT", "server", { default: "8000", schema: port(0), description: "server listen port" }),
  spec("HOST", "server", { default: "127.0.0.1", schema: text, description: "server listen address" }),
  spec("BACKLOG_MAX_BODY_KB", "server", { default: "256", schema: positive("KiB"), description: "HTTP request body limit (413 above)" }),
  spec("SCHEDULER_ENABLED", "server", { default: "false", schema: bool, description: "in-process scheduler in `server.ts`" }),
  spec("BACKLOG_SESSION_SECRET", "ui", { schema: v.pipe(v.string(), v.minLength(32, (i) => `must be at least 32 characters (e.g. openssl rand -hex 32); it has ${i.input.length}`)), secret: true, description: "signs browser sessions and CSRF tokens of `/ui`; ≥ 32 characters; unset: random per process, with a warning ([docs/dashboard.md](docs/dashboard.md))" }),
  spec("BACKLOG_SESSION_HOURS", "ui", { default: "8", schema: positive("hours", 168), description: "browser session lifetime (at most 168)" }),
  spec("BACKLOG_TRUST_PROXY", "ui", { default: "false", schema: bool, description: "believe `X-Forwarded-Proto`/`-Host` from a reverse proxy (Secure cookies behind TLS termination)" }),
  spec("BACKLOG_PROXY_IDENTITY_HEADER", "ui", { schema: v.pipe(v.string(), v.regex(/^[A-Za-z0-9-]+$/, "must be a header name like X-Forwarded-Email")), description: "e.g. `X-Forwarded-Email`: take the person from a trusted proxy, mapped by `people:` in `config/access.yml` (read the risk first)" }),
  spec("SCHEDULER_API_KEY", "keys", { schema: text, secret: true, description: "API key of agent `scheduler` in `config/access.yml` (also the runner's key)" }),
  spec("BACKLOG_ADMIN_API_KEY", "keys", { schema: text, secret: true, description: "API key of agent `admin`" }),
  spec("BACKLOG_WRITER_API_KEY", "keys", { schema: text, secret: true, description: "API key of agent `writer`" }),
  spec("BACKLOG_READER_API_KEY", "keys", { schema: text, secret: true, description: "API key of agent `reader`" }),
  spec("BACKLOG_ALERTMANAGER_API_KEY", "keys", { schema: text, secret: true, description: "API key of agent `alertmanager` (its webhook receiver posts alerts with it; [docs/alerting.md](docs/alerting.md#alertmanager-to-backlog))" }),
  spec("ROUTER_URL", "runner", { default: "http://localhost:8000", schema: url, description: "where `ops/scripts/run_governance_job.ts` posts" }),
  spec("SCHEDULER_API_KEY_FILE", "runner", { schema: text, description: "runner: read the scheduler key from this file (what the cron file uses)" }),
  spec("RUNNER_TIMEOUT_SECONDS", "runner", { default: "300", schema: positive("seconds"), description: "runner: how long to wait for the router" }),
  spec("RUNNER_CLAIM_RETRY_SECONDS", "runner", { default: "120", schema: numberOf((n) => Number.isFinite(n) && n >= 0 && n <= 540, (input) => `must be a number of seconds from 0 (do not ask again) to 540 (within the 10-minute late tolerance), ${got(input)}`), description: "runner `--job`: how long to keep asking again, with the same claim, after the server could not claim the minute (a 503 with `claim_failed`)" }),
  spec("LOG_LEVEL", "logging", { default: "info", schema: oneOf(["debug", "info", "warn", "error"] as const), description: "`debug`, `info`, `warn`, `error`" }),
  spec("LOG_FORMAT", "logging", { default: "json", schema: oneOf(["json", "pretty"] as const), description: "`json` (one object per line: `level`, `event`, `ts`, fields) or `pretty`" }),
  spec("PROJECT_SERVICE_URL", "seed", { schema: v.pipe(v.string(), v.check(isHttpUrl, (i) => `must be an http:// or https:// URL such as http://project-service.dsm.svc.cluster.local, ${got(i.input)}`)), description: "setup job: Project Service base URL ([docs/setup-job.md](docs/setup-job.md))" }),
  spec("PROJECT_ID", "seed", { default: "TEST-001", schema: v.pipe(v.string(), v.regex(ID, (i) => `must be 1-64 letters, digits, '.', '_' or '-' (e.g. TEST-001), ${got(i.input)}`)), description: "setup job: project to seed" }),
  spec("SPRINT_ID", "seed", { default: "SPRINT-001", schema: v.pipe(v.string(), v.regex(ID, (i) => `must be 1-64 letters, digits, '.', '_' or '-' (e.g. SPRINT-001), ${got(i.input)}`)), description: "setup job: sprint written to tasks.sprint_id" }),
  spec("PROJECT_SERVICE_TIMEOUT_MS", "seed", {
    default: "5000",
    schema: v.pipe(
      v.string(),
      v.regex(/^\d+$/, (i) => `must be a whole number of milliseconds between 1 and 600000 (e.g. 5000), ${got(i.input)}`),
      v.transform(Number),
      v.minValue(1, (i) => `must be between 1 and 600000 ms, ${got(i.input)}`),
      v.maxValue(600_000, (i) => `must be between 1 and 600000 ms, ${got(i.input)}`),
    ),
    description: "setup job: deadline of the team-members request",
  }),
  spec("DEFAULT_TEAM_MEMBERS", "seed", {
    default: "EMP-001,EMP-002,EMP-003,EMP-004",
    schema: v.pipe(
      v.string(),
      v.transform((s) => [...new Set(s.split(",").map((x) => x.trim()).filter(Boolean))]),
      v.minLength(1, () => "must list at least one employee id, comma-separated (e.g. EMP-001,EMP-002)"),
      v.check((ids) => ids.every((id) => id.length <= 200), () => "each employee id must be at most 200 characters"),
    ),
    description: "setup job: comma-separated fallback employee ids",
  }),
  spec("SEED_FAIL_AFTER_DELETE", "seed", { default: "0", schema: v.picklist(["0", "1"], (i) => `must be 1 or 0 (test-only switch), ${got(i.input)}`), description: "setup job, TEST-ONLY: 1 = fail between the delete and the insert, to prove the rollback" }),
  spec("TEST_POSTGRES_DSN", "tests", { schema: dsn, secret: true, description: "tests: use this server instead of a throwaway cluster (role needs CREATEDB)" }),
  spec("PG_BIN", "tests", { schema: text, description: "tests: folder holding initdb/pg_ctl" }),
  spec("CHROMIUM_PATH", "tests", { default: "/usr/bin/chromium", schema: text, description: "tests: the Chromium binary" }),
  spec("DENO_PATH", "tests", { default: "node_modules/.bin/deno", schema: text, description: "tests: the Deno 2 binary" }),
  spec("BENCH_POSTGRES_DSN", "tests", { schema: dsn, secret: true, description: "benchmarks: use an existing server" }),
] as const satisfies readonly VarSpec[];

export type VarName = (typeof VARS)[number]["name"];
/** The parsed value of a variable (paths: the resolved string). */
export type VarValue<N extends VarName> = v.InferOutput<Extract<(typeof VARS)[number], { name: N }>["schema"]>;

/**
 * What each entry point reads: groups and single names. The deployment tests check every variable a
 * Kubernetes container, the systemd unit or its env file sets against this (and the access file's
 * key_env names, which are data).
 */
export const PROGRAMS: Record<string, readonly string[]> = {
  "server.ts": ["store", "postgres", "files", "server", "ui", "keys", "logging"],
  "scripts/migrate.ts": ["postgres", "logging"],
  "scripts/seed.ts": ["postgres", "seed", "logging"],
  "ops/scripts/run_governance_job.ts": ["runner", "logging", "SCHEDULER_API_KEY", "BACKLOG_TASK_REGISTRY_FILE"],
};

/** The variable names a program reads, from PROGRAMS. */
export function namesReadBy(program: string): Set<string> {
  const what = PROGRAMS[program];
  if (!what) throw new Error(`${program} is not in PROGRAMS (lib/config/vars.ts)`);
  return new Set(VARS.filter((s) => what.includes(s.group) || what.includes(s.name)).map((s) => s.name));
}
