/**
 * The setup job's pure parts (team-member parsing, the sample plan, the config function) and the
 * outputs that need no write: --help, --dry-run, config errors.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { VARS } from "../../lib/config/vars.ts";
import { ENV_DOCS, loadSeedConfig, SEED_ENV_VARS } from "../../lib/seed/config.ts";
import { planSample, sampleIds } from "../../lib/seed/sample.ts";
import { extractMemberIds, teamMembersUrl } from "../../lib/seed/team-members.ts";
import { freshDatabase, type TestDb } from "../helpers/pg.ts";
import { startProjectService, teamMembersBody } from "../helpers/project-service.ts";
import { jobEnv, runSeed } from "../helpers/seed-job.ts";
import { expectExit } from "../helpers/exit.ts";

const dbs: TestDb[] = [];
afterAll(async () => {
  for (const d of dbs) await d.drop();
});

describe("extractMemberIds: the response shapes a project service plausibly returns", () => {
  const shapes: [string, unknown, string[]][] = [
    ["array of {employee_id}", [{ employee_id: "E1" }, { employee_id: "E2" }], ["E1", "E2"]],
    ["array of plain strings", ["E1", " E2 "], ["E1", "E2"]],
    ["{team_members: [...]}", { team_members: [{ employee_id: "E1", id: "ignored" }] }, ["E1"]],
    ["{members: [{employeeId}]}", { members: [{ employeeId: "E3" }] }, ["E3"]],
    ["{data: [{id: number}]}", { data: [{ id: 12 }, { id: 13 }] }, ["12", "13"]],
    ["{items: [...]}", { items: ["E4"] }, ["E4"]],
    ["team_members wins over data", { data: ["D"], team_members: ["T"] }, ["T"]],
    ["junk skipped, repeats dropped", ["E1", null, 1.5, { name: "x" }, "", "E1", { id: "E2" }, ["nested"]], ["E1", "E2"]],
  ];
  for (const [name, body, ids] of shapes) {
    test(name, () => expect(extractMemberIds(body).ids).toEqual(ids));
  }
  test("no list at all is told apart from an empty one", () => {
    expect(extractMemberIds({ members: [] })).toEqual({ ids: [], listFound: true, listLength: 0 });
    expect(extractMemberIds({ team: [] })).toEqual({ ids: [], listFound: false, listLength: 0 });
    expect(extractMemberIds({ team: "x" })).toEqual({ ids: [], listFound: false, listLength: 0 });
    expect(extractMemberIds("E1")).toEqual({ ids: [], listFound: false, listLength: 0 });
    expect(extractMemberIds([])).toEqual({ ids: [], listFound: true, listLength: 0 });
  });
});

describe("planSample", () => {
  test("8 tasks round-robin over any team size, 2 per story, deterministic ids", () => {
    for (const team of [["a"], ["a", "b"], ["a", "b", "c"], ["a", "b", "c", "d", "e", "f", "g", "h", "i"]]) {
      const plan = planSample("P-1", "S-9", team);
      expect(plan.tasks.map((t) => t.assigned_to)).toEqual(plan.tasks.map((_, i) => team[i % team.length]!));
      expect(plan.stories.map((s) => s.story_id)).toEqual(sampleIds("P-1").storyIds);
      expect(plan.tasks.map((t) => t.task_id)).toEqual(sampleIds("P-1").taskIds);
      expect(plan.mappings.map((m) => m.story_id)).toEqual(plan.stories.flatMap((s) => [s.story_id, s.story_id]));
      expect(plan.mappings.map((m) => m.task_id)).toEqual(plan.tasks.map((t) => t.task_id));
      expect(new Set(plan.tasks.map((t) => `${t.status}/${t.progress_percentage}/${t.sprint_id}`))).toEqual(new Set(["NotStarted/0/S-9"]));
    }
  });
});

describe("loadSeedConfig", () => {
  const base = { POSTGRES_HOST: "backlog-db", POSTGRES_USER: "u", POSTGRES_DB: "d", PROJECT_SERVICE_URL: "http://ps" };
  test("defaults: TEST-001, SPRINT-001, 5000 ms, four employees, port 5432", () => {
    const r = loadSeedConfig([], base);
    if (r.help) throw new Error("unexpected help");
    expect(r.config).toMatchObject({ projectId: "TEST-001", sprintId: "SPRINT-001", timeoutMs: 5000, failAfterDelete: false, dryRun: false });
    expect(r.config.defaultTeam).toEqual(["EMP-001", "EMP-002", "EMP-003", "EMP-004"]);
    expect(r.config.pg).toMatchObject({ host: "backlog-db", port: 5432, user: "u", database: "d" });
  });
  test("every bad variable is named with what is allowed and what was given", () => {
    const bad = { ...base, PROJECT_SERVICE_URL: "ftp://x", PROJECT_ID: "a/b", PROJECT_SERVICE_TIMEOUT_MS: "0", DEFAULT_TEAM_MEMBERS: " , ", SEED_FAIL_AFTER_DELETE: "yes" };
    let msg = "";
    try {
      loadSeedConfig([], bad);
    } catch (err) {
      msg = (err as Error).message;
    }
    expect(msg).toContain('PROJECT_SERVICE_URL: must be an http:// or https:// URL');
    expect(msg).toContain('PROJECT_ID: must be 1-64 letters, digits');
    expect(msg).toContain('got "a/b"');
    expect(msg).toContain("PROJECT_SERVICE_TIMEOUT_MS: must be between 1 and 600000 ms");
    expect(msg).toContain("DEFAULT_TEAM_MEMBERS: must list at least one employee id");
    expect(msg).toContain("SEED_FAIL_AFTER_DELETE: must be 1 or 0");
  });
  test("a real run needs the database parts and the service URL; --dry-run needs neither", () => {
    expect(() => loadSeedConfig([], {})).toThrow(/POSTGRES_HOST[^\n]*: is required\n\s+PROJECT_SERVICE_URL/);
    expect(() => loadSeedConfig([], { POSTGRES_HOST: "h", PROJECT_SERVICE_URL: "http://ps" })).toThrow(/POSTGRES_USER: is required\n\s+POSTGRES_DB: is required/);
    expect(loadSeedConfig(["--dry-run"], {}).help).toBe(false);
    expect(() => loadSeedConfig(["--bogus"], base)).toThrow(/bogus.*--help/);
  });
  test("empty values count as unset; a DSN wins over the parts", () => {
    const r = loadSeedConfig([], { ...base, PROJECT_ID: "", BACKLOG_POSTGRES_DSN: "postgresql://a:b@h/x" });
    if (r.help) throw new Error("unexpected help");
    expect(r.config.projectId).toBe("TEST-001");
    expect(r.config.pg?.source).toBe("BACKLOG_POSTGRES_DSN");
  });
  test("the endpoint keeps a base path and drops credentials", () => {
    expect(teamMembersUrl("http://u:p@ps:8080/api", "T 1").href).toBe("http://ps:8080/api/projects/T%201/team-members");
  });
});

describe("scripts/seed.ts without writes", () => {
  test("--help states each variable's default as lib/config/vars.ts declares it (the help text loads no config)", () => {
    const stated = SEED_ENV_VARS.map((name) => ({ name, stated: /\(default ([^)]+)\)/.exec(ENV_DOCS[name]!)?.[1] }));
    const declared = SEED_ENV_VARS.map((name) => ({ name, stated: VARS.find((s) => s.name === name)?.default }));
    expect(stated).toEqual(declared);
  });

  test("--help lists every env var the config reads", async () => {
    const r = await runSeed({}, ["--help"]);
    expectExit(r, 0);
    for (const name of SEED_ENV_VARS) expect(r.stdout).toContain(name);
  });

  test("--dry-run without a database prints the plan with the service's team as JSON", async () => {
    const svc = await startProjectService({ body: teamMembersBody(["M1", "M2", "M3"]) });
    try {
      const r = await runSeed({ PROJECT_SERVICE_URL: svc.url, SPRINT_ID: "SPR-5" }, ["--dry-run"]);
      expectExit(r, 0);
      const plan = JSON.parse(r.stdout);
      expect(plan).toMatchObject({ dry_run: true, project_id: "TEST-001", sprint_id: "SPR-5", counts: { tasks: 8, stories: 4, mappings: 8 } });
      expect(plan.team).toEqual({ members: ["M1", "M2", "M3"], source: "project-service" });
      expect(plan.database).toEqual({ checked: false, reason: "no database configured" });
      expect(plan.tasks.map((t: { assigned_to: string }) => t.assigned_to)).toEqual(["M1", "M2", "M3", "M1", "M2", "M3", "M1", "M2"]);
      expect(plan.mappings).toHaveLength(8);
      // logs went to stderr, so stdout is exactly the JSON plan
      expect(JSON.parse(r.stderr.trim().split("\n").pop()!).event).toBe("Retrieved team members for project");
    } finally {
      await svc.close();
    }
  });

  test("--dry-run against a database checks the tables and writes nothing", async () => {
    const d = await freshDatabase({ migrated: true });
    dbs.push(d);
    const r = await runSeed(jobEnv(d, "http://127.0.0.1:9"), ["--dry-run"]);
    expectExit(r, 0);
    const plan = JSON.parse(r.stdout);
    expect(plan.database).toMatchObject({ checked: true, ok: true, tables: ["tasks", "stories", "story_tasks"] });
    expect(plan.team.source).toBe("default");
    expect(await d.sql`select 1 from tasks union all select 1 from stories union all select 1 from story_tasks`).toHaveLength(0);

    const empty = await freshDatabase();
    dbs.push(empty);
    const r2 = await runSeed(jobEnv(empty, "http://127.0.0.1:9"), ["--dry-run"]);
    expectExit(r2, 0);
    expect(JSON.parse(r2.stdout).database).toMatchObject({ checked: true, ok: false });
    expect(JSON.parse(r2.stdout).database.error).toContain("run migrations first");
  });

  test("config errors exit 1 naming the variable, before any connection", async () => {
    const r = await runSeed({ POSTGRES_HOST: "127.0.0.1", POSTGRES_USER: "u", POSTGRES_DB: "d", PROJECT_SERVICE_URL: "http://ps", PROJECT_SERVICE_TIMEOUT_MS: "soon" });
    expectExit(r, 1);
    expect(r.stderr).toContain('PROJECT_SERVICE_TIMEOUT_MS: must be a whole number of milliseconds between 1 and 600000 (e.g. 5000), got "soon"');
    expect(r.stdout).not.toContain("Starting backlog setup job...");
  });
});
