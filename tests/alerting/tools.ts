/** The real Prometheus tools from Debian: a missing one fails the test run at once, named, with its install command. */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

export const PROMTOOL = "/usr/bin/promtool";
export const PROMETHEUS = "/usr/bin/prometheus";
export const ALERTMANAGER = "/usr/bin/prometheus-alertmanager";

const PACKAGE: Record<string, string> = { [PROMTOOL]: "prometheus", [PROMETHEUS]: "prometheus", [ALERTMANAGER]: "prometheus-alertmanager" };

export function requireBinary(path: string): string {
  if (!existsSync(path)) throw new Error(`${path} is missing: install it with \`apt-get install -y ${PACKAGE[path]}\` (.ci/run does this on a fresh machine).`);
  return path;
}

export function promtool(args: string[], cwd?: string): { code: number; out: string } {
  const r = spawnSync(requireBinary(PROMTOOL), args, { cwd, encoding: "utf8", timeout: 60_000 });
  return { code: r.status ?? -1, out: `${r.stdout ?? ""}${r.stderr ?? ""}` };
}

/** Polls `fn` every 200 ms until it answers something (a throw counts as not yet); fails with `logs()` after timeoutMs. */
export async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number, logs: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} did not happen within ${timeoutMs} ms.\n${logs()}`);
}
