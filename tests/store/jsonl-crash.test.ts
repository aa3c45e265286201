/**
 * kill -9 against the JSONL store: a writer killed mid-run, and a compaction killed at random moments
 * of its rewrite. Afterwards the files must be whole, every acknowledged write present, leftovers
 * (stale lock, temp files) harmless and cleaned up.
 */
import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { appendFileSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger, silentLogger } from "../../lib/core/log.ts";
import { JsonlBacklogStore } from "../../lib/store/jsonl/store.ts";
import type { BacklogItem } from "../../lib/store/types.ts";
import { readJsonl, startWorker } from "./fixtures/jsonl-spawn.ts";

const STALE_MS = 2000;
const env = { JSONL_LOCK_STALE_MS: String(STALE_MS) };
const sha = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const temps = (dir: string) => readdirSync(dir).filter((n) => n.endsWith(".tmp"));

describe("JSONL store under kill -9", () => {
  test(
    "a writer killed mid-run loses no acknowledged write; a fresh store loads and the next append repairs",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "bb-jsonl-kill-"));
      try {
        const w = startWorker(["upsert", dir, "0", "1000000", "--ack"], env);
        await w.waitFor((lines) => lines.length >= 600);
        w.child.kill("SIGKILL");
        expect(await w.exited).toBeNull();
        const acked = w.lines.filter((l) => l.startsWith("bl_"));
        expect(acked.length).toBeGreaterThanOrEqual(600);

        const items = join(dir, "items.jsonl");
        // The kernel completes a write() before SIGKILL lands, so the half line a power cut or a short
        // write leaves behind is added by hand: the store must cope with both at once.
        const whole = readFileSync(items, "utf8");
        expect(whole.endsWith("\n")).toBe(true);
        appendFileSync(items, '{"id":"bl_torn","env":"prod","serv');

        const logs: { event: string }[] = [];
        const log = createLogger({ write: (l) => logs.push(JSON.parse(l)) });
        const store = new JsonlBacklogStore({ dir, log, lockStaleMs: STALE_MS });
        const all = await store.allItems();
        const ids = new Set(all.map((i) => i.id));
        for (const id of acked) expect(ids.has(id)).toBe(true);
        // At most the one write in flight when the kill landed is there without an acknowledgement.
        expect(all.length - acked.length).toBeLessThanOrEqual(1);
        expect(logs.map((l) => l.event)).toContain("backlog_jsonl_torn_line");

        // The next append waits out the killed writer's lock (if it held it) and cuts the torn tail.
        const r = await store.upsert({ env: "prod", service: "s", category: "c", title: "after crash", priority: "P3", dedupe_key: "after-crash" }, { actor: "t" });
        expect(logs.map((l) => l.event)).toContain("backlog_jsonl_torn_line_repaired");
        const lines = readJsonl<BacklogItem>(items); // throws on any invalid line
        expect(lines.at(-1)!.id).toBe(r.item.id);
        expect(lines.length).toBe(all.length + 1);
        await store.close();
        const again = new JsonlBacklogStore({ dir, log: silentLogger });
        expect((await again.allItems()).length).toBe(all.length + 1);
        await again.close();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    60_000,
  );

  test(
    "compaction killed at random moments leaves the full old or the full new file; leftovers are recovered",
    async () => {
      const root = mkdtempSync(join(tmpdir(), "bb-jsonl-rewrite-"));
      try {
        const pristine = join(root, "pristine");
        const dir = join(root, "live");
        // 40,000 items × 3 versions: a rewrite big enough to be caught in the act.
        const seed = new JsonlBacklogStore({ dir: pristine, log: silentLogger });
        const N = 40_000;
        for (let v = 0; v < 3; v++) {
          const batch: BacklogItem[] = [];
          for (let i = 0; i < N; i++) batch.push(bigItem(i, v));
          await seed.appendRaw(batch, []);
        }
        await seed.close();
        const expectedDir = join(root, "expected");
        cpSync(pristine, expectedDir, { recursive: true });
        const ref = new JsonlBacklogStore({ dir: expectedDir, log: silentLogger });
        expect(await ref.compact()).toEqual({ linesBefore: 3 * N, linesAfter: N });
        await ref.close();
        const oldSha = sha(join(pristine, "items.jsonl"));
        const newSha = sha(join(expectedDir, "items.jsonl"));
        expect(newSha).not.toBe(oldSha);

        cpSync(pristine, dir, { recursive: true });
        const restore = () => writeFileSync(join(dir, "items.jsonl"), readFileSync(join(pristine, "items.jsonl")));
        const mineExists = (pid: number) => temps(dir).some((n) => n.includes(`.${pid}.`));
        const untilTemp = async (w: ReturnType<typeof startWorker>) => {
          const started = Date.now();
          while (!mineExists(w.child.pid!) && w.child.exitCode === null && Date.now() - started < 30_000) await sleep(1);
        };

        // Calibration: an undisturbed compaction, timed from its temp file appearing to its exit.
        const calm = startWorker(["compact", dir], env);
        await untilTemp(calm);
        const t0 = performance.now();
        expect(await calm.exited).toBe(0);
        const rewriteMs = performance.now() - t0;
        expect(sha(join(dir, "items.jsonl"))).toBe(newSha);

        const outcomes: string[] = [];
        for (let round = 0; round < 8; round++) {
          restore();
          const w = startWorker(["compact", dir], env);
          const pid = w.child.pid!;
          // Rounds 0-3 kill early in the rewrite (before its rename), 4-5 anywhere from the temp file
          // appearing to well after the rename, 6-7 at any moment from the start (loading, waiting
          // for the previous round's stale lock, rewriting).
          let delay: number;
          if (round < 6) {
            await untilTemp(w);
            delay = Math.floor(Math.random() * rewriteMs * (round < 4 ? 0.5 : 1.5));
          } else {
            delay = Math.floor(Math.random() * (STALE_MS + 500));
          }
          await sleep(delay);
          w.child.kill("SIGKILL");
          await w.exited;
          const now = sha(join(dir, "items.jsonl"));
          const state = now === oldSha ? "old" : now === newSha ? "new" : "MIXED";
          const leftover = mineExists(pid);
          outcomes.push(`round ${round}: ${state}${leftover ? " +temp" : ""}${existsSync(join(dir, ".lock")) ? " +lock" : ""} (kill after ${delay} ms, rewrite takes ${Math.round(rewriteMs)} ms)`);
          expect(state, outcomes.join("\n")).not.toBe("MIXED");
          // A reader needs no lock: it loads whatever whole file is there right away.
          const reader = new JsonlBacklogStore({ dir, log: silentLogger, lockStaleMs: STALE_MS });
          expect((await reader.allItems()).length).toBe(N);
          await reader.close();
        }
        // At least one kill landed inside a rewrite (its temp file was left behind) while holding the lock.
        expect(outcomes.some((o) => o.includes("+temp +lock")), outcomes.join("\n")).toBe(true);

        // A stale lock of a killed process is taken over; leftover temp files go; the result is the new file.
        const store = new JsonlBacklogStore({ dir, log: silentLogger, lockStaleMs: STALE_MS });
        await store.compact();
        expect(temps(dir)).toEqual([]);
        expect(sha(join(dir, "items.jsonl"))).toBe(newSha);
        await store.upsert({ env: "prod", service: "s", category: "c", title: "t", priority: "P3", dedupe_key: "after" }, { actor: "t" });
        expect(readJsonl(join(dir, "items.jsonl")).length).toBe(N + 1);
        await store.close();
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    },
    120_000,
  );
});

function bigItem(i: number, version: number): BacklogItem {
  const ts = new Date(Date.UTC(2026, 0, 1, 0, 0, version)).toISOString();
  return {
    id: `bl_crash${i.toString(36).padStart(6, "0")}`,
    env: "prod",
    service: `svc-${i % 97}`,
    category: "reliability",
    title: `Item ${i} version ${version}`,
    description: "Reliability debt found by the weekly digest; see the linked runbook for the remediation steps.",
    priority: "P2",
    status: "open",
    owner: "team-core",
    due_date: "2026-12-01",
    source: "weekly_digest",
    dedupe_key: `crash-${i}`,
    tags: ["auto", `v${version}`],
    meta: { version, pressure_score: i % 100 },
    created_at: "2026-01-01T00:00:00.000Z",
    updated_at: ts,
  };
}
