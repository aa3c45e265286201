import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../../lib/log.ts";
import { JsonlBacklogStore } from "../../lib/store/jsonl.ts";
import { storeContract } from "./contract.ts";

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
