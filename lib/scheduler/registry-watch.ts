/**
 * The task registry as a long-running process sees it: read at start, and read again whenever the file
 * changed (its mtime, size or inode, checked by a stat on each `current()` — each scheduler fire and
 * minute tick, each claim over HTTP, each metrics snapshot), so `suspend: true` written while the
 * server runs takes effect at the next fire, without a restart.
 *
 * A file that no longer loads (bad YAML, a bad value, gone) keeps the last good registry: the jobs go
 * on as they were, and the error — naming the file's line — is logged once per change of the file and
 * counted (`onError`), not thrown at every fire.
 */
import { statSync } from "node:fs";
import { displayPath } from "../config/index.ts";
import { describeError } from "../core/errors.ts";
import type { Logger } from "../core/log.ts";
import { type JobSpec, loadRegistry, suspendedJobs } from "./registry.ts";

export interface RegistryView {
  jobs: JobSpec[];
  /** Suspended jobs and their reasons (null: none given). */
  suspended: ReadonlyMap<string, string | null>;
  /** Catch-up window per job id in ms (0: none). */
  catchUpMs: Record<string, number>;
  /** The file, as messages name it (lib/config displayPath). */
  source: string;
}

export interface RegistryWatchOptions {
  log: Logger;
  /** A changed file that did not load (its error is logged here already); `ok` after one that did. */
  onLoad?(ok: boolean): void;
}

export interface RegistryWatch {
  readonly file: string;
  /** The registry now: re-read first when the file changed since the last look. */
  current(): RegistryView;
}

function viewOf(jobs: JobSpec[], file: string): RegistryView {
  return { jobs, suspended: suspendedJobs(jobs), catchUpMs: Object.fromEntries(jobs.map((j) => [j.id, j.catchUpMs])), source: displayPath(file) };
}

/** What tells a changed file: an editor's atomic rename changes the inode, an in-place write mtime/size. */
function stamp(file: string): string {
  try {
    const s = statSync(file);
    return `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
  } catch (err) {
    return `missing:${(err as NodeJS.ErrnoException).code ?? describeError(err)}`;
  }
}

/** Loads `file` now (a bad file throws: the server does not start on it) and watches it from then on. */
export function watchRegistry(file: string, options: RegistryWatchOptions): RegistryWatch {
  let seen = stamp(file);
  let view = viewOf(loadRegistry(file), file);
  return {
    file,
    current(): RegistryView {
      const now = stamp(file);
      if (now === seen) return view;
      seen = now;
      let jobs: JobSpec[];
      try {
        jobs = loadRegistry(file);
      } catch (err) {
        options.log.error("task registry changed but does not load: keeping the last good one", {
          file,
          error: describeError(err),
          fix: "correct the file; it is read again at its next change",
        });
        options.onLoad?.(false);
        return view;
      }
      const next = viewOf(jobs, file);
      const suspended = [...next.suspended.keys()].filter((id) => !view.suspended.has(id));
      const resumed = [...view.suspended.keys()].filter((id) => !next.suspended.has(id));
      options.log.info("task registry reloaded", { file, suspended, resumed, jobs: jobs.length });
      view = next;
      options.onLoad?.(true);
      return view;
    },
  };
}
