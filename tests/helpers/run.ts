/** Runs a repo script in a child process (the way operators and cron run it) and captures its output. */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import process from "node:process";

export const REPO = fileURLToPath(new URL("../../", import.meta.url));

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export function runScript(
  script: string,
  args: string[] = [],
  opts: { env?: Record<string, string | undefined>; cwd?: string; timeoutMs?: number; runtime?: string[] } = {},
): Promise<RunResult> {
  const started = performance.now();
  const env: Record<string, string> = {};
  // A clean env: only what the test passes, plus PATH/HOME, so ambient DSNs never leak in.
  for (const k of ["PATH", "HOME", "TMPDIR", "LANG"]) if (process.env[k]) env[k] = process.env[k]!;
  for (const [k, v] of Object.entries(opts.env ?? {})) if (v !== undefined) env[k] = v;
  const cmd = opts.runtime ?? [process.execPath, "run"];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd[0]!, [...cmd.slice(1), script, ...args], { cwd: opts.cwd ?? REPO, env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - started });
    });
  });
}
