/**
 * Postgres upserts (issue 9, item 2): N generated items through PostgresBacklogStore.upsert (one
 * transaction each) and through upsertMany (one transaction for the batch), in rows/s, against the
 * same rows in ONE multi-row `INSERT … ON CONFLICT` statement sent with psql (server time from
 * \timing), measured in the same run. Every measured run starts from empty tables.
 *
 *   npx bun run bench/pg-upsert.ts           # 2,000 items
 *   npx bun run bench/pg-upsert.ts --full    # 10,000 items
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../lib/core/log.ts";
import { parseUpsert, planUpsert } from "../lib/store/logic.ts";
import { PostgresBacklogStore } from "../lib/store/postgres/store.ts";
import type { BacklogItem, UpsertInput } from "../lib/store/types.ts";
import { BENCH_NOW, upsertInput } from "./lib/data.ts";
import { benchMain, progress, type Bench, type BenchOptions } from "./lib/main.ts";
import { withBenchDb, type BenchDb } from "./lib/postgres.ts";
import { lit, psqlTimed, writeSql } from "./lib/psql.ts";
import { fmtInt, type BenchResult } from "./lib/report.ts";
import { median } from "./lib/stats.ts";
import { timeMs } from "./lib/timing.ts";

const ACTOR = { actor: "bench" };

function valuesRow(it: BacklogItem): string {
  const tags = it.tags.length ? `array[${it.tags.map(lit).join(",")}]` : "'{}'::text[]";
  return `(${[it.id, it.env, it.service, it.category, it.title, it.description, it.priority, it.status, it.owner].map(lit).join(",")},${lit(it.due_date)}::date,${lit(it.source)},${lit(it.dedupe_key)},${tags},${lit(JSON.stringify(it.meta))}::jsonb,${lit(it.created_at)}::timestamptz,${lit(it.updated_at)}::timestamptz)`;
}

/** The rows upsertMany would create, as one statement; on conflict it applies the upsert rule's refresh. */
export function multiRowUpsertSql(items: BacklogItem[]): string {
  return `insert into backlog_items (id, env, service, category, title, description, priority, status, owner,
  due_date, source, dedupe_key, tags, meta, created_at, updated_at) values
${items.map(valuesRow).join(",\n")}
on conflict (dedupe_key) do update set title = excluded.title, description = excluded.description,
  tags = excluded.tags, meta = backlog_items.meta || excluded.meta, updated_at = excluded.updated_at;
`;
}

const empty = (db: BenchDb) => db.sql.unsafe("truncate backlog_items cascade");

async function count(db: BenchDb): Promise<number> {
  const [row] = await db.sql<{ n: number }[]>`select count(*)::int as n from backlog_items`;
  return row!.n;
}

export async function run(opts: BenchOptions): Promise<BenchResult[]> {
  const n = opts.full ? 10_000 : 2_000;
  const runs = opts.runs ?? 3;
  const inputs: UpsertInput[] = Array.from({ length: n }, (_, i) => upsertInput(i));
  const tmp = mkdtempSync(join(tmpdir(), "bb-bench-pg-"));
  try {
    return await withBenchDb(async (db) => {
      progress(`postgres: ${db.where}`);
      const store = new PostgresBacklogStore({ sql: db.sql, log: silentLogger, clock: () => BENCH_NOW });
      const planned = inputs.map((i) => planUpsert(null, parseUpsert(i), ACTOR.actor, BENCH_NOW).item);
      const changedInputs = inputs.map((i) => ({ ...i, title: `${i.title} (changed)` }));
      const createFile = join(tmp, "create.sql");
      const changeFile = join(tmp, "change.sql");
      writeSql(createFile, multiRowUpsertSql(planned));
      writeSql(changeFile, multiRowUpsertSql(planned.map((it) => ({ ...it, title: `${it.title} (changed)` }))));

      const m = { baseCreate: [] as number[], baseChange: [] as number[], create: [] as number[], change: [] as number[] };
      for (let r = 0; r < runs; r++) {
        await empty(db);
        const [createMs] = psqlTimed(db.dsn, createFile);
        const [changeMs] = psqlTimed(db.dsn, changeFile);
        if (createMs === undefined || changeMs === undefined) throw new Error("psql printed no timing");
        const [row] = await db.sql.unsafe("select count(*)::int as n, count(*) filter (where title like '% (changed)')::int as changed from backlog_items");
        if (row?.n !== n || row?.changed !== n) throw new Error(`the psql statements left ${JSON.stringify(row)} rows, expected ${n} changed`);
        m.baseCreate.push(createMs);
        m.baseChange.push(changeMs);
        await empty(db);
        const created = await timeMs(() => store.upsertMany(inputs, ACTOR));
        if (created.value.filter((x) => x.created).length !== n || (await count(db)) !== n) throw new Error("upsertMany did not create every item");
        const changed = await timeMs(() => store.upsertMany(changedInputs, ACTOR));
        if (changed.value.filter((x) => x.changed && !x.created).length !== n) throw new Error("upsertMany did not change every item");
        m.create.push(created.ms);
        m.change.push(changed.ms);
        progress(`  run ${r + 1}/${runs}: psql ${createMs.toFixed(0)} + ${changeMs.toFixed(0)} ms, upsertMany ${created.ms.toFixed(0)} + ${changed.ms.toFixed(0)} ms (new + changed)`);
      }

      await empty(db);
      const single = await timeMs(async () => {
        for (const input of inputs) await store.upsert(input, ACTOR);
      });
      if ((await count(db)) !== n) throw new Error("upsert did not create every item");
      progress(`  single-item upsert: ${single.ms.toFixed(0)} ms for ${fmtInt(n)} items`);

      const rate = (ms: number) => (n / ms) * 1000;
      const label = "one multi-row INSERT … ON CONFLICT via psql";
      const batchResult = (what: string, figureMs: number[], baseMs: number[], extra: string): BenchResult => {
        const figure = rate(median(figureMs));
        const baseline = rate(median(baseMs));
        return {
          benchmark: `pg upsertMany, ${fmtInt(n)} ${what} items`,
          figure,
          baseline,
          unit: "rows/s",
          baselineLabel: label,
          target: "≥ 0.5× baseline",
          met: figure >= 0.5 * baseline,
          detail: `one call, one transaction; median of ${runs} alternating runs; ${extra}; ${db.where}`,
        };
      };
      const base = rate(median(m.baseCreate));
      return [
        batchResult("new", m.create, m.baseCreate, `from empty tables; upsertMany also writes ${fmtInt(n)} 'created' events, the baseline only the items`),
        batchResult("changed", m.change, m.baseChange, `every key exists and gets a new title: the baseline's ON CONFLICT DO UPDATE against select … for update + update + ${fmtInt(n)} 'updated' events`),
        {
          benchmark: `pg upsert one by one, ${fmtInt(n)} new items`,
          figure: rate(single.ms),
          baseline: base,
          unit: "rows/s",
          baselineLabel: label,
          target: "report only",
          met: null,
          detail: `${fmtInt(n)} sequential store.upsert calls (one transaction each: insert on conflict do nothing + created event), one run`,
        },
      ];
    });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

export const bench: Bench = {
  name: "pg-upsert",
  about: "PostgresBacklogStore.upsert (one by one) and upsertMany (one batch) of N new items, in rows/s, against the same rows in one multi-row INSERT … ON CONFLICT statement sent with psql.",
  run,
};

if (import.meta.main) await benchMain(bench);
