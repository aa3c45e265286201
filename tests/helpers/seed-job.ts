/**
 * Shared bits of the setup-job tests: the Job's env vars pointed at a test database, parsing the JSON
 * log lines, and a full snapshot of the three seeded tables.
 */
import type { Sql } from "../../lib/pg/db.ts";
import { adminDsn, type TestDb } from "./pg.ts";
import { runScript, type RunResult } from "./run.ts";

const admin = () => new URL(adminDsn());

/** The password of the test server: must never show up in any output. */
export const pgPassword = () => decodeURIComponent(admin().password);

/** Exactly the variables ops/k8s/backlog-setup-job.yml sets, aimed at `db` and `serviceUrl`. */
export function jobEnv(db: TestDb | { name: string }, serviceUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  const a = admin();
  return {
    POSTGRES_HOST: a.hostname,
    POSTGRES_PORT: a.port || "5432",
    POSTGRES_USER: decodeURIComponent(a.username),
    POSTGRES_PASSWORD: pgPassword(),
    POSTGRES_DB: db.name,
    PROJECT_SERVICE_URL: serviceUrl,
    PROJECT_ID: "TEST-001",
    SPRINT_ID: "SPRINT-042",
    ...extra,
  };
}

export function runSeed(env: Record<string, string>, args: string[] = [], timeoutMs = 60_000): Promise<RunResult> {
  return runScript("scripts/seed.ts", args, { env, timeoutMs });
}

export interface LogLine {
  level: string;
  event: string;
  [k: string]: unknown;
}

/** Every non-empty stdout line must be one JSON object (operators pipe the Job's log into jq). */
export function logLines(stdout: string): LogLine[] {
  return stdout
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => {
      try {
        return JSON.parse(l) as LogLine;
      } catch {
        throw new Error(`log line is not JSON: ${l}`);
      }
    });
}

/** The events the seed's verification section lists, in their order. */
export function expectedEvents(projectId = "TEST-001", tasks = 8): string[] {
  return [
    "Starting backlog setup job...",
    "Backlog database connection successful.",
    "Required backlog database tables verified successfully",
    "Retrieved team members for project",
    `Created ${tasks} tasks, 4 stories, and 8 story-task mappings`,
    `Backlog setup completed successfully. Created ${tasks} backlog items for project ${projectId}`,
  ];
}

/** True when `want` appears in `events` in order (other events may sit between). */
export function inOrder(events: string[], want: string[]): boolean {
  let i = 0;
  for (const e of events) if (e === want[i]) i++;
  return i === want.length;
}

export interface Snapshot {
  tasks: Record<string, unknown>[];
  stories: Record<string, unknown>[];
  story_tasks: Record<string, unknown>[];
}

/** Every column of every row, timestamps included (to_jsonb keeps microseconds as text). */
export async function snapshot(sql: Sql): Promise<Snapshot> {
  const rows = async (q: Promise<{ row: Record<string, unknown> }[]>) => (await q).map((r) => r.row);
  return {
    tasks: await rows(sql`select to_jsonb(t) as row from tasks t order by task_id`),
    stories: await rows(sql`select to_jsonb(s) as row from stories s order by story_id`),
    story_tasks: await rows(sql`select to_jsonb(m) as row from story_tasks m order by story_id, task_id`),
  };
}

export async function assignments(sql: Sql, projectId = "TEST-001"): Promise<string[]> {
  const rows = await sql<{ assigned_to: string }[]>`
    select assigned_to from tasks where task_id ~ ('^' || ${projectId.replaceAll(".", "\\.")} || '-SAMPLE-T0[1-8]$') order by task_id`;
  return rows.map((r) => r.assigned_to);
}
