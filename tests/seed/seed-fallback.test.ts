/**
 * When the Project Service cannot give a usable team, the setup job still succeeds: it logs a warning
 * naming the reason and assigns tasks round-robin to DEFAULT_TEAM_MEMBERS.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { freePort } from "../helpers/pg-cluster.ts";
import { freshDatabase, type TestDb } from "../helpers/pg.ts";
import { startProjectService, type Respond } from "../helpers/project-service.ts";
import { assignments, jobEnv, logLines, pgPassword, runSeed } from "../helpers/seed-job.ts";
import { expectExit } from "../helpers/exit.ts";

const dbs: TestDb[] = [];
afterAll(async () => {
  for (const d of dbs) await d.drop();
});

const WARNING = "Could not retrieve team members from the project service; using the default team members";
const FALLBACK = ["DEF-1", "DEF-2", "DEF-3"];

interface Case {
  name: string;
  /** null: nothing listens on the port. */
  respond: Respond | null;
  reason: RegExp;
}

const cases: Case[] = [
  { name: "service down (closed port)", respond: null, reason: /^request failed: / },
  { name: "HTTP 500", respond: { status: 500, body: { error: "boom" } }, reason: /^HTTP 500 from the project service$/ },
  { name: "HTTP 404", respond: { status: 404, body: { error: "no such project" } }, reason: /^HTTP 404/ },
  { name: "hangs past PROJECT_SERVICE_TIMEOUT_MS", respond: "hang", reason: /^timed out after 300ms \(PROJECT_SERVICE_TIMEOUT_MS\)$/ },
  { name: "garbage instead of JSON", respond: { body: "<html>oops" }, reason: /^response is not valid JSON \(starts with "<html>oops"\)$/ },
  { name: "empty list", respond: { body: { team_members: [] } }, reason: /empty team member list/ },
  { name: "no usable ids", respond: { body: [{ name: "no id" }, { employee_id: "  " }, null, true] }, reason: /none of the 4 team members has a usable id/ },
  { name: "an object without any list", respond: { body: { team: "x" } }, reason: /holds no list of team members/ },
];

describe("seed: Project Service fallback", () => {
  for (const c of cases) {
    test(`${c.name} → warning with the reason, defaults round-robin, exit 0`, async () => {
      const d = await freshDatabase({ migrated: true });
      dbs.push(d);
      const svc = c.respond === null ? null : await startProjectService(c.respond);
      const url = svc?.url ?? `http://127.0.0.1:${await freePort()}`;
      try {
        const r = await runSeed(
          jobEnv(d, url, { PROJECT_SERVICE_TIMEOUT_MS: "300", DEFAULT_TEAM_MEMBERS: " DEF-1, DEF-2,,DEF-3 ,DEF-1" }),
          [],
          30_000,
        );
        expect(r.stderr).toBe("");
        expectExit(r, 0);
        const lines = logLines(r.stdout);
        const warn = lines.find((l) => l.event === WARNING);
        expect(warn).toMatchObject({ level: "warn", project_id: "TEST-001", count: 3, url: `${url}/projects/TEST-001/team-members` });
        expect(String(warn!.reason)).toMatch(c.reason);
        const events = lines.map((l) => l.event);
        expect(events).not.toContain("Retrieved team members for project");
        expect(events).toContain("Backlog setup completed successfully. Created 8 backlog items for project TEST-001");
        expect(await assignments(d.sql)).toEqual([...FALLBACK, ...FALLBACK, ...FALLBACK.slice(0, 2)]);
        expect(r.stdout).not.toContain(pgPassword());
      } finally {
        await svc?.close();
      }
    });
  }

  test("without DEFAULT_TEAM_MEMBERS the built-in four employees are used", async () => {
    const d = await freshDatabase({ migrated: true });
    dbs.push(d);
    const svc = await startProjectService({ status: 503, body: "unavailable" });
    try {
      const r = await runSeed(jobEnv(d, svc.url));
      expectExit(r, 0);
      const four = ["EMP-001", "EMP-002", "EMP-003", "EMP-004"];
      expect(await assignments(d.sql)).toEqual([...four, ...four]);
    } finally {
      await svc.close();
    }
  });
});
