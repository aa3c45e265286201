/**
 * Load generation for bench/http.ts, always in a separate process from the server measured: wrk when
 * it is installed, else this file run as a child (`bun bench/lib/loadgen.ts <url> <connections>
 * <seconds> [header]`), which keeps <connections> fetch loops busy for <seconds> and prints a JSON
 * summary. Both are bounded in time; wrk is also killed if it overruns.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { BUN, runOk } from "./proc.ts";

export interface LoadResult {
  rps: number;
  requests: number;
  /** Non-2xx answers plus socket errors: must be 0 for a valid figure. */
  errors: number;
  tool: string;
}

const SELF = fileURLToPath(import.meta.url);

export const hasWrk = (): boolean => spawnSync("wrk", ["--version"], { encoding: "utf8" }).error === undefined;

export function load(url: string, opts: { connections: number; seconds: number; headers: Record<string, string> }): LoadResult {
  const headerArgs = Object.entries(opts.headers).map(([k, v]) => `${k}: ${v}`);
  if (hasWrk()) {
    const args = ["-t1", `-c${opts.connections}`, `-d${opts.seconds}s`, "--timeout", "5s", ...headerArgs.flatMap((h) => ["-H", h]), url];
    const out = runOk("timeout", [String(opts.seconds + 30), "wrk", ...args]).stdout;
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
    const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
    const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
    const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
    const errors = non2xx + (socket ? socket.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
    if (!Number.isFinite(rps)) throw new Error(`cannot read wrk's output:\n${out}`);
    return { rps, requests, errors, tool: `wrk -t1 -c${opts.connections} -d${opts.seconds}s` };
  }
  const out = runOk(BUN, [SELF, url, String(opts.connections), String(opts.seconds), ...headerArgs]).stdout;
  return { ...(JSON.parse(out) as Omit<LoadResult, "tool">), tool: `bench/lib/loadgen.ts (${opts.connections} fetch loops, ${opts.seconds} s; wrk not installed)` };
}

async function main(): Promise<void> {
  const [url, connections, seconds, ...headerArgs] = process.argv.slice(2);
  if (!url || !connections || !seconds) {
    process.stderr.write("usage: bun bench/lib/loadgen.ts <url> <connections> <seconds> [header: value]...\n");
    process.exit(2);
  }
  const headers = Object.fromEntries(headerArgs.map((h) => [h.slice(0, h.indexOf(":")).trim(), h.slice(h.indexOf(":") + 1).trim()]));
  const deadline = performance.now() + Number(seconds) * 1000;
  let requests = 0;
  let errors = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Number(connections) }, async () => {
      while (performance.now() < deadline) {
        try {
          const res = await fetch(url, { headers });
          await res.arrayBuffer();
          if (res.status < 400) requests++; // a 304 is an answer (as wrk counts)
          else errors++;
        } catch {
          errors++;
        }
      }
    }),
  );
  const rps = (requests / (performance.now() - started)) * 1000;
  process.stdout.write(JSON.stringify({ rps, requests, errors }) + "\n");
}

if (import.meta.main) await main();
