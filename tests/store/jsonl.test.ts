import { afterEach, describe, expect, test } from "bun:test";
import { appendFileSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger, silentLogger } from "../../lib/core/log.ts";
import { JsonlBacklogStore } from "../../lib/store/jsonl/store.ts";
import type { BacklogItem } from "../../lib/store/types.ts";
import { item, storeContract } from "./contract.ts";

const dirs = new Map<object, string>();
storeContract("jsonl", {
  open: async (clock) => {
    const dir = mkdtempSync(join(tmpdir(), "bb-jsonl-"));
    const store = new JsonlBacklogStore({ dir, clock, log: silentLogger });
    dirs.set(store, dir);
    return store;
  },
  dispose: async (store) => {
    rmSync(dirs.get(store)!, { recursive: true, force: true });
    dirs.delete(store);
  },
});

describe("JsonlBacklogStore files", () => {
  let dir: string;
  const open: JsonlBacklogStore[] = [];
  const logs: { level: string; event: string; [k: string]: unknown }[] = [];
  const logger = createLogger({ level: "debug", write: (l) => logs.push(JSON.parse(l)) });
  const store = (extra: { clock?: () => Date } = {}) => {
    const s = new JsonlBacklogStore({ dir, log: logger, ...extra });
    open.push(s);
    return s;
  };
  const fileLines = (name: string) => readFileSync(join(dir, name), "utf8").split("\n").filter(Boolean);
  const events = (name: string) => logs.filter((l) => l.event === name);

  const fresh = () => {
    dir = mkdtempSync(join(tmpdir(), "bb-jsonl-"));
    logs.length = 0;
  };
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("updates append full item lines; a fresh instance replays them last-write-wins", async () => {
    fresh();
    const a = store();
    const { item: it } = await a.upsert(item(), { actor: "gen" });
    await a.setStatus(it.id, "in_progress", { actor: "bob" });
    const latest = (await a.upsert(item({ title: "Rotate now" }), { actor: "gen" })).item;
    const lines = fileLines("items.jsonl").map((l) => JSON.parse(l) as BacklogItem);
    expect(lines.map((l) => [l.id, l.status, l.title])).toEqual([
      [it.id, "open", "Rotate gateway TLS keys"],
      [it.id, "in_progress", "Rotate gateway TLS keys"],
      [it.id, "in_progress", "Rotate now"],
    ]);
    expect(fileLines("events.jsonl").map((l) => JSON.parse(l).type)).toEqual(["created", "status_changed", "updated"]);

    const b = store();
    expect(await b.get(it.id)).toEqual(latest);
    expect(await b.getByDedupeKey(latest.dedupe_key)).toEqual(latest);
    expect(await b.events(it.id)).toEqual(await a.events(it.id));
    expect((await b.list()).total).toBe(1);
  });

  test("a live instance catches up on another's appends by offset, without re-reading the file", async () => {
    fresh();
    const a = store();
    const first = (await a.upsert(item({ dedupe_key: "k1" }), { actor: "gen" })).item;
    const b = store();
    expect(await b.get(first.id)).toEqual(first);
    const loaded = b.readStats().items.bytesRead;
    expect(loaded).toBe(readFileSync(join(dir, "items.jsonl")).length);

    // Warm reads with nothing new read nothing.
    await b.dashboard();
    await b.list();
    expect(b.readStats().items.bytesRead).toBe(loaded);

    // Overwrite the first line in place (same length, same inode): only a reader that goes back to
    // byte 0 would notice. b must keep its copy and read only the new bytes.
    const size = readFileSync(join(dir, "items.jsonl")).length;
    const fd = openSync(join(dir, "items.jsonl"), "r+");
    writeSync(fd, Buffer.alloc(size - 1, "x"), 0, size - 1, 0);
    closeSync(fd);
    const second = (await a.upsert(item({ dedupe_key: "k2" }), { actor: "gen" })).item;
    const appended = readFileSync(join(dir, "items.jsonl")).length - size;

    expect((await b.dashboard()).total).toBe(2);
    expect(await b.get(second.id)).toEqual(second);
    expect(await b.get(first.id)).toEqual(first);
    expect(b.readStats().items.bytesRead).toBe(loaded + appended);
    expect(b.readStats().items.reloads).toBe(0);
    // The events file is caught up the same way.
    expect((await b.events(second.id)).map((e) => e.type)).toEqual(["created"]);
  });

  test("dedupe holds across two live instances: the second writer catches up inside the lock", async () => {
    fresh();
    const a = store();
    const b = store();
    await b.list(); // b is warm before a writes
    const r1 = await a.upsert(item({ dedupe_key: "shared" }), { actor: "a" });
    const r2 = await b.upsert(item({ dedupe_key: "shared", title: "from b" }), { actor: "b" });
    expect(r2.created).toBe(false);
    expect(r2.item.id).toBe(r1.item.id);
    expect((await a.get(r1.item.id))!.title).toBe("from b");
  });

  test("a torn last line is skipped with a warning and cut off before the next append", async () => {
    fresh();
    const a = store();
    const kept = (await a.upsert(item({ dedupe_key: "k1" }), { actor: "gen" })).item;
    await a.close();
    const good = readFileSync(join(dir, "items.jsonl"), "utf8");
    const torn = JSON.stringify({ ...kept, id: "bl_torn", dedupe_key: "torn" }).slice(0, 40);
    appendFileSync(join(dir, "items.jsonl"), torn);

    const b = store();
    expect((await b.list()).items.map((i) => i.id)).toEqual([kept.id]);
    expect(events("backlog_jsonl_torn_line")).toEqual([expect.objectContaining({ level: "warn", file: join(dir, "items.jsonl"), bytes: torn.length })]);
    expect(readFileSync(join(dir, "items.jsonl"), "utf8")).toBe(good + torn); // reading never writes

    const added = (await b.upsert(item({ dedupe_key: "k2" }), { actor: "gen" })).item;
    expect(events("backlog_jsonl_torn_line_repaired")).toHaveLength(1);
    const text = readFileSync(join(dir, "items.jsonl"), "utf8");
    expect(text.endsWith("\n")).toBe(true);
    expect(text.split("\n").filter(Boolean).map((l) => JSON.parse(l).id)).toEqual([kept.id, added.id]);
    expect((await store().allItems()).map((i) => i.id).sort()).toEqual([kept.id, added.id].sort());
  });

  test("lines that are not JSON or not an item are skipped with their line numbers, then compacted away", async () => {
    fresh();
    const a = store();
    const one = (await a.upsert(item({ dedupe_key: "k1" }), { actor: "gen" })).item;
    appendFileSync(join(dir, "items.jsonl"), "{not json\n" + JSON.stringify({ id: "bl_x", status: "weird" }) + "\n\n");
    const two = (await a.upsert(item({ dedupe_key: "k2" }), { actor: "gen" })).item;
    const b = store();
    expect((await b.allItems()).map((i) => i.id)).toEqual([one.id, two.id]);
    // once from a (its catch-up before writing k2), once from b's load
    const bad = expect.objectContaining({ level: "warn", count: 2, lines: [2, 3] });
    expect(events("backlog_jsonl_bad_lines")).toEqual([bad, bad]);
    expect(await b.compact()).toEqual({ linesBefore: 5, linesAfter: 2 }); // as wc -l counts: the blank line too
    expect(fileLines("items.jsonl").map((l) => JSON.parse(l).id)).toEqual([one.id, two.id]);
  });

  test("compaction drops superseded lines, keeps state identical, and is atomic on disk", async () => {
    fresh();
    let now = new Date("2026-11-23T10:00:00.000Z");
    const a = store({ clock: () => now });
    for (let i = 0; i < 5; i++) {
      for (let k = 0; k < 4; k++) await a.upsert(item({ dedupe_key: `k${k}`, title: `v${i}` }), { actor: "gen" });
      now = new Date(now.getTime() + 1000);
    }
    const ids = (await a.allItems()).map((i) => i.id);
    await a.setStatus(ids[0]!, "done", { actor: "x" });
    await a.addComment(ids[1]!, "note", { actor: "x" });
    const itemsBefore = await a.allItems();
    const eventsBefore = await a.allEvents();
    expect(fileLines("items.jsonl")).toHaveLength(21);

    expect(await a.compact()).toEqual({ linesBefore: 21, linesAfter: 4 });
    expect(fileLines("items.jsonl")).toHaveLength(4);
    expect(fileLines("events.jsonl")).toHaveLength(eventsBefore.length); // events are history: all kept
    expect(readdirSync(dir).filter((n) => n.endsWith(".tmp"))).toEqual([]);
    expect(await a.allItems()).toEqual(itemsBefore);
    const b = store();
    expect(await b.allItems()).toEqual(itemsBefore);
    expect(await b.allEvents()).toEqual(eventsBefore);
    // Nothing superseded left: a second compaction writes nothing.
    expect(await a.compact()).toEqual({ linesBefore: 4, linesAfter: 4 });
    expect(events("backlog_jsonl_rewritten")).toHaveLength(1);
  });

  test("a second live instance sees cleanup results after the rewrite and keeps appending to the new file", async () => {
    fresh();
    let now = new Date("2026-01-01T00:00:00.000Z");
    const clock = () => now;
    const a = store({ clock });
    const b = store({ clock });
    const old = (await a.upsert(item({ dedupe_key: "old" }), { actor: "gen" })).item;
    await a.setStatus(old.id, "done", { actor: "gen" });
    const keep = (await a.upsert(item({ dedupe_key: "keep" }), { actor: "gen" })).item;
    expect(await b.get(old.id)).not.toBeNull();
    expect(await b.events(old.id)).toHaveLength(2);

    now = new Date("2026-12-01T00:00:00.000Z");
    expect(await a.cleanup(180)).toBe(1);
    expect(await b.get(old.id)).toBeNull();
    expect(await b.getByDedupeKey("old")).toBeNull();
    expect(await b.events(old.id)).toEqual([]);
    expect(await b.get(keep.id)).toEqual(keep);
    expect(b.readStats().items.reloads).toBe(1);

    // Two more rewrites while b looks away (inode numbers could repeat if b did not pin its file).
    const gone = (await a.upsert(item({ dedupe_key: "gone" }), { actor: "gen" })).item;
    await a.setStatus(gone.id, "canceled", { actor: "gen" });
    now = new Date("2027-12-01T00:00:00.000Z");
    await a.compact();
    expect(await a.cleanup(180)).toBe(1);
    expect(await b.get(gone.id)).toBeNull();
    expect((await b.allItems()).map((i) => i.id)).toEqual([keep.id]);

    const fromB = (await b.upsert(item({ dedupe_key: "new" }), { actor: "b" })).item;
    expect(await a.get(fromB.id)).toEqual(fromB);
    expect(fileLines("items.jsonl").map((l) => JSON.parse(l).id)).toEqual([keep.id, fromB.id]);
    expect(fileLines("events.jsonl").map((l) => JSON.parse(l).item_id)).toEqual([keep.id, fromB.id]);
  });

  test("cleanup in dry-run mode and with nothing to do rewrites nothing", async () => {
    fresh();
    const a = store({ clock: () => new Date("2026-01-01T00:00:00.000Z") });
    const it = (await a.upsert(item(), { actor: "gen" })).item;
    await a.setStatus(it.id, "done", { actor: "gen" });
    const before = readFileSync(join(dir, "items.jsonl"), "utf8");
    expect(await a.cleanup(30, new Date("2026-06-01T00:00:00.000Z"), { dryRun: true })).toBe(1);
    expect(readFileSync(join(dir, "items.jsonl"), "utf8")).toBe(before);
    expect(events("backlog_jsonl_rewritten")).toEqual([]);
  });

  test("the directory is created if missing, and leftover temp files are removed on open", async () => {
    fresh();
    const nested = join(dir, "ops", "backlog");
    const s = new JsonlBacklogStore({ dir: nested, log: logger });
    open.push(s);
    expect(existsSync(nested)).toBe(false);
    await s.upsert(item(), { actor: "gen" });
    expect(readdirSync(nested).sort()).toEqual(["events.jsonl", "items.jsonl"]);
    await s.close();

    writeFileSync(join(nested, ".items.jsonl.999.abcd.tmp"), "half a rewrite");
    const t = new JsonlBacklogStore({ dir: nested, log: logger });
    open.push(t);
    expect((await t.list()).total).toBe(1);
    expect(readdirSync(nested).sort()).toEqual(["events.jsonl", "items.jsonl"]);
    expect(events("backlog_jsonl_temp_removed")).toHaveLength(1);
  });

  test("appendRaw writes records verbatim and refuses malformed ones before any I/O", async () => {
    fresh();
    const src = store();
    const { item: it } = await src.upsert(item(), { actor: "gen" });
    const evs = await src.allEvents();
    const target = join(dir, "copy");
    const dst = new JsonlBacklogStore({ dir: target, log: logger });
    open.push(dst);
    await expect(dst.appendRaw([{ ...it, status: "nope" } as never], [])).rejects.toMatchObject({ code: "invalid_input", message: expect.stringContaining("items[0]") });
    await expect(dst.appendRaw([], [{ ...evs[0]!, type: "x" } as never])).rejects.toMatchObject({ message: expect.stringContaining("events[0]") });
    expect(existsSync(target)).toBe(false);
    await dst.appendRaw([it], evs);
    expect(await dst.get(it.id)).toEqual(it);
    expect(await dst.allEvents()).toEqual(evs);
    expect(readFileSync(join(target, "items.jsonl"), "utf8")).toBe(JSON.stringify(it) + "\n");
  });

  test("two instances in one process write concurrently without losing or duplicating anything", async () => {
    fresh();
    const a = store();
    const b = store();
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).upsert(item({ dedupe_key: `k${i % 10}`, title: `t${i}` }), { actor: "x" })),
    );
    expect(results.filter((r) => r.created)).toHaveLength(10);
    const lastById = new Map(fileLines("items.jsonl").map((l) => [JSON.parse(l).id, JSON.parse(l)]));
    expect(lastById.size).toBe(10);
    expect(await store().allItems()).toEqual(await a.allItems());
    expect(await b.allItems()).toEqual(await a.allItems());
  });

  test("a lock left behind is respected until it is lockStaleMs old, then taken over", async () => {
    fresh();
    const a = new JsonlBacklogStore({ dir, log: logger, lockStaleMs: 2000 });
    open.push(a);
    await a.list(); // creates the directory
    mkdirSync(join(dir, ".lock")); // as a process killed while writing leaves it (fresh mtime)
    const started = performance.now();
    await a.upsert(item(), { actor: "gen" });
    expect(performance.now() - started).toBeGreaterThan(1500);
    expect(existsSync(join(dir, ".lock"))).toBe(false);

    mkdirSync(join(dir, ".lock"));
    const old = new Date(Date.now() - 60_000);
    utimesSync(join(dir, ".lock"), old, old); // long dead: taken over at once
    const again = performance.now();
    await a.upsert(item({ dedupe_key: "k2" }), { actor: "gen" });
    expect(performance.now() - again).toBeLessThan(1000);
  });

  test("options are validated: empty dir and a too-short lockStaleMs name the field", () => {
    fresh();
    expect(() => new JsonlBacklogStore({ dir: "" })).toThrow("dir: expected the path");
    expect(() => new JsonlBacklogStore({ dir, lockStaleMs: 100 })).toThrow("lockStaleMs: expected a whole number of milliseconds >= 2000, got 100");
  });
});
