/**
 * The cold load parses only the last line of each id (JsonlFile.loadWinners). These tests hold it to
 * the full parse: the same state from the same file, whatever the layout, with foreign and damaged lines.
 */
import { afterEach, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../../lib/core/log.ts";
import { BLANK, type LineSink } from "../../lib/fs/line-sink.ts";
import { JsonlFile } from "../../lib/fs/jsonl-file.ts";
import { JsonlBacklogStore } from "../../lib/store/jsonl/store.ts";
import { isItemLine } from "../../lib/store/jsonl/shape.ts";
import type { BacklogItem } from "../../lib/store/types.ts";

const dirs: string[] = [];
const stores: JsonlBacklogStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function row(id: number, version: number): BacklogItem {
  return {
    id: `bl_${id}`,
    env: "prod",
    service: `svc${id % 7}`,
    category: "security",
    title: `item ${id} v${version}`,
    description: "",
    priority: (["P0", "P1", "P2", "P3"] as const)[version % 4]!,
    status: (["open", "in_progress", "blocked", "done"] as const)[version % 4]!,
    owner: null,
    due_date: "2026-11-01",
    source: "manual",
    dedupe_key: `k${id}`,
    tags: [],
    meta: { version },
    created_at: "2026-11-01T00:00:00.000Z",
    updated_at: `2026-11-01T00:00:${String(version % 60).padStart(2, "0")}.000Z`,
  };
}

/** The reference: parse every line, last valid item line per id wins (what the store did before). */
function fullFold(text: string): Map<string, BacklogItem> {
  const out = new Map<string, BacklogItem>();
  for (const line of text.split("\n")) {
    if (!line) continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      continue;
    }
    if (isItemLine(v)) out.set(v.id, v);
  }
  return out;
}

const lineOf = fc.oneof(
  { weight: 8, arbitrary: fc.record({ id: fc.integer({ min: 0, max: 9 }), v: fc.integer({ min: 0, max: 99 }) }).map(({ id, v }) => JSON.stringify(row(id, v))) },
  // the same record with its keys in another order (a hand edit): no `{"id":"` prefix
  { weight: 1, arbitrary: fc.record({ id: fc.integer({ min: 0, max: 9 }), v: fc.integer({ min: 0, max: 99 }) }).map(({ id, v }) => { const { id: i, ...rest } = row(id, v); return JSON.stringify({ ...rest, id: i }); }) },
  // damaged lines, some with an intact id prefix
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 9 }).map((id) => JSON.stringify(row(id, 1)).slice(0, 30)) },
  { weight: 1, arbitrary: fc.constantFrom("", "{not json", '{"id":"bl_3","status":"weird"}', '{"id":"bl_\\u0033","env":"x"}') },
);

async function loadWith(dir: string, text: string): Promise<Map<string, BacklogItem>> {
  writeFileSync(join(dir, "items.jsonl"), text);
  writeFileSync(join(dir, "events.jsonl"), "");
  const store = new JsonlBacklogStore({ dir, log: createLogger({ level: "error", write: () => {} }) });
  stores.push(store);
  const items = await store.allItems();
  return new Map(items.map((it) => [it.id, it]));
}

describe("JSONL cold load parses only each id's last line", () => {
  test("any mix of versions, reordered keys, blank and damaged lines loads exactly what the full parse loads", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bb-lazy-"));
    dirs.push(dir);
    await fc.assert(
      fc.asyncProperty(fc.array(lineOf, { maxLength: 60 }), async (lines) => {
        const text = lines.map((l) => l + "\n").join("");
        const got = await loadWith(dir, text);
        expect([...got.entries()].sort()).toEqual([...fullFold(text).entries()].sort());
      }),
      { seed: 20261130, numRuns: 300 },
    );
  });

  test("10 versions per id in rounds: the load parses about a tenth of the file and keeps file order for winners", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bb-lazy-"));
    dirs.push(dir);
    let text = "";
    for (let v = 0; v < 10; v++) for (let id = 0; id < 500; id++) text += JSON.stringify(row(id, v)) + "\n";
    writeFileSync(join(dir, "items.jsonl"), text);
    const file = new JsonlFile(join(dir, "items.jsonl"), createLogger({ level: "error", write: () => {} }));
    const seen: unknown[] = [];
    const sink: LineSink = { lastWinsById: true, reset: () => (seen.length = 0), batch: (vals) => (seen.push(...vals.filter((x) => x !== BLANK)), []), end: () => {} };
    await file.catchUp(sink);
    await file.close();
    expect(seen).toEqual(Array.from({ length: 500 }, (_, id) => row(id, 9)));
    expect(file.stats.bytesRead).toBe(Buffer.byteLength(text));
    expect(file.lines).toBe(5000);
    // every winner is in the last round: one tenth of the bytes is read again, nothing else
    expect(file.stats.winnerBytes).toBeLessThan(Buffer.byteLength(text) / 9);
  });

  test("a damaged last line of an id falls back to the full parse, which reports it and keeps the earlier version", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bb-lazy-"));
    dirs.push(dir);
    const logs: { event: string; [k: string]: unknown }[] = [];
    writeFileSync(join(dir, "items.jsonl"), JSON.stringify(row(1, 1)) + "\n" + JSON.stringify(row(1, 2)).slice(0, 40) + "\n");
    writeFileSync(join(dir, "events.jsonl"), "");
    const store = new JsonlBacklogStore({ dir, log: createLogger({ level: "debug", write: (l) => logs.push(JSON.parse(l)) }) });
    stores.push(store);
    expect(await store.get("bl_1")).toEqual(row(1, 1));
    expect(logs.filter((l) => l.event === "backlog_jsonl_bad_lines")).toEqual([expect.objectContaining({ count: 1, lines: [2] })]);
  });

  test("a damaged line superseded by a later line of its id is not reported (the documented change)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bb-lazy-"));
    dirs.push(dir);
    const logs: { event: string; [k: string]: unknown }[] = [];
    writeFileSync(join(dir, "items.jsonl"), JSON.stringify(row(1, 1)).slice(0, 40) + "\n" + JSON.stringify(row(1, 2)) + "\n");
    writeFileSync(join(dir, "events.jsonl"), "");
    const store = new JsonlBacklogStore({ dir, log: createLogger({ level: "debug", write: (l) => logs.push(JSON.parse(l)) }) });
    stores.push(store);
    expect(await store.get("bl_1")).toEqual(row(1, 2));
    expect(logs.filter((l) => l.event === "backlog_jsonl_bad_lines")).toEqual([]);
  });
});
