/**
 * lib/core/cli.ts: a reader that stops reading (`… | head`, `… | less` quit early) is not a failure of
 * the script: no stack trace, exit 0. `scripts/migrate.ts --dry-run` needs no database and prints every
 * migration's SQL, so it writes to a pipe whose reader is already gone.
 */
import { expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { REPO } from "../helpers/run.ts";

const BUN = process.execPath;

function runWithClosedStdout(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    for (const k of ["BACKLOG_POSTGRES_DSN", "POSTGRES_DSN", "POSTGRES_HOST"]) delete env[k];
    const child = spawn(BUN, ["run", ...args], { cwd: REPO, env, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.destroy(); // the reader is gone before the script writes its first byte
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stderr }));
  });
}

test("a closed stdout pipe ends the output quietly: exit 0, no EPIPE stack on stderr", async () => {
  const r = await runWithClosedStdout([join(REPO, "scripts/migrate.ts"), "--dry-run"]);
  expect({ code: r.code, epipe: r.stderr.includes("EPIPE"), stack: /\n\s+at /.test(r.stderr) }).toEqual({ code: 0, epipe: false, stack: false });
});
