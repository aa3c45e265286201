/**
 * The cron runner asks again with the SAME claim after the server could not claim its minute (a 503 with
 * `claim_failed`): the real runner against the real server on BACKLOG_BACKEND=postgres, whose run ledger
 * talks to the real Postgres through a real TCP proxy that loses the claim's answer and then refuses
 * connections (tests/helpers/lossy-proxy.ts). Before: the runner printed the 503 and exited 1, the minute
 * stayed `running` in scheduler_runs and nobody ran it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import process from "node:process";
import postgres from "postgres";
import { buildAccess } from "../../lib/access/config.ts";
import { silentLogger } from "../../lib/core/log.ts";
import type { Sql } from "../../lib/pg/db.ts";
import { PostgresRunLedger } from "../../lib/scheduler/ledger-postgres.ts";
import { PostgresBacklogStore } from "../../lib/store/postgres/store.ts";
import { startServer, type RunningServer } from "../../server.ts";
import { freePort } from "../helpers/pg-cluster.ts";
import { expectExit } from "../helpers/exit.ts";
import { lossyProxy, type LossyProxy } from "../helpers/lossy-proxy.ts";
import { freshDatabase, type TestDb } from "../helpers/pg.ts";
import { REPO, type RunResult } from "../helpers/run.ts";
import { tempDir } from "../helpers/tmp.ts";

const KEY = "sched-key-retry-4711-secret";
const INSERT = "insert into scheduler_runs";
let db: TestDb;
let proxy: LossyProxy;
let ledgerSql: Sql;
let server: RunningServer;
let pinned = new Date();

beforeAll(async () => {
  db = await freshDatabase({ migrated: true });
  proxy = await lossyProxy(db.dsn);
  // prepare: false: every claim sends its text, so the proxy can find each one (not only the first).
  ledgerSql = postgres(proxy.dsn, { max: 1, prepare: false, onnotice: () => {} }) as unknown as Sql;
  const access = buildAccess({ agents: { scheduler: { key_env: "K", entitlements: ["tools.backlog.admin"] } } }, { K: KEY });
  server = await startServer({
    store: new PostgresBacklogStore({ sql: db.sql, log: silentLogger }),
    // The ledger's connection goes through the proxy; a short resolve window keeps the test quick.
    ledger: new PostgresRunLedger(ledgerSql, { resolveMs: 300 }),
    access,
    port: 0,
    log: silentLogger,
    env: { BACKLOG_REPORTS_DIR: tempDir("bb-retry-reports-") },
    clock: () => pinned,
  });
});
afterAll(async () => {
  await server.stop();
  await ledgerSql.end({ timeout: 1 });
  await proxy.close();
  await db.drop();
});

/** The runner for daily_backlog_cleanup's fire `minute`; `onStderr` sees its log lines as they come. */
function runner(minute: string, env: Record<string, string>, onStderr: (text: string) => void): Promise<RunResult> {
  const args = ["run", "ops/scripts/run_governance_job.ts", "--job", "daily_backlog_cleanup", "--scheduled-at", minute, "--tool", "backlog_tool", "--action", "cleanup", "--params-json", "{}"];
  const started = performance.now();
  const child = spawn(process.execPath, args, { cwd: REPO, env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ROUTER_URL: server.url, SCHEDULER_API_KEY: KEY, ...env } });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => {
    stderr += d;
    onStderr(stderr);
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - started });
    });
  });
}

const rows = (minute: string) =>
  db.sql<{ run_id: string; status: string; source: string }[]>`select run_id, status, source from scheduler_runs where job = 'daily_backlog_cleanup' and scheduled_at = ${minute}`;

describe("runner: a claim the server could not make", () => {
  test("answer lost, Postgres away: the runner asks again with the same claim and the minute runs once", async () => {
    const minute = "2026-11-23T03:40:00.000Z";
    pinned = new Date("2026-11-23T03:41:00Z");
    const lost = proxy.loseAnswer(INSERT);
    let reopened = false;
    const done = runner(minute, { RUNNER_CLAIM_RETRY_SECONDS: "60" }, (err) => {
      // The first 503 came back: let Postgres answer again before the runner's next attempt.
      if (!reopened && err.includes("asking again with the same claim")) {
        reopened = true;
        void proxy.refuse(false);
      }
    });
    await lost.happened; // the claim's INSERT committed; its answer is withheld
    await proxy.refuse(true);
    lost.cut();
    const r = await done;
    expectExit(r, 0);
    expect(reopened).toBe(true);
    expect(JSON.parse(r.stdout)).toMatchObject({ removed: 0 });
    expect(r.stdout + r.stderr).not.toContain(KEY);
    // One row: the runner's first claim, finished by its second call.
    expect([...(await rows(minute))]).toEqual([expect.objectContaining({ status: "success", source: "http:scheduler" })]);
    // Another call for that minute (a second cron host, the same runner by hand) is told `already ran`.
    const again = await runner(minute, {}, () => {});
    expectExit(again, 0);
    expect(JSON.parse(again.stdout)).toMatchObject({ skipped: "already ran" });
  }, 60_000);

  test("the server restarts while the runner asks again: a refused connection is asked again too, and the new server recognises the claim", async () => {
    const minute = "2026-11-27T03:40:00.000Z";
    const clock = () => new Date("2026-11-27T03:41:00Z");
    const port = await freePort();
    const access = buildAccess({ agents: { scheduler: { key_env: "K", entitlements: ["tools.backlog.admin"] } } }, { K: KEY });
    const start = (ledger: PostgresRunLedger) =>
      startServer({ store: new PostgresBacklogStore({ sql: db.sql, log: silentLogger }), ledger, access, port, log: silentLogger, env: { BACKLOG_REPORTS_DIR: tempDir("bb-retry-reports-") }, clock });
    let first: RunningServer | null = await start(new PostgresRunLedger(ledgerSql, { resolveMs: 300 }));
    let second: RunningServer | null = null;
    const lost = proxy.loseAnswer(INSERT);
    let phase = 0;
    const done = runner(minute, { RUNNER_CLAIM_RETRY_SECONDS: "60", ROUTER_URL: `http://127.0.0.1:${port}` }, (err) => {
      // the first 503 came back: the server goes away (a restart) before the runner asks again
      if (phase === 0 && err.includes("asking again with the same claim")) {
        phase = 1;
        void first!.stop().then(() => (first = null));
      }
      // the runner found it gone: a new process (no memory of the claim) comes up on the same port
      if (phase === 1 && err.includes("router refused the connection")) {
        phase = 2;
        void proxy.refuse(false).then(() => start(new PostgresRunLedger(db.sql))).then((s) => (second = s));
      }
    });
    await lost.happened;
    await proxy.refuse(true);
    lost.cut();
    const r = await done;
    await first?.stop();
    await (second as RunningServer | null)?.stop();
    expectExit(r, 0);
    expect(phase).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ removed: 0 });
    expect([...(await rows(minute))]).toEqual([expect.objectContaining({ status: "success" })]);
  }, 60_000);

  test("RUNNER_CLAIM_RETRY_SECONDS=0: the 503 is reported at once, naming the bound; nothing ran", async () => {
    const minute = "2026-11-24T03:40:00.000Z";
    pinned = new Date("2026-11-24T03:41:00Z");
    const lost = proxy.loseAnswer(INSERT);
    const done = runner(minute, { RUNNER_CLAIM_RETRY_SECONDS: "0" }, () => {});
    await lost.happened;
    await proxy.refuse(true);
    lost.cut();
    const r = await done;
    await proxy.refuse(false);
    expectExit(r, 1);
    expect(r.stderr).toContain("whether the claim was recorded is unknown");
    expect(r.stderr).toContain("asked 1 time over");
    expect(r.stderr).toContain("RUNNER_CLAIM_RETRY_SECONDS=0");
    expect([...(await rows(minute))]).toEqual([expect.objectContaining({ status: "running" })]);
  }, 60_000);

  test("a ledger error asking again cannot fix (no scheduler_runs table) is reported at once, not repeated", async () => {
    const empty = await freshDatabase({ migrated: false });
    const access = buildAccess({ agents: { scheduler: { key_env: "K", entitlements: ["tools.backlog.admin"] } } }, { K: KEY });
    const other = await startServer({
      store: new PostgresBacklogStore({ sql: db.sql, log: silentLogger }),
      ledger: new PostgresRunLedger(empty.sql),
      access,
      port: 0,
      log: silentLogger,
      env: { BACKLOG_REPORTS_DIR: tempDir("bb-retry-reports-") },
      clock: () => new Date("2026-11-26T03:41:00Z"),
    });
    try {
      const args = ["run", "ops/scripts/run_governance_job.ts", "--job", "daily_backlog_cleanup", "--scheduled-at", "2026-11-26T03:40:00Z", "--tool", "backlog_tool", "--action", "cleanup"];
      const r = await new Promise<RunResult>((resolve) => {
        let stdout = "";
        let stderr = "";
        const child = spawn(process.execPath, args, { cwd: REPO, env: { PATH: process.env.PATH ?? "", ROUTER_URL: other.url, SCHEDULER_API_KEY: KEY, RUNNER_CLAIM_RETRY_SECONDS: "60" } });
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        child.on("close", (code) => resolve({ code, stdout, stderr, ms: 0 }));
      });
      expectExit(r, 1);
      expect(r.stderr).toContain("the table scheduler_runs does not exist");
      expect(r.stderr).not.toContain("asking again");
    } finally {
      await other.stop();
      await empty.drop();
    }
  });

  test("the same claim_token again after its run finished is not run again; a bad one is a 400 naming it", async () => {
    pinned = new Date("2026-11-25T03:41:00Z");
    const post = (body: Record<string, unknown>) =>
      fetch(`${server.url}/v1/tools/execute`, {
        method: "POST",
        headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
        body: JSON.stringify({ tool: "backlog_tool", action: "cleanup", job: "daily_backlog_cleanup", scheduled_at: "2026-11-25T03:40:00.000Z", ...body }),
      }).then(async (res) => ({ status: res.status, body: await res.json() }));
    const token = "tok_0123456789abcdef";
    expect(await post({ claim_token: token })).toMatchObject({ status: 200, body: { removed: 0 } });
    expect(await post({ claim_token: token })).toMatchObject({ status: 200, body: { skipped: "already ran" } });
    const bad = await post({ claim_token: "short" });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toContain("claim_token");
  });
});
