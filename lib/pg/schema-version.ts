/**
 * Which migrations this code needs, and which a database lacks: readiness (/readyz) is "every one is
 * in the backlog_migrations ledger", so a partly migrated database is not ready, rather than ready
 * with /metrics, the dashboard or the scheduler answering 503 (each uses other tables; 000007's
 * change trigger and 000011's event types are not even tables).
 *
 * The list is written out, not read from migrations/: the server also runs as a single bundled file
 * (Kubernetes) with no migrations folder beside it. tests/pg/schema-version.test.ts keeps it equal to
 * the folder, so a new migration file fails that test until it is named here too.
 */
import type { Sql } from "./db.ts";

export const REQUIRED_MIGRATIONS = [
  "000001_backlog.sql",
  "000002_setup_job.sql",
  "000003_scheduler_runs.sql",
  "000004_risk_history.sql",
  "000005_auto_replay.sql",
  "000006_backlog_trends.sql",
  "000007_change_notify.sql",
  "000008_notify_sent.sql",
  "000009_items_list_index.sql",
  "000010_dashboard_counts.sql",
  "000011_lifecycle_events.sql",
  "000012_ui_revoked_sessions.sql",
  "000013_search_fold.sql",
] as const;

/** SQLSTATE 42P01 undefined_table: here, the ledger itself (a database never migrated). */
const UNDEFINED_TABLE = "42P01";

/**
 * The required migrations the ledger does not list, in order (empty: fully migrated). One query, which
 * doubles as the ping: a connection error is thrown as it comes. Migrations the ledger lists beyond
 * these (newer code migrated the database) are fine: this code does not use them.
 */
export async function missingMigrations(sql: Sql): Promise<string[]> {
  let applied: Set<string>;
  try {
    const rows = await sql<{ name: string }[]>`select name from backlog_migrations`;
    applied = new Set(rows.map((r) => r.name));
  } catch (err) {
    if ((err as { code?: unknown }).code !== UNDEFINED_TABLE) throw err;
    applied = new Set();
  }
  return REQUIRED_MIGRATIONS.filter((m) => !applied.has(m));
}

/** The sentence for an operator: what is missing and the command that fixes it. */
export function missingMigrationsText(target: string, missing: readonly string[]): string {
  const shown = missing.length > 4 ? [...missing.slice(0, 4), `and ${missing.length - 4} more`] : missing;
  return `Postgres at ${target} is not fully migrated (missing ${shown.join(", ")}): run the migrations (npx bun run scripts/migrate.ts, or the migrate Job).`;
}
