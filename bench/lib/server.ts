/**
 * Servers for bench/memory.ts and bench/http.ts, each a separate process on 127.0.0.1:
 * - the real `bun run server.ts` on a given backend, with a reader API key made up for the run;
 * - a bare Bun.serve answering every request with one precomputed body (bench/lib/bare-server.ts).
 */
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { freePort } from "../../tests/helpers/pg-cluster.ts";
import { BUN, startChild, waitForHttp, type Child } from "./proc.ts";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const BARE = fileURLToPath(new URL("./bare-server.ts", import.meta.url));

export interface RunningServer {
  url: string;
  child: Child;
  /** Headers that authenticate as the reader agent (tools.backlog.read). */
  headers: Record<string, string>;
}

/**
 * `backendEnv`: BACKLOG_BACKEND and its settings (BACKLOG_JSONL_DIR or BACKLOG_POSTGRES_DSN). The log
 * level is the default (info), as operators run it: one log line per tool call, written to /dev/null.
 */
export async function startAppServer(backendEnv: Record<string, string>, reportsDir: string): Promise<RunningServer> {
  const port = await freePort();
  const key = randomBytes(24).toString("hex");
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ...backendEnv,
    PORT: String(port),
    HOST: "127.0.0.1",
    BACKLOG_READER_API_KEY: key,
    BACKLOG_REPORTS_DIR: reportsDir,
  };
  const child = startChild(BUN, ["run", "server.ts"], { env, cwd: REPO });
  const url = `http://127.0.0.1:${port}`;
  const headers = { authorization: `Bearer ${key}` };
  try {
    await waitForHttp(`${url}/readyz`, child, 120_000);
  } catch (err) {
    await child.stop();
    throw err;
  }
  return { url, child, headers };
}

/** A bare Bun.serve in its own process answering every request with `bodyFile` (serialized per request with "stringify"). */
export async function startBareServer(bodyFile: string, mode: "static" | "stringify" = "static"): Promise<RunningServer> {
  const port = await freePort();
  const child = startChild(BUN, [BARE, String(port), bodyFile, mode], { env: { PATH: process.env.PATH } });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${url}/`, child, 30_000);
  } catch (err) {
    await child.stop();
    throw err;
  }
  return { url, child, headers: {} };
}
