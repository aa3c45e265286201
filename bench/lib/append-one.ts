/**
 * Child process of bench/jsonl-fold.ts: "another process" that changes one item through its own
 * JsonlBacklogStore, as a cron job would while the server runs.
 *   bun bench/lib/append-one.ts <dir> <item index> <revision>
 */
import process from "node:process";
import { silentLogger } from "../../lib/core/log.ts";
import { JsonlBacklogStore } from "../../lib/store/jsonl/store.ts";
import { BENCH_NOW, upsertInput } from "./data.ts";

const [dir, index, revision] = process.argv.slice(2);
if (!dir || !index || !revision) {
  process.stderr.write("usage: bun bench/lib/append-one.ts <dir> <item index> <revision>\n");
  process.exit(2);
}
const input = upsertInput(Number(index));
const store = new JsonlBacklogStore({ dir, log: silentLogger, clock: () => BENCH_NOW });
const res = await store.upsert({ ...input, title: `${input.title} (appended ${revision})` }, { actor: "bench-other-process" });
await store.close();
process.stdout.write(JSON.stringify({ changed: res.changed, id: res.item.id }) + "\n");
