/**
 * Cleanup by a JSONL store that has not read events.jsonl (the server after dashboards only, the cleanup
 * job): events.jsonl is filtered from its bytes instead of being loaded into the index, with exactly
 * the outcome of a cleanup by a store that had read it — the same items and events kept, damaged,
 * blank, torn and orphaned lines dropped.
 */
import { describe, expect, test } from "bun:test";
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../../lib/core/log.ts";
import { JsonlBacklogStore } from "../../lib/store/jsonl/store.ts";
import { item } from "./contract.ts";

const parsedLines = (path: string) => readFileSync(path, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));

describe("JSONL cleanup without the events read", () => {
  test("filters events.jsonl from its bytes with the outcome of a cleanup from the loaded index", async () => {
    const root = mkdtempSync(join(tmpdir(), "bb-jsonl-cleanup-unread-"));
    try {
      const src = join(root, "src");
      let now = new Date("2025-01-01T00:00:00.000Z");
      const writer = new JsonlBacklogStore({ dir: src, log: silentLogger, clock: () => now });
      const ids: string[] = [];
      for (let i = 0; i < 12; i++) ids.push((await writer.upsert(item({ dedupe_key: `k${i}`, title: `item ${i}` }), { actor: "gen" })).item.id);
      for (let i = 0; i < 8; i++) await writer.setStatus(ids[i]!, i % 2 ? "done" : "canceled", { actor: "bob" });
      now = new Date("2026-11-20T00:00:00.000Z");
      await writer.setStatus(ids[7]!, "in_progress", { actor: "bob" }); // reopened: kept
      await writer.addComment(ids[9]!, "still open", { actor: "ann" });
      await writer.close();
      const events = join(src, "events.jsonl");
      const kept = ids[10]!;
      appendFileSync(
        events,
        [
          "not json at all",
          "",
          JSON.stringify({ id: "ev_orphan", item_id: "bl_gone", ts: now.toISOString(), type: "commented", actor: "x", message: "orphan", meta: {} }),
          // Keys in another order (a hand edit): decided by parsing, kept for a kept item, dropped for a removed one.
          JSON.stringify({ item_id: kept, id: "ev_hand", ts: now.toISOString(), type: "commented", actor: "x", message: "by hand", meta: {} }),
          JSON.stringify({ item_id: ids[0], id: "ev_hand2", ts: now.toISOString(), type: "commented", actor: "x", message: "by hand", meta: {} }),
          `{"id":"ev_bad","item_id":"${kept}","ts":"x","type":"nonsense"}`,
        ].join("\n") + '\n{"id":"ev_torn","item_id":"',
      );

      const loaded = join(root, "loaded");
      const unread = join(root, "unread");
      cpSync(src, loaded, { recursive: true });
      cpSync(src, unread, { recursive: true });
      const a = new JsonlBacklogStore({ dir: loaded, log: silentLogger });
      await a.allEvents(); // events in the index: the rewrite from the index
      const b = new JsonlBacklogStore({ dir: unread, log: silentLogger });
      await b.dashboard(); // items only, as a server answering dashboards
      const [ra, rb] = [await a.cleanup(180, now), await b.cleanup(180, now)];
      expect(rb).toBe(ra);
      expect(ra).toBe(7);
      expect(b.readStats().events.bytesRead).toBe(0); // events.jsonl was never loaded into the index
      expect(parsedLines(join(unread, "items.jsonl"))).toEqual(parsedLines(join(loaded, "items.jsonl")));
      expect(parsedLines(join(unread, "events.jsonl"))).toEqual(parsedLines(join(loaded, "events.jsonl")));
      expect(parsedLines(join(unread, "events.jsonl")).map((e) => e.id)).toContain("ev_hand");
      // Reads after it load the new file.
      expect((await b.events(ids[9]!)).map((e) => e.type)).toEqual(["created", "commented"]);
      expect(await b.events(ids[0]!)).toEqual([]);
      expect((await b.allEvents()).length).toBe((await a.allEvents()).length);
      await a.close();
      await b.close();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
