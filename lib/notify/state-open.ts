/**
 * Which sent-state store: the one in the backlog store's backend, like the run ledger
 * (lib/scheduler/ledger-open.ts): Postgres when the store serves from Postgres, the JSONL file next to
 * the store's files otherwise, memory for the memory store. On the auto store each call goes to whichever
 * backend serves at that moment (the store's own choice; there is no separate router to register with).
 */
import type { Logger } from "../log.ts";
import { AutoBacklogStore, JsonlBacklogStore, PostgresBacklogStore } from "../store/index.ts";
import type { BacklogStore } from "../store/types.ts";
import { MemoryNotifyState, type NoticeRecord, type NotifyStateStore } from "./state.ts";
import { JsonlNotifyState } from "./state-jsonl.ts";
import { PostgresNotifyState } from "./state-postgres.ts";

class AutoNotifyState implements NotifyStateStore {
  private readonly jsonl: JsonlNotifyState;
  private pg: { store: PostgresBacklogStore; state: PostgresNotifyState } | null = null;
  constructor(private readonly store: AutoBacklogStore, log: Logger) {
    this.jsonl = new JsonlNotifyState(store.jsonl.dir, log);
  }
  private current(): NotifyStateStore {
    const pg = this.store.serving;
    if (!pg) return this.jsonl;
    if (this.pg?.store !== pg) this.pg = { store: pg, state: new PostgresNotifyState(pg.sql) };
    return this.pg.state;
  }
  get name() {
    return this.current().name;
  }
  claim(records: NoticeRecord[], now: Date, leaseMs: number) {
    return this.current().claim(records, now, leaseMs);
  }
  complete(keys: string[], runId: string, now: Date) {
    return this.current().complete(keys, runId, now);
  }
  release(keys: string[], runId: string) {
    return this.current().release(keys, runId);
  }
  firing(webhook: string) {
    return this.current().firing(webhook);
  }
  async close() {}
}

/** One memory state per memory store, so every run in the process shares it. */
const memoryStates = new WeakMap<BacklogStore, MemoryNotifyState>();

export function openNotifyState(store: BacklogStore, log: Logger): NotifyStateStore {
  if (store instanceof PostgresBacklogStore) return new PostgresNotifyState(store.sql);
  if (store instanceof AutoBacklogStore) return new AutoNotifyState(store, log);
  if (store instanceof JsonlBacklogStore) return new JsonlNotifyState(store.dir, log);
  let m = memoryStates.get(store);
  if (!m) memoryStates.set(store, (m = new MemoryNotifyState()));
  return m;
}
