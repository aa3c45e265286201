/**
 * The setup job's whole configuration, read once from flags and env and validated (house rule: one
 * config function). The env table is the seed's (shared/seeds "Backlog Setup Job", section 7) plus our
 * own knobs; --help and the manifest test are generated from / checked against ENV_DOCS.
 */
import process from "node:process";
import * as v from "valibot";
import { parseCli } from "../core/cli.ts";
import { resolvePgConfig, type PgConfig } from "../pg/db.ts";
import { AppError, parseOrThrow } from "../core/errors.ts";
import { envSchemaOf, processEnv, readVar } from "../config/index.ts";

type Env = Record<string, string | undefined>;

const DEFAULT_PROJECT_ID = readVar("PROJECT_ID", {});
const DEFAULT_SPRINT_ID = readVar("SPRINT_ID", {});
const DEFAULT_TIMEOUT_MS = readVar("PROJECT_SERVICE_TIMEOUT_MS", {});
const DEFAULT_TEAM = readVar("DEFAULT_TEAM_MEMBERS", {})!;

/** Every env var the job reads, with its meaning. Order = the --help order. */
export const ENV_DOCS: Record<string, string> = {
  POSTGRES_HOST: "backlog database host (Kubernetes: backlog-db). Required unless a DSN is given.",
  POSTGRES_PORT: "backlog database port (default 5432).",
  POSTGRES_USER: "database user (Kubernetes: ConfigMap backlog-db-config).",
  POSTGRES_PASSWORD: "database password (Kubernetes: Secret backlog-db-secret). Never printed.",
  POSTGRES_DB: "database name (Kubernetes: ConfigMap backlog-db-config).",
  PROJECT_SERVICE_URL: "Project Service base URL, e.g. http://project-service.dsm.svc.cluster.local. Required.",
  PROJECT_ID: `project to seed (default ${DEFAULT_PROJECT_ID}); letters, digits, . _ - only.`,
  SPRINT_ID: `sprint written to tasks.sprint_id (default ${DEFAULT_SPRINT_ID}).`,
  PROJECT_SERVICE_TIMEOUT_MS: `deadline for the team-members request in ms (default ${DEFAULT_TIMEOUT_MS}).`,
  DEFAULT_TEAM_MEMBERS: `comma-separated fallback employee ids (default ${DEFAULT_TEAM.join(",")}).`,
  BACKLOG_PG_CONNECT_TIMEOUT: "database connect timeout in seconds (default 5).",
  BACKLOG_POSTGRES_DSN: "postgresql:// DSN; wins over POSTGRES_DSN and the POSTGRES_* parts.",
  POSTGRES_DSN: "postgresql:// DSN; wins over the POSTGRES_* parts.",
  LOG_LEVEL: "debug|info|warn|error (default info).",
  LOG_FORMAT: "json (default) | pretty.",
  SEED_FAIL_AFTER_DELETE: "TEST-ONLY: 1 = fail between the delete and the insert, to prove the rollback.",
};
export const SEED_ENV_VARS = Object.keys(ENV_DOCS);

export const spec = {
  name: "seed",
  usage: `Usage: npx bun run scripts/seed.ts [--dry-run] [--dsn DSN]

Backlog setup job: seeds 4 sample stories, 8 sample tasks and 8 story-task links for one project,
assigning tasks round-robin to the project's team from the Project Service (default list when it is
unreachable). Re-runnable: replaces the sample rows of a previous run in one transaction and never
touches other rows. Tables must exist: run migrations first (npx bun run migrate).

Options:
  --dry-run   print the plan as JSON (stories, tasks with assignees, mappings) and write nothing.
              Asks the Project Service when PROJECT_SERVICE_URL is set and checks the tables when a
              database is configured; needs neither.
  --dsn DSN   postgresql://user:pass@host:5432/db instead of the env below.
  -h, --help  this text.

Env:
${Object.entries(ENV_DOCS)
  .map(([k, d]) => `  ${k.padEnd(27)} ${d}`)
  .join("\n")}

Exit: 0 on success (also when the team fell back to the defaults), 1 on any failure (bad config,
unreachable database, missing tables, SQL error: nothing is written then).`,
  flags: {
    "dry-run": { type: "boolean" },
    dsn: { type: "string" },
  },
} as const;

export interface SeedConfig {
  dryRun: boolean;
  /** null only in --dry-run without a database. */
  pg: PgConfig | null;
  /** undefined only in --dry-run. */
  projectServiceUrl: string | undefined;
  projectId: string;
  sprintId: string;
  timeoutMs: number;
  defaultTeam: string[];
  failAfterDelete: boolean;
}

/** The job's own variables; their rules are declared once in lib/config/vars.ts. */
const EnvSchema = envSchemaOf(["PROJECT_SERVICE_URL", "PROJECT_ID", "SPRINT_ID", "PROJECT_SERVICE_TIMEOUT_MS", "DEFAULT_TEAM_MEMBERS", "SEED_FAIL_AFTER_DELETE"]);
interface SeedEnv {
  PROJECT_SERVICE_URL: string | undefined;
  PROJECT_ID: string;
  SPRINT_ID: string;
  PROJECT_SERVICE_TIMEOUT_MS: number;
  DEFAULT_TEAM_MEMBERS: string[];
  SEED_FAIL_AFTER_DELETE: "0" | "1";
}

export type LoadResult = { help: true; usage: string } | { help: false; config: SeedConfig };

export function loadSeedConfig(argv: string[] = process.argv.slice(2), rawEnv: Env = processEnv()): LoadResult {
  const { values, help } = parseCli(spec, argv);
  if (help) return { help: true, usage: spec.usage };
  // An empty value (`value: ""` in a manifest) means "not set", not "invalid".
  const env: Env = Object.fromEntries(Object.entries(rawEnv).filter(([, val]) => val !== undefined && val !== ""));
  const dryRun = Boolean(values["dry-run"]);
  const e = parseOrThrow(EnvSchema, pickKnown(env), "seed: invalid configuration") as unknown as SeedEnv;
  const pg = resolvePgConfig({ dsn: values.dsn }, env);

  if (!dryRun) {
    const missing: string[] = [];
    if (!pg) missing.push("POSTGRES_HOST (with POSTGRES_PORT, POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB) or --dsn");
    else if (!pg.dsn) for (const k of ["POSTGRES_USER", "POSTGRES_DB"] as const) if (!env[k]) missing.push(k);
    if (!e.PROJECT_SERVICE_URL) missing.push("PROJECT_SERVICE_URL (e.g. http://project-service.dsm.svc.cluster.local)");
    if (missing.length) {
      throw new AppError("config", `seed: missing configuration:\n  ${missing.map((m) => `${m}: is required`).join("\n  ")}`);
    }
  }
  return {
    help: false,
    config: {
      dryRun,
      pg,
      projectServiceUrl: e.PROJECT_SERVICE_URL,
      projectId: e.PROJECT_ID,
      sprintId: e.SPRINT_ID,
      timeoutMs: e.PROJECT_SERVICE_TIMEOUT_MS,
      defaultTeam: e.DEFAULT_TEAM_MEMBERS,
      failAfterDelete: e.SEED_FAIL_AFTER_DELETE === "1",
    },
  };
}

function pickKnown(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(EnvSchema.entries)) if (env[k] !== undefined) out[k] = env[k]!;
  return out;
}
