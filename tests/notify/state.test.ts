/** The sent-state contract on every implementation: memory, JSONL (two instances on one dir), Postgres (two pools on one database). */
import { afterAll } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import type { Sql } from "../../lib/pg/db.ts";
import { MemoryNotifyState } from "../../lib/notify/state.ts";
import { JsonlNotifyState } from "../../lib/notify/state-jsonl.ts";
import { PostgresNotifyState } from "../../lib/notify/state-postgres.ts";
import { freshDatabase, type TestDb } from "../helpers/pg.ts";
import { stateContract } from "./state-contract.ts";

const dirs: string[] = [];
const dbs: TestDb[] = [];
const pools: Sql[] = [];
afterAll(async () => {
  for (const p of pools) await p.end({ timeout: 5 });
  for (const d of dbs) await d.drop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

stateContract("memory", {
  async open() {
    const m = new MemoryNotifyState();
    return [m, m];
  },
});

stateContract("JSONL", {
  async open() {
    const dir = mkdtempSync(join(tmpdir(), "bb-notify-state-"));
    dirs.push(dir);
    return [new JsonlNotifyState(dir), new JsonlNotifyState(dir)];
  },
});

stateContract("Postgres", {
  async open() {
    const db = await freshDatabase({ migrated: true });
    dbs.push(db);
    const other = postgres(db.dsn, { max: 5, onnotice: () => {} }) as unknown as Sql;
    pools.push(other);
    return [new PostgresNotifyState(db.sql), new PostgresNotifyState(other)];
  },
});
