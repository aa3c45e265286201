/**
 * A cross-process lock on a directory (proper-lockfile: `mkdir <dir>/.lock`, mtime refreshed while
 * held, taken over once older than `staleMs` — so a holder killed with -9 blocks others for at most
 * that long). Inside one process, callers on the same directory are queued first, because
 * proper-lockfile tracks one holder per path per process.
 */
import { join, resolve } from "node:path";
import { AppError, describeError } from "../core/errors.ts";
import type { Logger } from "../core/log.ts";

export interface DirLockOptions {
  /** A lock not refreshed for this long belongs to a dead process and is taken over (min 2000). */
  staleMs: number;
  /** How long to wait for a live holder before giving up; default max(30 s, 3 × staleMs). */
  waitMs?: number;
  log: Logger;
}

export const MIN_STALE_MS = 2000;

/** Tail of the in-process queue per lock path. */
const queues = new Map<string, Promise<unknown>>();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class DirLock {
  readonly dir: string;
  readonly lockPath: string;
  private readonly staleMs: number;
  private readonly waitMs: number;
  private readonly log: Logger;

  constructor(dir: string, options: DirLockOptions) {
    if (!Number.isInteger(options.staleMs) || options.staleMs < MIN_STALE_MS) {
      throw new AppError("invalid_input", `lockStaleMs: expected a whole number of milliseconds >= ${MIN_STALE_MS}, got ${JSON.stringify(options.staleMs)}.`);
    }
    this.dir = resolve(dir);
    this.lockPath = join(this.dir, ".lock");
    this.staleMs = options.staleMs;
    this.waitMs = options.waitMs ?? Math.max(30_000, 3 * options.staleMs);
    this.log = options.log;
  }

  /** Runs `fn` while holding the lock; waits (with jittered backoff) for other holders. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    return this.queued(async () => {
      const release = await this.acquire(true);
      return this.holding(release!, fn);
    });
  }

  /** Runs `fn` only if the lock is free right now; otherwise resolves `undefined` without waiting. */
  tryRun<T>(fn: () => Promise<T>): Promise<T | undefined> {
    return this.queued(async () => {
      const release = await this.acquire(false);
      return release ? this.holding(release, fn) : undefined;
    });
  }

  private queued<T>(fn: () => Promise<T>): Promise<T> {
    const prev = queues.get(this.lockPath) ?? Promise.resolve();
    const result = prev.then(fn, fn);
    const tail = result.then(
      () => {},
      () => {},
    );
    queues.set(this.lockPath, tail);
    void tail.then(() => {
      if (queues.get(this.lockPath) === tail) queues.delete(this.lockPath);
    });
    return result;
  }

  private async holding<T>(release: () => Promise<void>, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } finally {
      await release().catch((err) => this.log.warn("file_lock_release_failed", { lock: this.lockPath, error: describeError(err) }));
    }
  }

  private async acquire(wait: boolean): Promise<(() => Promise<void>) | null> {
    const deadline = Date.now() + this.waitMs;
    let delay = 1;
    // Loaded on the first lock, not at import: a read-only run (a dry-run cleanup) never pays for it.
    const lockfile = (await import("proper-lockfile")).default;
    for (;;) {
      try {
        return await lockfile.lock(this.dir, {
          lockfilePath: this.lockPath,
          stale: this.staleMs,
          retries: 0,
          realpath: false,
          onCompromised: (err) =>
            // The default throws from a timer and kills the process; the write already in flight
            // cannot be undone, so say loudly that exclusivity may have been lost.
            this.log.error("file_lock_compromised", {
              lock: this.lockPath,
              error: describeError(err),
              hint: "the event loop was blocked longer than lockStaleMs or the lock dir was removed by hand",
            }),
        });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ELOCKED") {
          throw new AppError("unavailable", `Cannot lock ${this.lockPath}: ${describeError(err)}. The directory must exist and be writable.`, { cause: err });
        }
        if (!wait) return null;
        if (Date.now() >= deadline) {
          throw new AppError(
            "unavailable",
            `Timed out after ${this.waitMs} ms waiting for the lock ${this.lockPath}, held by another live process. ` +
              `If no backlog process is running, remove that directory; a dead holder's lock is taken over after ${this.staleMs} ms.`,
            { cause: err },
          );
        }
        await sleep(delay * (0.5 + Math.random()));
        delay = Math.min(delay * 2, 50);
      }
    }
  }
}
