/**
 * A throwaway PostgreSQL cluster for tests: initdb + pg_ctl in a temp dir, a free port on 127.0.0.1,
 * fsync off, run as the `postgres` user when we are root (initdb refuses to run as root).
 * Clusters left behind by a killed run are found by their owner pid and removed on the next start.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";

const CANDIDATES = [process.env.PG_BIN, "/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/17/bin"];
const PREFIX = "bb-pg-";
export const TEST_PG_PASSWORD = "test-secret-pw";

export interface Cluster {
  dir: string;
  dataDir: string;
  port: number;
  bin: string;
  /** Superuser DSN to the `postgres` database, password included (tests only). */
  dsn: string;
  stop(): void;
  /** Stops the server but keeps the data (outage tests). */
  pause(): void;
  /** Starts a paused server again on the same port. */
  resume(): void;
}

export function findPgBin(candidates: (string | undefined)[] = CANDIDATES): string {
  for (const dir of candidates) {
    if (dir && existsSync(join(dir, "initdb")) && existsSync(join(dir, "pg_ctl"))) return dir;
  }
  throw new Error(
    "PostgreSQL server binaries (initdb, pg_ctl) were not found in " +
      candidates.filter(Boolean).join(", ") +
      ". The Postgres tests need a real server. Install it with `apt-get update && apt-get install -y postgresql` " +
      "(Debian/Ubuntu), set PG_BIN to the directory holding initdb/pg_ctl, or set TEST_POSTGRES_DSN to a server " +
      "you run (the role needs CREATEDB).",
  );
}

const isRoot = () => typeof process.getuid === "function" && process.getuid() === 0;

function run(bin: string, args: string[], opts: { allowFail?: boolean } = {}): string {
  const [cmd, argv] = isRoot() ? ["runuser", ["-u", "postgres", "--", bin, ...args]] : [bin, args];
  const res = spawnSync(cmd, argv as string[], { encoding: "utf8", timeout: 60_000 });
  if (res.status !== 0 && !opts.allowFail) {
    throw new Error(`${bin} ${args.join(" ")} failed (exit ${res.status}): ${res.stderr || res.stdout || res.error}`);
  }
  return res.stdout;
}

export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
}

/**
 * `n` distinct free ports on 127.0.0.1: all are held open until the last is found, since a port closed
 * and asked for again can come back (two programs of one test then fight over it).
 */
export async function freePorts(n: number): Promise<number[]> {
  const held: Server[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const srv = createServer();
      held.push(srv);
      await new Promise<void>((resolve, reject) => {
        srv.once("error", reject);
        srv.listen(0, "127.0.0.1", () => resolve());
      });
    }
    return held.map((srv) => (srv.address() as AddressInfo).port);
  } finally {
    await Promise.all(held.map((srv) => new Promise((r) => srv.close(r))));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Removes clusters whose owning test process died without cleaning up (kill -9, OOM, ...). */
export function reapStaleClusters(bin: string, base = tmpdir()): void {
  for (const name of readdirSync(base)) {
    if (!name.startsWith(PREFIX)) continue;
    const dir = join(base, name);
    try {
      const owner = Number(readFileSync(join(dir, "owner.pid"), "utf8"));
      if (owner && alive(owner)) continue;
      run(join(bin, "pg_ctl"), ["-D", join(dir, "data"), "-m", "immediate", "-w", "stop"], { allowFail: true });
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // not ours or half-made: leave it
    }
  }
}

export async function startCluster(): Promise<Cluster> {
  const bin = findPgBin();
  reapStaleClusters(bin);
  const dir = mkdtempSync(join(tmpdir(), PREFIX));
  writeFileSync(join(dir, "owner.pid"), String(process.pid));
  writeFileSync(join(dir, "pwfile"), TEST_PG_PASSWORD + "\n");
  if (isRoot()) {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
    for (const p of [dir, join(dir, "pwfile")]) chownSync(p, uid, gid);
  }
  const dataDir = join(dir, "data");
  run(join(bin, "initdb"), [
    "-D", dataDir, "-U", "postgres", "-E", "UTF8", "--no-sync", "--locale=C",
    "--auth-local=trust", "--auth-host=scram-sha-256", `--pwfile=${join(dir, "pwfile")}`,
  ]);
  const port = await freePort();
  const opts = [
    "-c listen_addresses=127.0.0.1", `-p ${port}`, `-c unix_socket_directories=${dir}`,
    "-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off", "-c max_connections=300",
  ].join(" ");
  const pgctl = join(bin, "pg_ctl");
  const start = () => run(pgctl, ["-D", dataDir, "-o", opts, "-l", join(dir, "server.log"), "-w", "-t", "60", "start"]);
  const halt = () => run(pgctl, ["-D", dataDir, "-m", "immediate", "-w", "stop"], { allowFail: true });
  start();
  let stopped = false;
  return {
    dir,
    dataDir,
    port,
    bin,
    dsn: `postgresql://postgres:${TEST_PG_PASSWORD}@127.0.0.1:${port}/postgres`,
    stop() {
      if (stopped) return;
      stopped = true;
      halt();
      rmSync(dir, { recursive: true, force: true });
    },
    pause: halt,
    resume: start,
  };
}
