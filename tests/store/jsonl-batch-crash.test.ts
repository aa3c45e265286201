/**
 * A JSONL upsertMany batch cut in the middle: by a file-size limit at a chosen byte (deterministic, like a
 * full disk: the write stops mid-line and the worker dies of the error) and by kill -9 at a random moment.
 * Afterwards nothing acknowledged is lost, every item has its created event, and a re-run of the same
 * batches (the generator's re-run, idempotent through dedupe_key) completes the job: each key once.
 */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../../lib/core/log.ts";
import { JsonlBacklogStore } from "../../lib/store/jsonl/store.ts";
import type { BacklogOp } from "../../lib/store/auto/ops.ts";
import type { BacklogEvent, BacklogItem } from "../../lib/store/types.ts";
import { readJsonl, startWorker, WORKER } from "./fixtures/jsonl-spawn.ts";
import { spawnSync } from "node:child_process";
import process from "node:process";

const STALE_MS = 2000;
const env = { JSONL_LOCK_STALE_MS: String(STALE_MS) };
const SIZE = 2000;

/** Runs the batch worker to its end; returns its exit status and stdout lines. */
function runBatches(dir: string, batches: number, fsizeLimit?: number): { status: number | null; lines: string[] } {
  const argv = [process.execPath, WORKER, "batch", dir, String(SIZE), String(batches)];
  // prlimit (util-linux) sets RLIMIT_FSIZE for the worker alone; bun ignores SIGXFSZ, so the write
  // that crosses the limit stops there and the next one fails with EFBIG.
  const [cmd, ...args] = fsizeLimit === undefined ? argv : ["prlimit", `--fsize=${fsizeLimit}`, ...argv];
  const r = spawnSync(cmd!, args, { env: { ...process.env, ...env, BUN_RUNTIME_TRANSPILER_CACHE_PATH: "0" }, encoding: "utf8" });
  if (r.error) throw r.error;
  return { status: r.status, lines: r.stdout.split("\n").filter(Boolean) };
}

/** Every key g-0… of `batches` batches exactly once, each item with exactly one created event. */
async function expectComplete(dir: string, batches: number): Promise<void> {
  const store = new JsonlBacklogStore({ dir, log: silentLogger, lockStaleMs: STALE_MS });
  try {
    const items = await store.allItems();
    expect(items.length).toBe(SIZE * batches);
    expect(new Set(items.map((it) => it.dedupe_key)).size).toBe(SIZE * batches);
    expectCreatedEvents(items, await store.allEvents());
  } finally {
    await store.close();
  }
}

function expectCreatedEvents(items: readonly BacklogItem[], events: readonly BacklogEvent[]): void {
  const created = new Map<string, number>();
  for (const e of events) if (e.type === "created") created.set(e.item_id, (created.get(e.item_id) ?? 0) + 1);
  const without = items.filter((it) => created.get(it.id) !== 1).map((it) => it.dedupe_key);
  expect(without).toEqual([]);
}

describe("JSONL upsertMany cut in the middle", () => {
  test("a batch append torn at a chosen byte: nothing acknowledged, no item without its created event, a re-run completes it", async () => {
    const root = mkdtempSync(join(tmpdir(), "bb-jsonl-batch-"));
    try {
      // The sizes one batch writes, measured on a throwaway directory.
      const probe = join(root, "probe");
      expect(runBatches(probe, 1).status).toBe(0);
      const [itemsSize, eventsSize] = [statSync(join(probe, "items.jsonl")).size, statSync(join(probe, "events.jsonl")).size];
      expect(itemsSize).toBeGreaterThan(eventsSize + 4096);

      // A limit between the two: the events append fits, the items append stops mid-line.
      const dir = join(root, "run");
      const limit = Math.floor((itemsSize + eventsSize) / 2);
      const cut = runBatches(dir, 1, limit);
      expect(cut.status).not.toBe(0);
      expect(cut.lines).not.toContain("batch 0"); // never acknowledged
      expect(statSync(join(dir, "items.jsonl")).size).toBe(limit);

      // What the cut left, as any reader sees it: a prefix of the batch, each of those items with its event.
      const reader = new JsonlBacklogStore({ dir, log: silentLogger, lockStaleMs: STALE_MS });
      const partial = await reader.allItems();
      expect(partial.length).toBeGreaterThan(0);
      expect(partial.length).toBeLessThan(SIZE);
      expectCreatedEvents(partial, await reader.allEvents());
      await reader.close();

      const rerun = runBatches(dir, 1);
      expect(rerun.status).toBe(0);
      expect(JSON.parse(rerun.lines.at(-1)!)).toEqual({ created: SIZE - partial.length, updated: 0, unchanged: partial.length });
      readJsonl(join(dir, "items.jsonl")); // the torn tail was cut before the re-run appended
      await expectComplete(dir, 1);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }, 60_000);

  test("a batch written but not journaled (auto, the journal append failed) is journaled whole by the re-run", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bb-jsonl-batch-journal-"));
    try {
      const inputs = Array.from({ length: 50 }, (_, i) => ({ env: "prod", service: "s", category: "c", title: `t${i}`, priority: "P2" as const, dedupe_key: `j-${i}` }));
      const failing = new JsonlBacklogStore({ dir, log: silentLogger, journal: async () => { throw new Error("disk full"); } });
      await expect(failing.upsertMany(inputs, { actor: "gen" })).rejects.toThrow("disk full"); // never acknowledged
      await failing.close();
      const ops: BacklogOp[] = [];
      const store = new JsonlBacklogStore({ dir, log: silentLogger, journal: async (batch) => void ops.push(...batch) });
      const rerun = await store.upsertMany(inputs, { actor: "gen" });
      expect(rerun.every((r) => !r.created && !r.changed)).toBe(true); // the files had it all already
      expect(ops.map((o) => (o.kind === "upsert" ? [o.input.dedupe_key, o.local_id] : o.kind))).toEqual(rerun.map((r) => [r.item.dedupe_key, r.item.id]));
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("kill -9 during a run of batches: every acknowledged batch is whole, a re-run completes the rest", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bb-jsonl-batch-kill-"));
    try {
      const batches = 12;
      const w = startWorker(["batch", dir, String(SIZE), String(batches)], env);
      await w.waitFor((lines) => lines.includes("batch 2"));
      w.child.kill("SIGKILL");
      expect(await w.exited).toBeNull();
      const acked = w.lines.filter((l) => l.startsWith("batch ")).length;
      expect(acked).toBeLessThan(batches);

      const store = new JsonlBacklogStore({ dir, log: silentLogger, lockStaleMs: STALE_MS });
      const items = await store.allItems();
      const keys = new Set(items.map((it) => it.dedupe_key));
      for (let i = 0; i < acked * SIZE; i++) expect(keys.has(`g-${i}`)).toBe(true);
      expect(items.length).toBeLessThanOrEqual((acked + 1) * SIZE); // at most the batch in flight besides
      expectCreatedEvents(items, await store.allEvents());
      await store.close();

      expect(runBatches(dir, batches).status).toBe(0);
      await expectComplete(dir, batches);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
