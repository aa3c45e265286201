import { describe, expect, test } from "bun:test";
import { mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { removeStaleTemps, replaceFile, FOREIGN_TEMP_AGE_MS } from "../../lib/fs/atomic-write.ts";
import { silentLogger } from "../../lib/core/log.ts";
import { JsonlBacklogStore } from "../../lib/store/jsonl/store.ts";
import { tempDir } from "../helpers/tmp.ts";

const temps = (dir: string) => readdirSync(dir).filter((n) => n.endsWith(".tmp")).sort();
const aged = (file: string, ms: number) => utimesSync(file, new Date(Date.now() - ms), new Date(Date.now() - ms));

describe("replaceFile", () => {
  test("replaces the whole file and leaves no temp file", async () => {
    const dir = tempDir("bb-atomic-");
    const file = join(dir, "x.jsonl");
    writeFileSync(file, "old\n");
    expect(await replaceFile(file, ["a\n", new TextEncoder().encode("b\n")])).toBe(4);
    expect(readFileSync(file, "utf8")).toBe("a\nb\n");
    expect(temps(dir)).toEqual([]);
  });

  test("a failed rename leaves the target as it was and removes its temp file", async () => {
    const dir = tempDir("bb-atomic-");
    const target = join(dir, "taken");
    mkdirSync(join(target, "inside"), { recursive: true }); // a non-empty directory cannot be renamed over
    await expect(replaceFile(target, ["new\n"])).rejects.toThrow();
    expect(readdirSync(target)).toEqual(["inside"]);
    expect(temps(dir)).toEqual([]);
  });
});

describe("stale temp files", () => {
  test("the caller's own files' temps go at once; another file's only once it is an hour old", () => {
    const dir = tempDir("bb-atomic-");
    for (const n of [".items.jsonl.41.ab12.tmp", ".notify_sent.jsonl.42.cd34.tmp", ".ui_revoked.jsonl.43.ef56.tmp"]) writeFileSync(join(dir, n), "x");
    aged(join(dir, ".ui_revoked.jsonl.43.ef56.tmp"), FOREIGN_TEMP_AGE_MS + 60_000);
    expect(removeStaleTemps(dir, ["items.jsonl", "events.jsonl"], silentLogger)).toBe(2);
    expect(temps(dir)).toEqual([".notify_sent.jsonl.42.cd34.tmp"]);
  });

  test("opening the JSONL store clears an old temp of a crashed notify_sent.jsonl rewrite", async () => {
    const dir = tempDir("bb-atomic-");
    const left = join(dir, ".notify_sent.jsonl.77.0f0f.tmp");
    writeFileSync(left, '{"half":');
    aged(left, 2 * FOREIGN_TEMP_AGE_MS);
    const store = new JsonlBacklogStore({ dir, log: silentLogger });
    await store.dashboard();
    await store.close();
    expect(temps(dir)).toEqual([]);
  });
});
