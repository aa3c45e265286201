/**
 * A fresh checkout the way a newcomer gets one: the files `git clone` of this working tree would hold
 * (tracked plus new, not ignored: no ops/backlog data, no dist/), node_modules linked from this checkout
 * (what `npm ci` would install), and a PATH with node and npm but no bun, since npm puts bun in
 * node_modules/.bin only. Commands run through bash exactly as a reader pastes them.
 */
import { execFileSync, spawn } from "node:child_process";
import { accessSync, constants, cpSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import process from "node:process";
import { REPO } from "./run.ts";

export interface Clone {
  dir: string;
  env: Record<string, string>;
  /** bash -c `command` in the clone; env adds to (or, with undefined, removes from) the clone's env. */
  sh(command: string, opts?: { env?: Record<string, string | undefined>; timeoutMs?: number }): Promise<ShResult>;
  remove(): void;
}

export interface ShResult {
  command: string;
  code: number | null;
  stdout: string;
  stderr: string;
}

const onPath = (name: string, path: string) =>
  path.split(delimiter).filter((d) => {
    try {
      accessSync(join(d, name), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });

/** PATH for the clone: the folders holding node and npm, and the system dirs (sh, coreutils, runuser); never bun. */
export function pathWithoutBun(): string {
  const dirs = new Set<string>();
  for (const tool of ["node", "npm", "npx"]) {
    const found = onPath(tool, process.env.PATH ?? "")[0];
    if (!found) throw new Error(`${tool} is not on PATH: the README's commands need Node.js and npm (apt-get install -y nodejs npm)`);
    dirs.add(found);
  }
  for (const d of ["/usr/local/sbin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]) dirs.add(d); // a login shell's system dirs (runuser is in sbin)
  const path = [...dirs].join(delimiter);
  const bun = onPath("bun", path);
  if (bun.length) throw new Error(`bun is installed globally in ${bun.join(", ")}: this test needs a PATH without bun`);
  return path;
}

/** Into `dir`: what `git clone` of this working tree would hold, and node_modules linked from it. */
function copyCheckout(dir: string): void {
  const files = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: REPO, encoding: "utf8" })
    .split("\0")
    .filter(Boolean);
  for (const f of files) {
    try {
      cpSync(join(REPO, f), join(dir, f), { preserveTimestamps: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err; // deleted in the working tree, not yet committed
    }
  }
  symlinkSync(realpathSync(join(REPO, "node_modules")), join(dir, "node_modules"));
  mkdirSync(join(dir, ".home"));
}

export function freshClone(prefix = "bb-clone-"): Clone {
  const path = pathWithoutBun(); // before the folder: a refusal leaves nothing behind
  const dir = mkdtempSync(join(tmpdir(), prefix));
  try {
    copyCheckout(dir);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true }); // else the run's leftover check fails a second time for it
    throw err;
  }
  const env: Record<string, string> = {
    PATH: path,
    HOME: join(dir, ".home"), // npm's cache and logs, bun's install cache: inside the clone, removed with it
    LANG: "C.UTF-8",
    TMPDIR: tmpdir(),
    npm_config_update_notifier: "false",
    npm_config_fund: "false",
  };
  const sh = (command: string, opts: { env?: Record<string, string | undefined>; timeoutMs?: number } = {}) =>
    new Promise<ShResult>((resolve, reject) => {
      const e = { ...env };
      for (const [k, v] of Object.entries(opts.env ?? {})) v === undefined ? delete e[k] : (e[k] = v);
      const child = spawn("/bin/bash", ["-c", command], { cwd: dir, env: e });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 120_000);
      child.on("error", reject);
      child.on("close", (code) => {
        clearTimeout(timer);
        resolve({ command, code, stdout, stderr });
      });
    });
  return { dir, env, sh, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
