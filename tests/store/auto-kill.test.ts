/**
 * Processes killed with SIGKILL in the middle of an outage (issue 14's stress scenario): two writer
 * processes share one JSONL directory while Postgres is down, print each write they got acknowledged,
 * and are killed mid-write (a torn journal line and a stale lock are left behind). A new process then
 * reaches Postgres: every write a killed process had acknowledged is in Postgres, once.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { silentLogger } from "../../lib/log.ts";
import { AutoBacklogStore } from "../../lib/store/auto.ts";
import { REPO } from "../helpers/run.ts";
import { autoHarness, pgConfig, waitFor } from "./auto-harness.ts";

setDefaultTimeout(120_000);
const { pause, resume, database, tempDir, cleanups } = autoHarness();

const WRITER = (dir: string, dsn: string, tag: string) => `
import { AutoBacklogStore } from ${JSON.stringify(join(REPO, "lib/store/auto.ts"))};
import { silentLogger } from ${JSON.stringify(join(REPO, "lib/log.ts"))};
import { resolvePgConfig } from ${JSON.stringify(join(REPO, "lib/db.ts"))};
const store = await AutoBacklogStore.open({ pg: resolvePgConfig({ dsn: ${JSON.stringify(dsn)}, connectTimeoutSeconds: 2 }, {}), dir: ${JSON.stringify(dir)}, retrySeconds: 3600, log: silentLogger, lockStaleMs: 2000 });
const statuses = ["open", "in_progress", "blocked", "done"];
const ids = new Map();
for (let n = 0; ; n++) {
  const key = "${tag}-" + (n % 40);
  if (n % 3 === 0 || !ids.has(key)) {
    const r = await store.upsert({ env: "prod", service: "s", category: "c", title: "t" + n, priority: "P2", dedupe_key: key }, { actor: "${tag}" });
    ids.set(key, r.item.id);
    console.log(JSON.stringify({ key, id: r.item.id, title: r.item.title }));
  } else if (n % 3 === 1) {
    const status = statuses[n % 4];
    await store.setStatus(ids.get(key), status, { actor: "${tag}" });
    console.log(JSON.stringify({ key, status }));
  } else {
    const ev = await store.addComment(ids.get(key), "c" + n, { actor: "${tag}" });
    console.log(JSON.stringify({ key, comment: ev.id }));
  }
}
`;

function startWriter(script: string): { child: ChildProcess; acks: Record<string, string>[] } {
  const child = spawn(process.execPath, ["run", script], { cwd: REPO, env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" } });
  const acks: Record<string, string>[] = [];
  let buf = "";
  child.stdout!.on("data", (d) => {
    buf += d;
    const lines = buf.split("\n");
    buf = lines.pop()!; // an unfinished line is not counted: we cannot know what it said
    for (const l of lines) if (l) acks.push(JSON.parse(l));
  });
  child.stderr!.on("data", () => {});
  cleanups.push(() => void child.kill("SIGKILL"));
  return { child, acks };
}

describe("auto backend: writers killed mid-outage", () => {
  test("every write a SIGKILLed process had acknowledged during the outage is in Postgres once", async () => {
    const { dsn, sql } = await database();
    const dir = tempDir();
    await pause();
    const writers = ["a", "b"].map((tag) => {
      const script = join(tempDir(), `writer-${tag}.ts`);
      writeFileSync(script, WRITER(dir, dsn, tag));
      return startWriter(script);
    });
    await waitFor("both writers to get 150 writes acknowledged", () => writers.every((w) => w.acks.length >= 150), 90_000);
    for (const w of writers) w.child.kill("SIGKILL");
    await Promise.all(writers.map((w) => new Promise((r) => (w.child.exitCode !== null || w.child.signalCode !== null ? r(null) : w.child.once("exit", r)))));
    resume();

    const store = await AutoBacklogStore.open({ pg: pgConfig(dsn), dir, retrySeconds: 1, log: silentLogger, lockStaleMs: 2000 });
    cleanups.push(() => store.close());
    expect(store.name).toBe("PostgresBacklogStore");

    const last = new Map<string, { title?: string; status?: string; comments: string[] }>();
    for (const w of writers) {
      for (const a of w.acks) {
        const cur = last.get(a.key!) ?? { comments: [] };
        if (a.title) cur.title = a.title;
        if (a.status) cur.status = a.status;
        if (a.comment) cur.comments.push(a.comment);
        last.set(a.key!, cur);
      }
    }
    const rows = await sql<{ dedupe_key: string; title: string; status: string; created: number }[]>`
      select dedupe_key, title, status, (select count(*)::int from backlog_events e where e.item_id = i.id and e.type = 'created') as created from backlog_items i`;
    const byKey = new Map(rows.map((r) => [r.dedupe_key, r]));
    let lost = 0;
    for (const [key, want] of last) {
      const got = byKey.get(key);
      if (!got || got.title !== want.title || (want.status && got.status !== want.status)) lost++;
    }
    const comments = [...last.values()].flatMap((v) => v.comments);
    const [ev] = await sql<{ n: number }[]>`select count(distinct id)::int as n from backlog_events where id = any(${comments}::text[])`;
    const acked = writers.reduce((n, w) => n + w.acks.length, 0);
    console.log("auto kill -9:", JSON.stringify({ acknowledged_writes: acked, keys: last.size, lost, comments: comments.length, comments_in_postgres: ev!.n }));
    expect(lost).toBe(0);
    expect(ev!.n).toBe(comments.length);
    expect(rows.every((r) => r.created === 1)).toBe(true);
  });
});
