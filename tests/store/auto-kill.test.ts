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
import { silentLogger } from "../../lib/core/log.ts";
import { AutoBacklogStore } from "../../lib/store/auto/store.ts";
import { REPO } from "../helpers/run.ts";
import { autoHarness, pgConfig, waitFor } from "./auto-harness.ts";

setDefaultTimeout(120_000);
const { pause, resume, database, tempDir, cleanups } = autoHarness();

// Every line goes out with writeSync before the next step, so after the kill the pipe holds exactly
// what happened: an "intent" line before each write and an ack line after it. At most one write per
// writer (its last intent without an ack) may have reached the journal without being acknowledged.
const WRITER = (dir: string, dsn: string, tag: string) => `
import { writeSync } from "node:fs";
import { AutoBacklogStore } from ${JSON.stringify(join(REPO, "lib/store/auto/store.ts"))};
import { silentLogger } from ${JSON.stringify(join(REPO, "lib/core/log.ts"))};
import { resolvePgConfig } from ${JSON.stringify(join(REPO, "lib/pg/db.ts"))};
const store = await AutoBacklogStore.open({ pg: resolvePgConfig({ dsn: ${JSON.stringify(dsn)}, connectTimeoutSeconds: 2 }, {}), dir: ${JSON.stringify(dir)}, retrySeconds: 3600, log: silentLogger, lockStaleMs: 2000 });
const statuses = ["open", "in_progress", "blocked", "done"];
const ids = new Map();
const say = (o) => writeSync(1, JSON.stringify(o) + "\\n");
for (let n = 0; ; n++) {
  const key = "${tag}-" + (n % 40);
  if (n % 3 === 0 || !ids.has(key)) {
    say({ intent: n, key, title: "t" + n });
    const r = await store.upsert({ env: "prod", service: "s", category: "c", title: "t" + n, priority: "P2", dedupe_key: key }, { actor: "${tag}" });
    ids.set(key, r.item.id);
    say({ n, key, id: r.item.id, title: r.item.title });
  } else if (n % 3 === 1) {
    const status = statuses[n % 4];
    say({ intent: n, key, status });
    await store.setStatus(ids.get(key), status, { actor: "${tag}" });
    say({ n, key, status });
  } else {
    say({ intent: n, key, comment: true });
    const ev = await store.addComment(ids.get(key), "c" + n, { actor: "${tag}" });
    say({ n, key, comment: ev.id });
  }
}
`;

type Line = { n?: number; intent?: number; key: string; title?: string; status?: string; comment?: string | boolean };

function startWriter(script: string): { child: ChildProcess; acks: Line[]; intents: Line[]; drained: Promise<void> } {
  const child = spawn(process.execPath, ["run", script], { cwd: REPO, env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" } });
  const acks: Line[] = [];
  const intents: Line[] = [];
  let buf = "";
  child.stdout!.on("data", (d) => {
    buf += d;
    const lines = buf.split("\n");
    buf = lines.pop()!; // an unfinished line is not counted: we cannot know what it said
    for (const l of lines) {
      if (!l) continue;
      const rec = JSON.parse(l) as Line;
      (rec.intent === undefined ? acks : intents).push(rec);
    }
  });
  child.stderr!.on("data", () => {});
  const drained = new Promise<void>((r) => child.stdout!.once("close", () => r()));
  cleanups.push(() => void child.kill("SIGKILL"));
  return { child, acks, intents, drained };
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
    // every line the killed writers wrote is read before anything is judged
    await Promise.all(writers.map((w) => w.drained));
    resume();

    const store = await AutoBacklogStore.open({ pg: pgConfig(dsn), dir, retrySeconds: 1, log: silentLogger, lockStaleMs: 2000 });
    cleanups.push(() => store.close());
    expect(store.name).toBe("PostgresBacklogStore");

    // What each key must be after every acknowledged write; `maybe` is the one write per writer that
    // may also have landed (journaled, then killed before its ack): Postgres may show it, or not.
    const last = new Map<string, { title?: string; status?: string; comments: string[]; maybe?: Line }>();
    for (const w of writers) {
      for (const a of w.acks) {
        const cur = last.get(a.key) ?? { comments: [] };
        if (a.title) cur.title = a.title;
        if (a.status) cur.status = a.status;
        if (typeof a.comment === "string") cur.comments.push(a.comment);
        last.set(a.key, cur);
      }
      const acked = new Set(w.acks.map((a) => a.n));
      const inFlight = w.intents.filter((i) => !acked.has(i.intent));
      expect(inFlight.length).toBeLessThanOrEqual(1);
      for (const i of inFlight) {
        const cur = last.get(i.key) ?? { comments: [] };
        cur.maybe = i;
        last.set(i.key, cur);
      }
    }
    const rows = await sql<{ dedupe_key: string; title: string; status: string; created: number }[]>`
      select dedupe_key, title, status, (select count(*)::int as n from backlog_events e where e.item_id = i.id and e.type = 'created') as created from backlog_items i`;
    const byKey = new Map(rows.map((r) => [r.dedupe_key, r]));
    let lost = 0;
    let inFlightLanded = 0;
    for (const [key, want] of last) {
      const got = byKey.get(key);
      const matches = (w: { title?: string; status?: string }) => Boolean(got) && (w.title === undefined || got!.title === w.title) && (!w.status || got!.status === w.status);
      if (matches(want)) continue;
      if (want.maybe && matches({ title: want.maybe.title ?? want.title, status: want.maybe.status ?? want.status })) {
        inFlightLanded++;
        continue;
      }
      lost++;
      console.log("lost:", key, JSON.stringify(want), JSON.stringify(got ?? null));
    }
    const comments = [...last.values()].flatMap((v) => v.comments);
    const [ev] = await sql<{ n: number }[]>`select count(distinct id)::int as n from backlog_events where id = any(${comments}::text[])`;
    const acked = writers.reduce((n, w) => n + w.acks.length, 0);
    console.log("auto kill -9:", JSON.stringify({ acknowledged_writes: acked, keys: last.size, lost, unacknowledged_write_landed: inFlightLanded, comments: comments.length, comments_in_postgres: ev!.n }));
    expect(lost).toBe(0);
    expect(ev!.n).toBe(comments.length);
    expect(rows.every((r) => r.created === 1)).toBe(true);
  });
});
