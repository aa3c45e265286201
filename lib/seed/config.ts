/**
 * The setup job's whole configuration, read once from flags and env and validated (house rule: one
 * config function). The env table is the seed's (shared/seeds "Backlog Setup Job", section 7) plus our
 * own knobs; --help and the manifest test are generated from / checked against ENV_DOCS.
 */
import process from "node:process";
import { parseCli } from "../core/cli.ts";
import { resolvePgConfig, type PgConfig } from "../pg/db.ts";
import { AppError, parseOrThrow } from "../core/errors.ts";
import { envSchemaOf, processEnv } from "../config/index.ts";
import { seedSpec } from "./cli-spec.ts";

type Env = Record<string, string | undefined>;

export { ENV_DOCS, SEED_ENV_VARS } from "./cli-spec.ts";

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
  const { values, help } = parseCli(seedSpec, argv);
  if (help) return { help: true, usage: seedSpec.usage };
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
