/**
 * Issue 15 items 3 and 5 against the real server.ts process: requests without or with an invalid Host
 * answer normally (raw TCP, HTTP/1.0 like HAProxy's check), and SIGTERM ends the process quickly even
 * with clients holding connections after 413/401/404 on unread bodies, an idle keep-alive and a slow
 * upload in progress. Times are measured and printed, not asserted; the wait is bounded.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ACCESS_ENV, KEYS } from "./harness.ts";
import { holdOpen, isRunning, rawRequest, startServer, statusOf, type SpawnedServer } from "./server-spawn.ts";

const dirs: string[] = [];
const servers: SpawnedServer[] = [];
afterAll(() => {
  for (const s of servers) s.child.kill("SIGKILL");
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function jsonlServer() {
  const dir = mkdtempSync(join(tmpdir(), "bb-edges-"));
  dirs.push(dir);
  const srv = await startServer({ ...ACCESS_ENV, PORT: "0", BACKLOG_BACKEND: "jsonl", BACKLOG_JSONL_DIR: dir });
  servers.push(srv);
  return srv;
}

test("no Host (HTTP/1.0) or an invalid Host: /healthz 200, routes answer normally, never 500", async () => {
  const srv = await jsonlServer();
  const key = `Authorization: Bearer ${KEYS.reader}\r\n`;
  const cases: [string, number][] = [
    ["GET /healthz HTTP/1.0\r\n\r\n", 200],
    ["GET /readyz HTTP/1.0\r\n\r\n", 200],
    ["GET /healthz HTTP/1.1\r\nHost: bad host\r\nConnection: close\r\n\r\n", 200],
    ["GET /healthz HTTP/1.1\r\nHost: [::1\r\nConnection: close\r\n\r\n", 200],
    ["GET /healthz HTTP/1.1\r\nHost: a/b?c#d\r\nConnection: close\r\n\r\n", 200],
    [`GET /v1/backlog/items?env=prod HTTP/1.0\r\n${key}\r\n`, 200],
    [`GET /v1/backlog/dashboard?env=prod HTTP/1.1\r\nHost: %%%\r\n${key}Connection: close\r\n\r\n`, 200],
    [`GET /no/such/route HTTP/1.0\r\n${key}\r\n`, 404],
    ["GET /v1/backlog/items HTTP/1.0\r\n\r\n", 401],
  ];
  for (const [raw, want] of cases) {
    const res = await rawRequest(srv.port, raw);
    expect({ raw, status: statusOf(res) }).toEqual({ raw, status: want });
    expect(res).not.toContain("invalid-host.local");
  }
  expect(srv.output()).not.toContain('"level":"error"');
});

test("SIGTERM with unread bodies, an idle keep-alive and a slow upload: the process exits, store closed", async () => {
  const srv = await jsonlServer();
  const big = 50 * 1024 * 1024;
  const post = (path: string, auth: string, length: number) =>
    `POST ${path} HTTP/1.1\r\nHost: localhost\r\n${auth}Content-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;
  const bearer = `Authorization: Bearer ${KEYS.admin}\r\n`;
  // 413: declared body over the limit, answered without reading it; the client keeps sending nothing.
  const tooLarge = await holdOpen(srv.port, post("/v1/tools/execute", bearer, big), "x".repeat(64 * 1024));
  // 401: keyless with a large body.
  const keyless = await holdOpen(srv.port, post("/v1/tools/execute", "", big), "x".repeat(64 * 1024));
  // 404: unknown route with a large body.
  const unknown = await holdOpen(srv.port, post("/no/such/route", bearer, big), "x".repeat(64 * 1024));
  expect(statusOf(await tooLarge.firstData)).toBe(413);
  expect(statusOf(await keyless.firstData)).toBe(401);
  expect(statusOf(await unknown.firstData)).toBe(404);
  // Idle keep-alive after a complete request.
  const idle = await holdOpen(srv.port, "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n");
  expect(statusOf(await idle.firstData)).toBe(200);
  // Slow upload: a valid call trickling in one byte every 100 ms.
  const body = JSON.stringify({ tool: "backlog_tool", action: "dashboard", env: "prod" }).padEnd(4000, " ");
  const slow = await holdOpen(srv.port, post("/v1/tools/execute", bearer, body.length), body.slice(0, 10));
  let sent = 10;
  const trickle = setInterval(() => {
    if (sent < body.length && !slow.socket.destroyed) slow.socket.write(body[sent++]!);
  }, 100);
  await new Promise((r) => setTimeout(r, 300));

  const started = performance.now();
  srv.child.kill("SIGTERM");
  const code = await Promise.race([srv.exited, new Promise<"still running">((r) => setTimeout(() => r("still running"), 25_000))]);
  const seconds = (performance.now() - started) / 1000;
  clearInterval(trickle);
  console.log(`shutdown with 3 unread-body clients, 1 idle keep-alive and 1 slow upload: exited after ${seconds.toFixed(2)} s (code ${code})`);
  expect(code).toBe(0);
  expect(isRunning(srv.child.pid!)).toBe(false);
  expect(srv.output()).toContain('"event":"server stopped"');
  await Promise.all([tooLarge.closed, keyless.closed, unknown.closed, idle.closed, slow.closed]);
});

test("the Kubernetes grace period and systemd TimeoutStopSec agree with the server's own shutdown bound", async () => {
  const { readFileSync } = await import("node:fs");
  const { parseAllDocuments } = await import("yaml");
  const { REPO } = await import("../helpers/run.ts");
  const { SHUTDOWN_DRAIN_MS, SHUTDOWN_HARD_EXIT_MS } = await import("../../server.ts");
  const docs = parseAllDocuments(readFileSync(join(REPO, "ops/k8s/backlog-bridge.yml"), "utf8")).map((d) => d.toJS());
  const deployment = docs.find((d) => d?.kind === "Deployment");
  const grace = deployment.spec.template.spec.terminationGracePeriodSeconds as number;
  const stopSec = Number(/^TimeoutStopSec=(\d+)$/m.exec(readFileSync(join(REPO, "ops/systemd/backlog-bridge.service"), "utf8"))?.[1]);
  expect(grace).toBe(stopSec);
  expect(SHUTDOWN_DRAIN_MS).toBeLessThan(SHUTDOWN_HARD_EXIT_MS);
  expect(SHUTDOWN_HARD_EXIT_MS).toBeLessThan(10_000);
  expect(grace * 1000).toBeGreaterThan(SHUTDOWN_HARD_EXIT_MS);
});
