/**
 * Several processes on one JSONL directory: 4 writers × 2,500 upserts (every 5th key shared by all
 * four, the rest private) while a fifth process runs cleanup (a full rewrite) in a loop.
 */
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../../lib/core/log.ts";
import { JsonlBacklogStore } from "../../lib/store/jsonl/store.ts";
import type { BacklogEvent, BacklogItem } from "../../lib/store/types.ts";
import { item } from "./contract.ts";
import { readJsonl, startWorker } from "./fixtures/jsonl-spawn.ts";

const PROCS = 4;
const PER_PROC = 2500;
const SEED_DONE = 100; // old and done: cleanup must remove them and their events
const SEED_OPEN = 50; // old but open: cleanup must keep them

test(
  "4 writer processes and a cleanup loop: exactly the expected items, valid lines, unique dedupe keys",
  async () => {
    const dir = mkdtempSync(join(tmpdir(), "bb-jsonl-conc-"));
    try {
      const seeder = new JsonlBacklogStore({ dir, log: silentLogger, clock: () => new Date("2025-01-01T00:00:00.000Z") });
      const doneIds = new Set<string>();
      for (let i = 0; i < SEED_DONE + SEED_OPEN; i++) {
        const { item: it } = await seeder.upsert(item({ dedupe_key: `seed-${i}` }), { actor: "seed" });
        if (i < SEED_DONE) doneIds.add((await seeder.setStatus(it.id, "done", { actor: "seed" })).id);
      }
      await seeder.close();

      const stop = join(dir, "stop-cleanup");
      const cleaner = startWorker(["cleanup", dir, stop]);
      const writers = Array.from({ length: PROCS }, (_, p) => startWorker(["upsert", dir, String(p), String(PER_PROC)]));
      const codes = await Promise.all(writers.map((w) => w.exited));
      writeFileSync(stop, "");
      expect(await cleaner.exited).toBe(0);
      expect(codes, writers.map((w) => w.stderr()).join("\n")).toEqual(Array(PROCS).fill(0));

      const tallies = writers.map((w) => JSON.parse(w.lines.at(-1)!));
      const sum = (k: string) => tallies.reduce((n, t) => n + t[k], 0);
      const shared = PER_PROC / 5;
      const privateKeys = PROCS * (PER_PROC - shared);
      // Each shared key is created by exactly one process and updated by the three others.
      expect({ created: sum("created"), updated: sum("updated"), unchanged: sum("unchanged") }).toEqual({
        created: shared + privateKeys,
        updated: shared * (PROCS - 1),
        unchanged: 0,
      });
      const cleanup = JSON.parse(cleaner.lines.at(-1)!);
      expect(cleanup.removed).toBe(SEED_DONE);
      expect(cleanup.rewrites).toBeGreaterThan(1); // rewrites really raced the appends
      expect(sum("reloads")).toBeGreaterThan(0); // and the writers noticed them live

      // Every line of both files is valid JSON; last line per id wins; no dedupe_key has two ids.
      const lastById = new Map<string, BacklogItem>();
      for (const it of readJsonl<BacklogItem>(join(dir, "items.jsonl"))) lastById.set(it.id, it);
      const keys = [...lastById.values()].map((i) => i.dedupe_key);
      expect(new Set(keys).size).toBe(keys.length);
      const expected = new Set<string>();
      for (let i = SEED_DONE; i < SEED_DONE + SEED_OPEN; i++) expected.add(`seed-${i}`);
      for (let i = 0; i < PER_PROC; i++) {
        if (i % 5 === 0) expected.add(`shared-${i}`);
        else for (let p = 0; p < PROCS; p++) expected.add(`p${p}-${i}`);
      }
      expect(new Set(keys)).toEqual(expected);

      const events = readJsonl<BacklogEvent>(join(dir, "events.jsonl"));
      expect(events.filter((e) => doneIds.has(e.item_id))).toEqual([]);
      expect(events.every((e) => lastById.has(e.item_id))).toBe(true);
      const created = events.filter((e) => e.type === "created").map((e) => e.item_id);
      expect(created.length).toBe(expected.size);
      expect(new Set(created).size).toBe(created.length);
      expect(events.length).toBe(expected.size + shared * (PROCS - 1));

      // A fresh store agrees with the raw files.
      const reader = new JsonlBacklogStore({ dir, log: silentLogger });
      expect((await reader.allItems()).length).toBe(expected.size);
      expect((await reader.dashboard()).total).toBe(expected.size);
      await reader.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
  300_000, // 5 processes on 2 cores: 56-60 s in full runs here, 117 s at load average 8
);
