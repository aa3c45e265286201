/**
 * Issue 16, item 4: the demo keeps to itself and stops cleanly. From a fresh clone with no bun on PATH:
 * `npm run demo` writes only under ops/demo/ (never ops/backlog/, ops/reports/ or a configured Postgres),
 * serves on its own port, and stopping it by the PID of npm (or of npx), or with Ctrl-C, leaves no
 * process behind and the port free.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import process from "node:process";
import { expectExit } from "../helpers/exit.ts";
import { type Clone, freshClone } from "../helpers/fresh-clone.ts";
import { freshDatabase, type TestDb } from "../helpers/pg.ts";

let clone: Clone;
let db: TestDb;
const started: number[] = []; // every pid seen, killed for sure at the end if a test failed midway
beforeAll(async () => {
  clone = freshClone("bb-demo-clone-");
  db = await freshDatabase({ migrated: true });
});
afterAll(async () => {
  for (const pid of started) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
  }
  clone?.remove();
  await db?.drop();
});

/** The pids of every descendant of `pid` (from /proc), i.e. what the demo started. */
function descendants(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // pid (comm) state ppid …: comm may hold spaces and parentheses, so read after the last ")"
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      parentOf.set(Number(name), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {}
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [child, parent] of parentOf) if (parent === p) out.push(child), walk(child);
  };
  walk(pid);
  return out;
}
const alive = (pid: number) => {
  try {
    // a zombie has exited already; only its parent has not collected it yet
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
};
const cmdline = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ").trim();
  } catch {
    return "(gone)";
  }
};
const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect(port, "127.0.0.1");
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
  });

/** Waits (bounded, never asserting a duration) until every pid has exited. */
async function gone(pids: number[], within = 30_000): Promise<string[]> {
  const until = Date.now() + within;
  while (Date.now() < until && pids.some(alive)) await Bun.sleep(100);
  return pids.filter(alive).map((p) => `${p} ${cmdline(p)}`);
}

interface Demo {
  child: ChildProcess;
  url: string;
  port: number;
  tree: number[];
  closed: Promise<number | null>;
}

/** Starts `command` in the clone as its own process group (like a terminal's foreground job). */
async function startDemo(command: string): Promise<Demo> {
  const child = spawn("/bin/bash", ["-c", `exec ${command}`], { cwd: clone.dir, env: clone.env, detached: true });
  started.push(child.pid!);
  // "exit", not "close": an orphan would keep the stdout pipe open and "close" would never come
  const closed = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  let out = "";
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${command} did not print its dashboard URL:\n${out}`)), 90_000);
    child.stdout!.on("data", (d) => {
      out += d;
      const m = /Dashboard: (http:\/\/127\.0\.0\.1:\d+)\/dashboard\?env=prod/.exec(out);
      if (m) clearTimeout(timer), resolve(m[1]!);
    });
    child.stderr!.on("data", (d) => (out += d));
    closed.then((code) => reject(new Error(`${command} exited (${code}) before serving:\n${out}`)));
  });
  const tree = descendants(child.pid!);
  started.push(...tree);
  return { child, url, port: Number(new URL(url).port), tree, closed };
}

describe("demo isolation", () => {
  test("npm run demo writes only its own folder, even with a DSN and real-store variables set", async () => {
    const realDir = join(clone.dir, "real-store");
    const r = await clone.sh("npm run demo -- --no-serve", {
      env: { BACKLOG_BACKEND: "postgres", BACKLOG_POSTGRES_DSN: db.dsn, BACKLOG_JSONL_DIR: realDir, BACKLOG_REPORTS_DIR: join(realDir, "reports"), PORT: "1" },
    });
    expectExit(r, 0, "npm run demo -- --no-serve");
    expect(r.stdout).toContain("on JsonlBacklogStore");
    expect(existsSync(realDir)).toBe(false);
    expect(readdirSync(join(clone.dir, "ops/backlog"))).toEqual([".gitkeep"]);
    expect(existsSync(join(clone.dir, "ops/reports/platform"))).toBe(false);
    expect(existsSync(join(clone.dir, "ops/demo/backlog/items.jsonl"))).toBe(true);
    expect(readdirSync(join(clone.dir, "ops/demo/reports/platform")).length).toBeGreaterThan(0);
    const [row] = await db.sql`select count(*)::int as n from backlog_items`;
    expect(row?.n).toBe(0); // the Postgres the environment named got nothing
  }, 120_000);

  test("a --data-dir that is the real backlog or reports folder is refused before anything is written", async () => {
    // The demo serves its folder without a key: pointed at ops/ it would open the real backlog to anyone on loopback.
    const atDefault = await clone.sh("npx bun run scripts/demo.ts --data-dir ops --no-serve");
    expectExit(atDefault, 1, "demo --data-dir ops");
    expect(atDefault.stderr).toContain("--data-dir ops: the demo would put its sample data into ops/backlog, the real backlog folder (BACKLOG_JSONL_DIR)");
    expect(readdirSync(join(clone.dir, "ops/backlog"))).toEqual([".gitkeep"]);
    expect(existsSync(join(clone.dir, "ops/reports"))).toBe(false);
    const realReports = join(clone.dir, "elsewhere/reports");
    const atVariable = await clone.sh("npx bun run scripts/demo.ts --data-dir elsewhere --no-serve", { env: { BACKLOG_REPORTS_DIR: realReports } });
    expectExit(atVariable, 1, "demo --data-dir elsewhere with BACKLOG_REPORTS_DIR=elsewhere/reports");
    expect(atVariable.stderr).toContain("the real reports folder (BACKLOG_REPORTS_DIR)");
    expect(existsSync(join(clone.dir, "elsewhere"))).toBe(false);
  }, 60_000);

  test("--port and --data-dir are validated and documented", async () => {
    const bad = await clone.sh("npx bun run scripts/demo.ts --port 80x --no-serve");
    expectExit(bad, 1, "demo --port 80x");
    expect(bad.stderr).toContain('--port: expected a port number 0-65535 (0 = any free port), got "80x"');
    const help = await clone.sh("npm run demo -- --help");
    expect(help.stdout).toContain("--data-dir DIR  where the demo's backlog, risk history and digests go (default ops/demo/).");
    expect(help.stdout).toContain("--port N        dashboard port on 127.0.0.1 (default 8100; 0 picks a free one).");
  }, 60_000);
});

describe("stopping the demo", () => {
  const stops: [string, string, (d: Demo) => void][] = [
    ["npm run demo, SIGTERM to npm's pid", "npm run demo -- --port 0", (d) => process.kill(d.child.pid!, "SIGTERM")],
    ["npm run demo, Ctrl-C (SIGINT to the process group)", "npm run demo -- --port 0", (d) => process.kill(-d.child.pid!, "SIGINT")],
    ["npx bun run scripts/demo.ts, SIGTERM to npx's pid", "npx bun run scripts/demo.ts --port 0", (d) => process.kill(d.child.pid!, "SIGTERM")],
  ];
  for (const [name, command, stop] of stops) {
    test(`${name}: no process left, port free`, async () => {
      const d = await startDemo(command);
      expect(d.tree.length).toBeGreaterThan(0); // the bun process serving the dashboard
      expect((await fetch(`${d.url}/dashboard?env=prod`)).status).toBe(200);
      stop(d);
      await d.closed;
      expect(await gone(d.tree)).toEqual([]);
      expect(await portOpen(d.port)).toBe(false);
    }, 150_000);
  }
});
