/**
 * One temp folder per test run: preload.ts points TMPDIR at /tmp/bb-run-<pid>-XXXXXX before any test
 * runs, so every mkdtemp of a test (and of the children that inherit TMPDIR) lands inside it. At the end
 * the run lists what the tests left there (a test must remove what it creates: the list names the
 * leaks, and the run fails on them) and removes the folder, so /tmp is as the run found it. A run that
 * was killed leaves its folder; the next run removes folders whose pid is gone.
 */
import { chmodSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";

export const RUN_PREFIX = "bb-run-";

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
};

export interface TmpRun {
  dir: string;
  /** Entries the tests left behind, not counting `keep` (e.g. the Postgres cluster, stopped last). */
  leftovers(keep?: string[]): string[];
  remove(): void;
}

/** Run folders of test runs that are no longer alive (a kill -9, a crash). */
export function staleRunDirs(base: string): string[] {
  return readdirSync(base)
    .filter((n) => n.startsWith(RUN_PREFIX))
    .filter((n) => {
      const pid = Number(n.slice(RUN_PREFIX.length).split("-")[0]);
      return Number.isInteger(pid) && pid > 0 && !alive(pid);
    })
    .map((n) => join(base, n));
}

export function beginTmpRun(base = process.env.TMPDIR || "/tmp"): TmpRun {
  const dir = mkdtempSync(join(base, `${RUN_PREFIX}${process.pid}-`));
  // 0755: the throwaway Postgres runs as user postgres (when we are root) and must reach its cluster here.
  chmodSync(dir, 0o755);
  process.env.TMPDIR = dir;
  return {
    dir,
    leftovers: (keep = []) => readdirSync(dir).filter((n) => !keep.includes(n)).sort(),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
