/**
 * The type half of typed-dispatch.test.ts, run with the suite: `tsc --noEmit -p .` over the whole repo
 * (tsconfig.json: strict, noUnusedLocals). Its `@ts-expect-error` lines only prove anything when the type
 * check runs, and a split or a rename that leaves a wrong import behind fails here, not at the next
 * `npm run typecheck` someone remembers to run.
 */
import { expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { expectExit } from "../helpers/exit.ts";
import { REPO } from "../helpers/run.ts";

test("tsc --noEmit -p . reports no error", () => {
  const r = spawnSync(join(REPO, "node_modules/.bin/tsc"), ["--noEmit", "-p", "."], { cwd: REPO, encoding: "utf8", timeout: 120_000 });
  expectExit({ code: r.status, stdout: r.stdout, stderr: r.stderr || r.error?.message || "", command: "tsc --noEmit -p ." });
  expect(r.stdout.trim()).toBe("");
}, 150_000);
