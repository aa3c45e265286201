/**
 * Temp folders for tests: `tempDir("bb-x-")` makes one under the run's TMPDIR and registers it, and the
 * run removes every registered folder at its end (tests/helpers/preload.ts). Anything else a test
 * leaves in TMPDIR is a leak that fails the run (tmp-run.ts). Remove earlier with removeTempDir when a
 * test makes many or large ones.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// On globalThis: the preload and the test files must see one registry even if loaded twice.
const registry: Set<string> = ((globalThis as { __bbTempDirs?: Set<string> }).__bbTempDirs ??= new Set());

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  registry.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  registry.delete(dir);
}

/** Removes every folder made with tempDir (the run's end). */
export function removeAllTempDirs(): void {
  for (const dir of registry) removeTempDir(dir);
}
