/**
 * Applies the numbered SQL migrations in migrations/ to the backlog database. Idempotent.
 *
 *   npx bun run scripts/migrate.ts [--dsn DSN] [--dry-run] [--status] [--dir migrations/]
 */
import process from "node:process";
import { AppError } from "../lib/core/app-error.ts";
import { type ParsedCli, printJson, runCli } from "../lib/core/cli.ts";
import type { Logger } from "../lib/core/log.ts";
import type { checkDrift as CheckDrift } from "../lib/pg/migrate.ts";

const spec = {
  name: "migrate",
  usage: `Usage: npx bun run scripts/migrate.ts [--dsn DSN] [--dry-run] [--status] [--dir DIR]

Applies migrations/NNNNNN_*.sql in order, each in its own transaction, recording each in the
backlog_migrations ledger. Safe to re-run; concurrent runs serialise on an advisory lock.

Options:
  --dsn DSN     postgresql://user:pass@host:5432/db. Default: $BACKLOG_POSTGRES_DSN, then $POSTGRES_DSN,
                then POSTGRES_HOST/PORT/USER/PASSWORD/DB.
  --dry-run     print the SQL that would be applied; change nothing. Without any DSN, prints every file.
  --status      list applied and pending migrations.
  --dir DIR     migrations directory (default: the repo's migrations/).
  -h, --help    this text.

Env: BACKLOG_PG_CONNECT_TIMEOUT (seconds, default 5), LOG_LEVEL, LOG_FORMAT=pretty.
Exit: 0 on success, 1 on any failure (unreachable server, bad credentials, SQL error, edited migration).`,
  flags: {
    dsn: { type: "string" },
    "dry-run": { type: "boolean" },
    status: { type: "boolean" },
    dir: { type: "string" },
  },
} as const;

async function main({ values }: ParsedCli<typeof spec.flags>): Promise<number> {
  // Imported here, not at the top: --help is answered before the logger and the Postgres driver load.
  const [{ connectPg, describePg, pgConnectError, resolvePgConfig }, { log, logToStderr }, { DEFAULT_MIGRATIONS_DIR, checkDrift, loadMigrations, migrate, migrationStatus }] =
    await Promise.all([import("../lib/pg/db.ts"), import("../lib/core/log.ts"), import("../lib/pg/migrate.ts")]);
  const dryRun = Boolean(values["dry-run"]);
  // --status and --dry-run print a result on stdout; keep it clean for pipes.
  if (values.status || dryRun) logToStderr();
  const migrations = await loadMigrations(values.dir ?? DEFAULT_MIGRATIONS_DIR);
  const cfg = resolvePgConfig({ dsn: values.dsn });

  if (!cfg) {
    if (!dryRun) {
      throw new AppError(
        "config",
        "No database given. Pass --dsn postgresql://user:pass@host:5432/db or set BACKLOG_POSTGRES_DSN " +
          "(or POSTGRES_DSN, or POSTGRES_HOST/POSTGRES_USER/POSTGRES_PASSWORD/POSTGRES_DB).",
      );
    }
    process.stdout.write(`-- dry run: no database given, so every migration is shown as pending\n`);
    for (const m of migrations) process.stdout.write(`\n-- ${m.name}\n${m.sql}`);
    return 0;
  }

  const sql = connectPg(cfg, { max: 1 });
  try {
    let status;
    try {
      status = await migrationStatus(sql, migrations);
    } catch (err) {
      throw isConnectError(err) ? pgConnectError(err, cfg) : err;
    }
    log.info("migrate: connected", { target: describePg(cfg) });

    if (values.status) {
      checkDriftSoft(checkDrift, log, status, migrations);
      printJson({
        target: describePg(cfg),
        applied: status.applied.map((r) => ({ name: r.name, applied_at: r.applied_at })),
        pending: status.pending.map((m) => m.name),
        unknown: status.unknown,
      });
      return 0;
    }
    if (dryRun) {
      checkDrift(status, migrations);
      if (status.pending.length === 0) {
        process.stdout.write(`-- dry run: nothing to apply; ${status.applied.length} migrations already applied\n`);
      }
      for (const m of status.pending) process.stdout.write(`\n-- ${m.name} (pending)\n${m.sql}`);
      return 0;
    }

    const result = await migrate(sql, migrations, log);
    if (result.applied.length === 0) {
      log.info(`Nothing to apply: ${result.alreadyApplied} migrations already applied.`, { target: describePg(cfg) });
    } else {
      log.info(`Applied ${result.applied.length} migrations.`, { applied: result.applied, target: describePg(cfg) });
    }
    return 0;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

function checkDriftSoft(checkDrift: typeof CheckDrift, log: Logger, status: Parameters<typeof CheckDrift>[0], migrations: Parameters<typeof CheckDrift>[1]) {
  try {
    checkDrift(status, migrations);
  } catch (err) {
    log.warn("migrate: drift detected", { error: (err as Error).message });
  }
}

function isConnectError(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? "";
  return ["ECONNREFUSED", "CONNECT_TIMEOUT", "ENOTFOUND", "EAI_AGAIN", "28P01", "28000", "3D000", "ECONNRESET"].includes(code);
}

runCli(spec, main);
