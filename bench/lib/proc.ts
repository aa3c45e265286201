/** Child processes for benchmarks: run-to-completion with wall time, and long-running servers. */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import process from "node:process";
import { performance } from "node:perf_hooks";

export const BUN = process.execPath;

/** Runs a command to completion; throws with its stderr when it fails. */
export function runOk(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string } = {}): { stdout: string; ms: number } {
  const t0 = performance.now();
  const res = spawnSync(cmd, args, { encoding: "utf8", env: opts.env ?? process.env, cwd: opts.cwd, input: opts.input, maxBuffer: 64 << 20, timeout: 600_000 });
  const ms = performance.now() - t0;
  if (res.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (exit ${res.status ?? res.signal}): ${(res.stderr || res.stdout || String(res.error)).slice(0, 2000)}`);
  return { stdout: res.stdout, ms };
}

function procStatusMb(pid: number, field: "VmHWM" | "VmRSS"): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, "m").exec(status);
  if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(m[1]) / 1024;
}

/** Peak resident set size (VmHWM) of a live process in MB, from /proc (Linux). */
export const peakRssMb = (pid: number): number => procStatusMb(pid, "VmHWM");

/** Current resident set size (VmRSS) in MB. */
export const rssMb = (pid: number): number => procStatusMb(pid, "VmRSS");

export interface Child {
  proc: ChildProcess;
  /** Everything it wrote to stderr so far (for error messages). */
  stderr(): string;
  stop(): Promise<void>;
}

/** Starts a long-running child; stdout lines go to `onLine`. */
export function startChild(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; onLine?: (line: string) => void } = {}): Child {
  // Without a reader, stdout goes to /dev/null: the child still writes it, this process spends nothing on it.
  const proc = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ["ignore", opts.onLine ? "pipe" : "ignore", "pipe"] });
  let err = "";
  let out = "";
  proc.stderr!.on("data", (d) => {
    err = (err + d).slice(-8000);
  });
  proc.stdout?.on("data", (d) => {
    out += d;
    let nl;
    while ((nl = out.indexOf("\n")) >= 0) {
      opts.onLine?.(out.slice(0, nl));
      out = out.slice(nl + 1);
    }
  });
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  return {
    proc,
    stderr: () => err,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Polls `url` until it answers 200 (or the child dies / time runs out). */
export async function waitForHttp(url: string, child: Child, timeoutMs = 60_000, headers: Record<string, string> = {}): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.proc.exitCode !== null) throw new Error(`server exited (${child.proc.exitCode}) before answering ${url}: ${child.stderr()}`);
    try {
      const res = await fetch(url, { headers });
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms: ${child.stderr()}`);
}
