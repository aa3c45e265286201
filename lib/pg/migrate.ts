/**
 * Numbered SQL migrations (migrations/NNNNNN_name.sql), applied in order, each in its own transaction,
 * recorded in the `backlog_migrations` ledger with a sha256 checksum.
 *
 * Concurrency: every step takes a transaction-scoped advisory lock, so two migrators serialise; the
 * loser then sees the ledger row and skips (the ledger's primary key is the second guard).
 * Immutability: an applied file whose checksum changed is an error naming the file, not a silent skip.
 */
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beginSafely } from "./begin-safely.ts";
import { isConnectionError } from "./connection-errors.ts";
import type { Sql } from "./db.ts";
import { AppError, describeError } from "../core/errors.ts";
import { silentLogger, type Logger } from "../core/log.ts";

export const DEFAULT_MIGRATIONS_DIR = fileURLToPath(new URL("../../migrations/", import.meta.url));
const NAME = /^(\d{6})_[a-z0-9_]+\.sql$/;
const LOCK = "select pg_advisory_xact_lock(hashtext('backlog-bridge:migrate'))";

export interface Migration {
  name: string;
  path: string;
  sql: string;
  checksum: string;
}

export interface AppliedRow {
  name: string;
  checksum: string;
  applied_at: string;
}

export interface MigrationStatus {
  applied: AppliedRow[];
  pending: Migration[];
  /** Applied migrations whose file no longer exists (newer code deployed elsewhere?). */
  unknown: string[];
}

export async function loadMigrations(dir = DEFAULT_MIGRATIONS_DIR): Promise<Migration[]> {
  let files: string[];
  try {
    files = (await readdir(dir)).filter((f) => f.endsWith(".sql")).sort();
  } catch (err) {
    throw new AppError("config", `Cannot read the migrations directory ${dir}: ${(err as Error).message}`, { cause: err });
  }
  const seen = new Map<string, string>();
  const out: Migration[] = [];
  for (const name of files) {
    const m = NAME.exec(name);
    if (!m) {
      throw new AppError(
        "config",
        `Migration file ${name} is not named NNNNNN_lowercase_words.sql (six digits, underscore, a-z0-9_). Rename it.`,
      );
    }
    const num = m[1]!;
    if (seen.has(num)) throw new AppError("config", `Migrations ${seen.get(num)} and ${name} share number ${num}; renumber one.`);
    seen.set(num, name);
    const path = join(dir, name);
    const sql = await readFile(path, "utf8");
    out.push({ name, path, sql, checksum: createHash("sha256").update(sql).digest("hex") });
  }
  return out;
}

async function ledgerExists(sql: Sql): Promise<boolean> {
  const [row] = await sql<{ exists: boolean }[]>`select to_regclass('public.backlog_migrations') is not null as exists`;
  return Boolean(row?.exists);
}

export async function migrationStatus(sql: Sql, migrations: Migration[]): Promise<MigrationStatus> {
  const applied = (await ledgerExists(sql))
    ? await sql<AppliedRow[]>`select name, checksum, applied_at::text from backlog_migrations order by name`
    : [];
  const names = new Set(applied.map((r) => r.name));
  const files = new Set(migrations.map((m) => m.name));
  return {
    applied: [...applied],
    pending: migrations.filter((m) => !names.has(m.name)),
    unknown: applied.filter((r) => !files.has(r.name)).map((r) => r.name),
  };
}

function driftError(m: Migration, recorded: string): AppError {
  return new AppError(
    "conflict",
    `Migration ${m.name} was edited after it was applied (recorded checksum ${recorded.slice(0, 12)}…, ` +
      `file now ${m.checksum.slice(0, 12)}…). Applied migrations are immutable: restore the file and put the ` +
      `change in a new, higher-numbered migration.`,
  );
}

/** Throws on the first applied file whose content changed. */
export function checkDrift(status: MigrationStatus, migrations: Migration[]): void {
  const byName = new Map(migrations.map((m) => [m.name, m]));
  for (const row of status.applied) {
    const m = byName.get(row.name);
    if (m && m.checksum !== row.checksum) throw driftError(m, row.checksum);
  }
}

export interface MigrateResult {
  applied: string[];
  alreadyApplied: number;
}

export async function migrate(sql: Sql, migrations: Migration[], log: Logger = silentLogger): Promise<MigrateResult> {
  await beginSafely(sql, async (tx) => {
    await tx.unsafe(LOCK);
    await tx.unsafe(`create table if not exists backlog_migrations (
      name text primary key,
      checksum text not null,
      applied_at timestamptz not null default now()
    )`);
  });
  // Fail before applying anything new when history was rewritten.
  checkDrift(await migrationStatus(sql, migrations), migrations);

  const applied: string[] = [];
  let alreadyApplied = 0;
  for (const m of migrations) {
    const did = await beginSafely(sql, async (tx) => {
      await tx.unsafe(LOCK);
      const [row] = await tx<{ checksum: string }[]>`select checksum from backlog_migrations where name = ${m.name}`;
      if (row) {
        if (row.checksum !== m.checksum) throw driftError(m, row.checksum);
        return false;
      }
      const started = performance.now();
      try {
        await tx.unsafe(m.sql);
      } catch (err) {
        // Postgres going away is no fault of the file: reported as the connection failure it is.
        throw isConnectionError(err) ? err : sqlError(m, err);
      }
      await tx`insert into backlog_migrations (name, checksum) values (${m.name}, ${m.checksum})`;
      log.info("migration applied", { migration: m.name, ms: Math.round(performance.now() - started) });
      return true;
    }).catch((err) => {
      if (!isConnectionError(err)) throw err;
      throw new AppError(
        "unavailable",
        `Lost the connection to Postgres while applying ${m.name}: ${describeError(err)}. Each migration is one transaction: ` +
          `${m.name} was rolled back and the ${applied.length} applied before it in this run stay applied. Run migrate again once Postgres answers.`,
        { cause: err },
      );
    });
    if (did) applied.push(m.name);
    else alreadyApplied++;
  }
  return { applied, alreadyApplied };
}

/** `migrations/000003_x.sql failed at line 12 (create tabel ...): syntax error at or near "tabel"`. */
function sqlError(m: Migration, err: unknown): AppError {
  const e = err as { message?: string; position?: string | number };
  let where = "";
  const pos = Number(e.position);
  if (Number.isFinite(pos) && pos > 0) {
    const before = m.sql.slice(0, pos - 1);
    const line = before.split("\n").length;
    const text = (m.sql.split("\n")[line - 1] ?? "").trim();
    where = ` at line ${line} (${text.length > 80 ? text.slice(0, 77) + "..." : text})`;
  }
  return new AppError(
    "invalid_input",
    `Migration ${m.name} failed${where}: ${e.message ?? String(err)}. Its transaction was rolled back; ` +
      `fix the file (it was never applied, so editing it is safe) and run migrate again.`,
    { cause: err },
  );
}
