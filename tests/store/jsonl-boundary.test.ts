/** JSONL lines read back pass the same text rules as the input boundary: a hand-edited bad line is skipped. */
import { afterAll, expect, test } from "bun:test";
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../../lib/core/log.ts";
import { JsonlBacklogStore } from "../../lib/store/jsonl/store.ts";

const dir = mkdtempSync(join(tmpdir(), "bb-jsonl-boundary-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("lines with NUL, lone surrogates or meta nested past 32 levels are not loaded", async () => {
  const a = new JsonlBacklogStore({ dir, log: silentLogger });
  const { item } = await a.upsert({ env: "prod", service: "gateway", category: "security", title: "Good", priority: "P1", dedupe_key: "k" }, { actor: "t" });
  await a.close();
  const file = readdirSync(dir).find((f) => f.startsWith("items") && f.endsWith(".jsonl"))!;
  const original = readFileSync(join(dir, file), "utf8").trim().split("\n").at(-1)!;
  const later = (patch: object) => JSON.stringify({ ...JSON.parse(original), ...patch, updated_at: "2030-01-01T00:00:00.000Z" }) + "\n";
  const nested = (n: number): unknown => (n === 0 ? 1 : { a: nested(n - 1) });
  for (const patch of [{ title: "bad\u0000" }, { title: "\ud800" }, { meta: nested(40) }, { tags: ["\udc00"] }, { meta: { ["k\u0000"]: 1 } }]) {
    appendFileSync(join(dir, file), later(patch));
    const b = new JsonlBacklogStore({ dir, log: silentLogger });
    expect({ patch, got: await b.get(item.id) }).toEqual({ patch, got: item });
    await b.close();
  }
});
