/**
 * Database side of the setup job: check the migrated tables exist, then replace the sample rows of a
 * previous run with the new plan in ONE transaction, so a crash or error leaves the previous state.
 */
import { beginSafely } from "../pg/begin-safely.ts";
import { isConnectionError } from "../pg/connection-errors.ts";
import type { Sql } from "../pg/db.ts";
import { AppError, describeError } from "../core/errors.ts";
import { sampleIds, type SamplePlan } from "./sample.ts";

export const REQUIRED_TABLES = ["tasks", "stories", "story_tasks"] as const;

/** Resolves through search_path, like the unqualified statements that follow. */
export async function missingTables(sql: Sql): Promise<string[]> {
  const rows = await sql<{ t: string }[]>`
    select t from unnest(${sql.array([...REQUIRED_TABLES])}::text[]) with ordinality as r(t, n)
    where to_regclass(t) is null order by n`;
  return rows.map((r) => r.t);
}

export async function verifyTables(sql: Sql): Promise<void> {
  const missing = await missingTables(sql);
  if (missing.length === 0) return;
  throw new AppError(
    "config",
    `Required backlog database tables are missing: ${missing.join(", ")}. The setup job does not create tables: ` +
      `run migrations first (npx bun run migrate, or in Kubernetes the migrate-backlog Job from ` +
      `ops/k8s/backlog-migrate-job.yml), then run the setup job again.`,
  );
}

export interface WriteCounts {
  tasks: number;
  stories: number;
  mappings: number;
}

export interface ReplaceResult {
  created: WriteCounts;
  /** Rows of a previous run that were replaced. */
  removed: WriteCounts;
}

export async function replaceSample(sql: Sql, plan: SamplePlan, opts: { failAfterDelete?: boolean } = {}): Promise<ReplaceResult> {
  const { storyIds, taskIds } = sampleIds(plan.project_id);
  return (await beginSafely(sql, async (tx) => {
    // Two jobs seeding the same project at once would otherwise race on the primary keys.
    await tx`select pg_advisory_xact_lock(hashtext(${"backlog-bridge:seed:" + plan.project_id}))`;
    // Only the deterministic sample ids: other rows of the project are never touched.
    const links = await tx`delete from story_tasks
      where story_id = any(${tx.array(storyIds)}::text[]) or task_id = any(${tx.array(taskIds)}::text[])`;
    const tasks = await tx`delete from tasks where task_id = any(${tx.array(taskIds)}::text[])`;
    const stories = await tx`delete from stories where story_id = any(${tx.array(storyIds)}::text[])`;
    const removed = { tasks: tasks.count, stories: stories.count, mappings: links.count };

    if (opts.failAfterDelete) {
      throw new AppError(
        "internal",
        "SEED_FAIL_AFTER_DELETE=1: injected failure between delete and insert (test-only switch); the transaction was rolled back.",
      );
    }

    const s = await tx`insert into stories ${tx(plan.stories as never, "story_id", "project_id", "title", "description", "status", "story_points")}`;
    const t = await tx`insert into tasks ${tx(
      plan.tasks as never,
      "task_id", "project_id", "title", "description", "status", "assigned_to", "sprint_id", "progress_percentage",
    )}`;
    const m = await tx`insert into story_tasks ${tx(plan.mappings as never, "story_id", "task_id")}`;
    return { created: { tasks: t.count, stories: s.count, mappings: m.count }, removed };
  }).catch((err) => {
    if (!isConnectionError(err)) throw err;
    throw new AppError(
      "unavailable",
      `Lost the connection to Postgres while writing the sample of project ${plan.project_id}: ${describeError(err)}. ` +
        "The transaction was rolled back, so the previous sample (if any) is unchanged. Run the job again once Postgres answers.",
      { cause: err },
    );
  })) as ReplaceResult;
}
