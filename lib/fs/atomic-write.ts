/**
 * THE way a file is replaced whole (JSONL rewrites and compactions, the outage journal's prune, reports):
 * a temp file `.<name>.<pid>.<hex>.tmp` in the same directory, every byte written, fsync, rename over the
 * target, fsync the directory. A crash at any point leaves the complete old or the complete new file,
 * plus at worst a temp file, which removeStaleTemps clears on a later open.
 */
import { closeSync, fsyncSync, openSync, readdirSync, statSync, unlinkSync } from "node:fs";
import { open, rename } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { basename, dirname, join } from "node:path";
import process from "node:process";
import type { Logger } from "../core/log.ts";

const TEMP_NAME = /^\..+\.\d+\.[0-9a-f]+\.tmp$/;

/**
 * A temp file of another kind than the caller's own (see removeStaleTemps) goes only once it is this old:
 * its writer may hold another lock and still be writing; no rewrite takes an hour.
 */
export const FOREIGN_TEMP_AGE_MS = 60 * 60 * 1000;

export const tempPathFor = (path: string) => join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);

/**
 * Replaces `path` with `chunks`. On failure the temp file is removed and the error rethrown as it is
 * (callers word it: which file, what to check); the target is then unchanged. Returns the bytes written.
 */
export async function replaceFile(path: string, chunks: Iterable<string | Uint8Array>): Promise<number> {
  const tmp = tempPathFor(path);
  let size = 0;
  try {
    const out = await open(tmp, "wx");
    try {
      for (const chunk of chunks) {
        const buf = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;
        let done = 0;
        while (done < buf.length) done += (await out.write(buf, done, buf.length - done)).bytesWritten;
        size += buf.length;
      }
      await out.sync();
    } finally {
      await out.close();
    }
    await rename(tmp, path);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {}
    throw err;
  }
  syncDir(dirname(path));
  return size;
}

/** Makes a rename durable. Some platforms refuse to fsync a directory; the rename itself is already atomic. */
export function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch {
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Temp files replaceFile left in `dir` (none if it cannot be listed). */
export function listTemps(dir: string): string[] {
  try {
    return readdirSync(dir).filter((name) => TEMP_NAME.test(name));
  } catch {
    return [];
  }
}

/**
 * Removes temp files of replacements that never finished (a crash between create and rename). The
 * caller holds the lock that guards the files named in `own` (e.g. items.jsonl, events.jsonl): their
 * temps go at once; any other file's temp goes only after FOREIGN_TEMP_AGE_MS.
 */
export function removeStaleTemps(dir: string, own: readonly string[], log: Logger, now = Date.now()): number {
  let removed = 0;
  for (const name of listTemps(dir)) {
    const file = join(dir, name);
    try {
      const mine = own.some((o) => name.startsWith(`.${o}.`));
      if (!mine && now - statSync(file).mtimeMs < FOREIGN_TEMP_AGE_MS) continue;
      unlinkSync(file);
      removed++;
      log.warn("backlog_jsonl_temp_removed", { file, hint: "left by a rewrite that crashed before its rename; the real file was never touched" });
    } catch {}
  }
  return removed;
}
