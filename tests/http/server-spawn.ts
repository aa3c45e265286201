/** Starts the real server.ts as operators do and talks to it over raw TCP (what fetch() cannot send). */
import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import process from "node:process";
import { REPO } from "../helpers/run.ts";

export interface SpawnedServer {
  child: ChildProcess;
  url: string;
  port: number;
  output: () => string;
  exited: Promise<number | null>;
}

export function startServer(env: Record<string, string>): Promise<SpawnedServer> {
  const base: Record<string, string> = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp" };
  const child = spawn(process.execPath, ["run", "server.ts"], { cwd: REPO, env: { ...base, ...env } });
  let out = "";
  const exited = new Promise<number | null>((r) => child.on("close", r));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`server did not start:\n${out}`));
    }, 20_000);
    child.stdout!.on("data", (d: Buffer) => {
      out += d;
      const m = /"event":"server listening".*?"url":"(http:[^"]+)"/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1]!, port: Number(new URL(m[1]!).port), output: () => out, exited });
      }
    });
    child.stderr!.on("data", (d) => (out += d));
    child.on("close", () => reject(new Error(`server exited early:\n${out}`)));
  });
}

/** Sends `raw` bytes and collects the answer until the server closes the socket (or `ms` pass). */
export function rawRequest(port: number, raw: string, ms = 5_000): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1", () => s.write(raw));
    let data = "";
    s.on("data", (b) => (data += b));
    s.on("close", () => resolve(data));
    s.on("error", () => resolve(data));
    s.setTimeout(ms, () => s.destroy());
  });
}

export const statusOf = (response: string) => Number(/^HTTP\/1\.[01] (\d{3})/.exec(response)?.[1] ?? 0);

/** Opens a connection, sends `head` (and optional body bytes), and keeps it open until the server closes it. */
export function holdOpen(port: number, head: string, body = ""): Promise<{ socket: net.Socket; firstData: Promise<string>; closed: Promise<void> }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1", () => {
      socket.write(head + body);
      resolve({ socket, firstData, closed });
    });
    const firstData = new Promise<string>((r) => socket.once("data", (b) => r(String(b))));
    const closed = new Promise<void>((r) => socket.on("close", () => r()));
    socket.on("error", () => {});
  });
}

export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
