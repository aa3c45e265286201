/**
 * The setup job's flags, usage and env table, with no imports: `scripts/seed.ts --help` prints them
 * before the config, valibot or the Postgres driver load (issue 17 item 4, tests/scripts/startup.test.ts).
 * The defaults written here are lib/config/vars.ts's, checked equal by tests/seed/seed-config.test.ts.
 */

/** Every env var the job reads, with its meaning. Order = the --help order. */
export const ENV_DOCS: Record<string, string> = {
  POSTGRES_HOST: "backlog database host (Kubernetes: backlog-db). Required unless a DSN is given.",
  POSTGRES_PORT: "backlog database port (default 5432).",
  POSTGRES_USER: "database user (Kubernetes: ConfigMap backlog-db-config).",
  POSTGRES_PASSWORD: "database password (Kubernetes: Secret backlog-db-secret). Never printed.",
  POSTGRES_DB: "database name (Kubernetes: ConfigMap backlog-db-config).",
  PROJECT_SERVICE_URL: "Project Service base URL, e.g. http://project-service.dsm.svc.cluster.local. Required.",
  PROJECT_ID: "project to seed (default TEST-001); letters, digits, . _ - only.",
  SPRINT_ID: "sprint written to tasks.sprint_id (default SPRINT-001).",
  PROJECT_SERVICE_TIMEOUT_MS: "deadline for the team-members request in ms (default 5000).",
  DEFAULT_TEAM_MEMBERS: "comma-separated fallback employee ids (default EMP-001,EMP-002,EMP-003,EMP-004).",
  BACKLOG_PG_CONNECT_TIMEOUT: "database connect timeout in seconds (default 5).",
  BACKLOG_POSTGRES_DSN: "postgresql:// DSN; wins over POSTGRES_DSN and the POSTGRES_* parts.",
  POSTGRES_DSN: "postgresql:// DSN; wins over the POSTGRES_* parts.",
  LOG_LEVEL: "debug|info|warn|error (default info).",
  LOG_FORMAT: "json|pretty (default json).",
  SEED_FAIL_AFTER_DELETE: "TEST-ONLY: 1 = fail between the delete and the insert, to prove the rollback (default 0).",
};
export const SEED_ENV_VARS = Object.keys(ENV_DOCS);

export const seedSpec = {
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

