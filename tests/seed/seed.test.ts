/**
 * scripts/seed.ts end to end, the way the Kubernetes Job runs it: a child process with the Job's env vars,
 * a real Postgres database and a real Project Service on 127.0.0.1.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createServer } from "node:net";
import { sampleIds } from "../../lib/seed/sample.ts";
import { freePort } from "../helpers/pg-cluster.ts";
import { freshDatabase, type TestDb } from "../helpers/pg.ts";
import { startProjectService, teamMembersBody, type ProjectService } from "../helpers/project-service.ts";
import { assignments, expectedEvents, inOrder, jobEnv, logLines, pgPassword, runSeed, snapshot } from "../helpers/seed-job.ts";
import { expectExit } from "../helpers/exit.ts";
import { lossyProxy } from "../helpers/lossy-proxy.ts";

const dbs: TestDb[] = [];
async function db(migrated = true) {
  const d = await freshDatabase({ migrated });
  dbs.push(d);
  return d;
}

const FOUR = ["EMP-101", "EMP-102", "EMP-103", "EMP-104"];
let svc4: ProjectService;
beforeAll(async () => {
  svc4 = await startProjectService({ body: teamMembersBody(FOUR) });
});
afterAll(async () => {
  await svc4.close();
  for (const d of dbs) await d.drop();
});

/** Rows of the sample (exact ids, so a hand-made TEST-001-SAMPLE-T99 does not count). */
async function counts(d: TestDb, projectId = "TEST-001") {
  const { storyIds, taskIds } = sampleIds(projectId);
  const [r] = await d.sql<{ tasks: number; stories: number; mappings: number }[]>`
    select (select count(*)::int from tasks where task_id = any(${taskIds})) as tasks,
           (select count(*)::int from stories where story_id = any(${storyIds})) as stories,
           (select count(*)::int from story_tasks where story_id = any(${storyIds}) and task_id = any(${taskIds})) as mappings`;
  return r!;
}

describe("seed: happy path", () => {
  test("4 members: the seed's log events in order, 4 stories / 8 tasks / 8 links, round-robin, no password", async () => {
    const d = await db();
    const before = svc4.requests.length;
    const r = await runSeed(jobEnv(d, svc4.url));
    expect(r.stderr).toBe("");
    expectExit(r, 0);
    const lines = logLines(r.stdout);
    expect(inOrder(lines.map((l) => l.event), expectedEvents())).toBe(true);
    expect(lines.every((l) => l.level === "info")).toBe(true);
    const team = lines.find((l) => l.event === "Retrieved team members for project")!;
    expect(team).toMatchObject({ count: 4, project_id: "TEST-001" });
    const created = lines.find((l) => l.event.startsWith("Created 8 tasks"))!;
    expect(created).toMatchObject({ tasks: 8, stories: 4, mappings: 8 });

    expect(svc4.requests.slice(before)).toEqual([{ method: "GET", path: "/projects/TEST-001/team-members" }]);
    expect(await counts(d)).toEqual({ tasks: 8, stories: 4, mappings: 8 });
    expect(await assignments(d.sql)).toEqual([...FOUR, ...FOUR]);
    const tasks = await d.sql<{ status: string; progress_percentage: number; sprint_id: string; project_id: string }[]>`
      select status, progress_percentage, sprint_id, project_id from tasks`;
    for (const t of tasks) expect(t).toEqual({ status: "NotStarted", progress_percentage: 0, sprint_id: "SPRINT-042", project_id: "TEST-001" });
    // 2 tasks per story, every task linked once
    const perStory = await d.sql<{ n: number }[]>`select count(*)::int as n from story_tasks group by story_id`;
    expect(perStory.map((p) => p.n)).toEqual([2, 2, 2, 2]);
    expect(r.stdout + r.stderr).not.toContain(pgPassword());
  });

  test("3 members as plain id strings: task i goes to members[i % 3]", async () => {
    const d = await db();
    const svc = await startProjectService({ body: ["A-1", "B-2", "C-3"] });
    try {
      const r = await runSeed(jobEnv(d, svc.url, { PROJECT_ID: "PRJ.7" }));
      expectExit(r, 0);
      const lines = logLines(r.stdout);
      expect(inOrder(lines.map((l) => l.event), expectedEvents("PRJ.7"))).toBe(true);
      expect(lines.find((l) => l.event === "Retrieved team members for project")).toMatchObject({ count: 3, project_id: "PRJ.7" });
      expect(svc.requests[0]!.path).toBe("/projects/PRJ.7/team-members");
      const got = await d.sql<{ task_id: string; assigned_to: string }[]>`select task_id, assigned_to from tasks order by task_id`;
      expect(got.map((t) => t.task_id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((n) => `PRJ.7-SAMPLE-T0${n}`));
      got.forEach((t, i) => expect(t.assigned_to).toBe(["A-1", "B-2", "C-3"][i % 3]!));
    } finally {
      await svc.close();
    }
  });

  test("credentials in PROJECT_SERVICE_URL go out as Basic auth and are never printed", async () => {
    const d = await db();
    const svc = await startProjectService({ body: { data: [{ id: 7 }, { id: 8 }] } });
    try {
      const withAuth = svc.url.replace("http://", "http://svc-user:svc-pass-9@") + "/api/";
      const r = await runSeed(jobEnv(d, withAuth));
      expectExit(r, 0);
      expect(svc.requests[0]).toEqual({
        method: "GET",
        path: "/api/projects/TEST-001/team-members",
        authorization: "Basic " + btoa("svc-user:svc-pass-9"),
      });
      expect(r.stdout + r.stderr).not.toContain("svc-pass-9");
      expect(logLines(r.stdout)[0]!.project_service_url).toBe(svc.url + "/api/");
      expect(await assignments(d.sql)).toEqual(["7", "8", "7", "8", "7", "8", "7", "8"]);
    } finally {
      await svc.close();
    }
  });
});

describe("seed: re-runs and other rows", () => {
  test("running twice leaves exactly one sample: same ids, same counts, new assignees", async () => {
    const d = await db();
    expectExit(await runSeed(jobEnv(d, svc4.url)), 0);
    const first = await snapshot(d.sql);
    const svc = await startProjectService({ body: { members: [{ employeeId: "X-1" }] } });
    try {
      const r = await runSeed(jobEnv(d, svc.url));
      expectExit(r, 0);
      expect(logLines(r.stdout).find((l) => l.event === "Replaced the sample data of a previous run")).toMatchObject({
        tasks: 8,
        stories: 4,
        mappings: 8,
      });
    } finally {
      await svc.close();
    }
    const second = await snapshot(d.sql);
    expect(await counts(d)).toEqual({ tasks: 8, stories: 4, mappings: 8 });
    expect(second.tasks.map((t) => t.task_id)).toEqual(first.tasks.map((t) => t.task_id));
    expect(second.story_tasks).toEqual(first.story_tasks);
    expect(await assignments(d.sql)).toEqual(Array(8).fill("X-1"));
  });

  test("rows that are not the sample survive: hand-made rows of TEST-001 and another project's sample", async () => {
    const d = await db();
    // another project's sample, seeded by the job itself
    expectExit(await runSeed(jobEnv(d, svc4.url, { PROJECT_ID: "OTHER-001" })), 0);
    await d.sql`insert into stories (story_id, project_id, title) values ('TEST-001-S-REAL', 'TEST-001', 'real story'),
      ('OTHER-001-S-REAL', 'OTHER-001', 'other real story')`;
    await d.sql`insert into tasks (task_id, project_id, title, assigned_to, status, progress_percentage)
      values ('TEST-001-T-REAL', 'TEST-001', 'real task', 'EMP-9', 'InProgress', 40),
             ('TEST-001-SAMPLE-T99', 'TEST-001', 'looks like a sample but is not one of ours', 'EMP-9', 'Done', 100),
             ('OTHER-001-T-REAL', 'OTHER-001', 'other real task', 'EMP-8', 'Done', 100)`;
    await d.sql`insert into story_tasks (story_id, task_id) values ('TEST-001-S-REAL', 'TEST-001-T-REAL'),
      ('TEST-001-S-REAL', 'TEST-001-SAMPLE-T99'), ('OTHER-001-S-REAL', 'OTHER-001-T-REAL')`;
    const isTestSample = (id: unknown) => /^TEST-001-SAMPLE-[ST]0\d$/.test(String(id));
    const others = (s: Awaited<ReturnType<typeof snapshot>>) => ({
      tasks: s.tasks.filter((t) => !isTestSample(t.task_id)),
      stories: s.stories.filter((t) => !isTestSample(t.story_id)),
      story_tasks: s.story_tasks.filter((m) => !isTestSample(m.story_id) && !isTestSample(m.task_id)),
    });
    const before = others(await snapshot(d.sql));
    expect(before.tasks.length).toBe(8 + 3);

    for (let i = 0; i < 2; i++) expectExit(await runSeed(jobEnv(d, svc4.url)), 0);
    expect(others(await snapshot(d.sql))).toEqual(before);
    expect(await counts(d)).toEqual({ tasks: 8, stories: 4, mappings: 8 });
    expect(await counts(d, "OTHER-001")).toEqual({ tasks: 8, stories: 4, mappings: 8 });
  });

  test("a failure between delete and insert rolls back to the previous sample, row for row", async () => {
    const d = await db();
    expectExit(await runSeed(jobEnv(d, svc4.url)), 0);
    const before = await snapshot(d.sql);
    const svc = await startProjectService({ body: ["Z-1"] });
    try {
      const r = await runSeed(jobEnv(d, svc.url, { SEED_FAIL_AFTER_DELETE: "1" }));
      expectExit(r, 1);
      expect(r.stderr).toContain("injected failure between delete and insert");
      expect(r.stderr).toContain("rolled back");
      const events = logLines(r.stdout).map((l) => l.event);
      expect(events).toContain("seed failed");
      expect(events.some((e) => e.startsWith("Backlog setup completed"))).toBe(false);
    } finally {
      await svc.close();
    }
    expect(await snapshot(d.sql)).toEqual(before);
  });
});

describe("seed: database problems", () => {
  test("the connection dies between delete and insert: exit 1 with a clear error (no stack trace), the previous sample unchanged", async () => {
    const d = await db();
    expectExit(await runSeed(jobEnv(d, svc4.url)), 0);
    const before = await snapshot(d.sql);
    const proxy = await lossyProxy(d.dsn);
    try {
      const lost = proxy.loseRequest("insert into stories");
      const run = runSeed(jobEnv(d, svc4.url, { POSTGRES_PORT: new URL(proxy.dsn).port }));
      await lost.happened;
      lost.cut();
      const r = await run;
      expectExit(r, 1);
      expect(r.stderr).toContain("Lost the connection to Postgres while writing the sample of project TEST-001");
      expect(r.stderr).not.toMatch(/TypeError|\n\s+at |socket\.write/);
    } finally {
      await proxy.close();
    }
    expect(await snapshot(d.sql)).toEqual(before);
  });


  test("tables missing → exit 1, 'run migrations first' naming each table, nothing written", async () => {
    const d = await db(false);
    const r = await runSeed(jobEnv(d, svc4.url));
    expectExit(r, 1);
    expect(r.stderr).toContain("run migrations first");
    expect(r.stderr).toContain("missing: tasks, stories, story_tasks");
    expect(r.stderr).toContain("bun run migrate");
    const events = logLines(r.stdout).map((l) => l.event);
    expect(events).toContain("Backlog database connection successful.");
    expect(events).not.toContain("Required backlog database tables verified successfully");
    expect(await d.sql`select tablename from pg_tables where schemaname = 'public'`).toHaveLength(0);
  });

  test("one table missing → only that one is named, the others are not written", async () => {
    const d = await db();
    await d.sql`drop table story_tasks`;
    const r = await runSeed(jobEnv(d, svc4.url));
    expectExit(r, 1);
    expect(r.stderr).toContain("missing: story_tasks.");
    expect(r.stderr).toContain("run migrations first");
    expect(await d.sql`select 1 from tasks union all select 1 from stories`).toHaveLength(0);
  });

  test("unreachable database → exit 1 at once with a clear message, no password, no service call", async () => {
    const port = await freePort();
    const before = svc4.requests.length;
    const r = await runSeed(jobEnv({ name: "backlog" }, svc4.url, { POSTGRES_PORT: String(port), POSTGRES_PASSWORD: "hunter2-secret" }));
    expectExit(r, 1);
    expect(r.stderr).toContain(`Cannot connect to Postgres at postgresql://`);
    expect(r.stderr).toContain(`:${port}/backlog`);
    expect(r.stderr).toContain("connection refused");
    expect(r.stdout + r.stderr).not.toContain("hunter2-secret");
    expect(svc4.requests.length).toBe(before);
  });

  test("a server that accepts but never answers → exit 1 within BACKLOG_PG_CONNECT_TIMEOUT", async () => {
    const server = createServer(() => {}); // swallows the connection, never speaks the protocol
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const port = String((server.address() as { port: number }).port);
      const r = await runSeed(jobEnv({ name: "backlog" }, svc4.url, { POSTGRES_PORT: port, BACKLOG_PG_CONNECT_TIMEOUT: "1" }), [], 30_000);
      expectExit(r, 1);
      expect(r.stderr).toContain("no answer within 1s (BACKLOG_PG_CONNECT_TIMEOUT)");
    } finally {
      server.close();
    }
  });

  test("wrong password → exit 1 naming the credentials, never the password", async () => {
    const d = await db();
    const r = await runSeed(jobEnv(d, svc4.url, { POSTGRES_PASSWORD: "not-the-password-77" }));
    expectExit(r, 1);
    expect(r.stderr).toContain("rejected the credentials");
    expect(r.stdout + r.stderr).not.toContain("not-the-password-77");
  });
});
