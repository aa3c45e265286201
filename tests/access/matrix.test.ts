/**
 * Who may call what, as documented and as served. docs/http.md carries the whole matrix (every tool
 * action and endpoint × every shipped agent, no key and a wrong key); it is rendered here from the tool
 * registry and the shipped config/access.yml, so the page cannot drift from the code, and every cell is
 * then asked of the real server.ts started with the shipped access file.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO } from "../helpers/run.ts";
import { tempDir } from "../helpers/tmp.ts";
import { startServer, type SpawnedServer } from "../http/server-spawn.ts";
import { AGENTS, KEY, renderMatrix, rows, shipped } from "./matrix.ts";

test("docs/http.md shows the access matrix of the shipped config/access.yml and every registered action", async () => {
  const doc = readFileSync(join(REPO, "docs/http.md"), "utf8");
  expect(doc).toContain(await renderMatrix());
  // and its agent table names each agent's shipped entitlements
  for (const [agent, a] of Object.entries(shipped.agents)) {
    const line = doc.split("\n").find((l) => l.startsWith(`| \`${agent}\` |`));
    expect({ agent, line }).toEqual({ agent, line: expect.stringContaining(a.entitlements.map((e) => `\`${e}\``).join(", ")) });
  }
});

/** The cell as docs/http.md states it: the page is the oracle the server is held to. */
function documented(call: string, who: string): string {
  const lines = readFileSync(join(REPO, "docs/http.md"), "utf8").split("\n");
  const cols = lines.find((l) => l.startsWith("| call | needs |"))!.split("|").map((s) => s.trim().replaceAll("`", ""));
  const row = lines.find((l) => l.startsWith(`| ${call} |`));
  if (!row) return `not documented in docs/http.md`;
  return row.split("|").map((s) => s.trim())[cols.indexOf(who)] ?? "column missing";
}

describe("every cell of the matrix on the real server with the shipped access file", () => {
  let server: SpawnedServer;
  beforeAll(async () => {
    const env: Record<string, string> = { BACKLOG_BACKEND: "jsonl", BACKLOG_JSONL_DIR: tempDir("bb-matrix-"), PORT: "0" };
    for (const [agent, a] of Object.entries(shipped.agents)) env[a.key_env] = KEY(agent);
    server = await startServer(env);
  });
  afterAll(async () => {
    server?.child.kill("SIGTERM");
    await server?.exited;
  });

  test("each call answers ✓ (neither 401 nor 403, never 5xx), 403 naming the entitlement, or 401 as documented", async () => {
    const who = [...AGENTS.map((a) => ({ label: a, key: KEY(a) as string | undefined })), { label: "no key", key: undefined }, { label: "wrong key", key: "not-a-real-key-0123456789" }];
    const got: Record<string, Record<string, string>> = {};
    const want: Record<string, Record<string, string>> = {};
    for (const r of await rows()) {
      got[r.name] = {};
      want[r.name] = {};
      for (const w of who) {
        const headers: Record<string, string> = { "content-type": "application/json" };
        if (w.key) headers.authorization = `Bearer ${w.key}`;
        const res = await fetch(server.url + r.request.path, { method: r.request.method, headers, body: r.request.body ? JSON.stringify(r.request.body) : undefined });
        const text = await res.text();
        const cell = [401, 403, 405].includes(res.status) ? String(res.status) : res.status < 500 ? "✓" : `5xx ${res.status}: ${text.slice(0, 200)}`;
        if (res.status === 403) expect(JSON.parse(text).required).toBe(r.needs!);
        // A 405 names what the path takes, in the header and the body.
        if (res.status === 405) expect({ call: r.name, allow: res.headers.get("allow"), body: JSON.parse(text).allow }).toEqual({ call: r.name, allow: expect.stringMatching(/^(GET, HEAD|POST)$/), body: res.headers.get("allow") });
        got[r.name]![w.label] = cell;
        want[r.name]![w.label] = documented(r.name, w.label);
      }
    }
    expect(got).toEqual(want);
  });
});
