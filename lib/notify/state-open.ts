/**
 * Which sent-state store: the one next to the backlog, following the store's binding
 * (lib/store/types.ts StoreBinding), like the run ledger, risk history and trends:
 *   postgres → table notify_sent over the same pool (migration 000008)
 *   jsonl    → <BACKLOG_JSONL_DIR>/notify_sent.jsonl (same directory lock)
 *   auto     → the store's router decides per call; notices recorded in JSONL while Postgres was down
 *              are copied into it by a replay hook registered with the router (so a sent notice is
 *              not sent again after the switch back)
 *   memory   → memory, one per store instance
 * One instance per backlog store (cached), so the hook is registered once.
 */
import { perStore } from "../store/per-store.ts";
import type { Logger } from "../core/log.ts";
import type { FallbackRouter, ReplayHook } from "../store/auto/router.ts";
import type { PostgresBacklogStore } from "../store/postgres/store.ts";
import type { BacklogStore } from "../store/types.ts";
import { MemoryNotifyState, type Decide, type NoticeRecord, type NotifyStateStore } from "./state.ts";
import { JsonlNotifyState } from "./state-jsonl.ts";
import { PostgresNotifyState } from "./state-postgres.ts";

const cached = perStore<NotifyStateStore>();

const onPostgres = (pg: PostgresBacklogStore) => cached(pg, () => new PostgresNotifyState(pg.sql));

class AutoNotifyState implements NotifyStateStore {
  readonly hook: ReplayHook;

  constructor(
    private readonly router: FallbackRouter,
    private readonly jsonl: JsonlNotifyState,
    log: Logger,
  ) {
    this.hook = {
      name: "notify_sent",
      order: 35,
      replay: async (pg) => {
        const records = await jsonl.all();
        const moved = records.length ? await onPostgres(pg).absorb(records) : 0;
        if (moved) log.info("notify_state_replayed", { records: moved, from: jsonl.file, hint: "notices recorded while Postgres was unavailable" });
      },
    };
  }

  get name(): string {
    return this.router.serving ? "PostgresNotifyState" : this.jsonl.name;
  }

  private route<T>(op: (s: NotifyStateStore) => Promise<T>): Promise<T> {
    return this.router.route((pg) => op(onPostgres(pg)), () => op(this.jsonl));
  }

  claim = (records: NoticeRecord[], now: Date, leaseMs: number) => this.route((s) => s.claim(records, now, leaseMs));
  complete = (keys: string[], runId: string, now: Date) => this.route((s) => s.complete(keys, runId, now));
  release = (keys: string[], runId: string) => this.route((s) => s.release(keys, runId));
  firing = (webhook: string) => this.route((s) => s.firing(webhook));
  /** The serving side, and the JSONL fallback file too when Postgres serves (its records were replayed; it must not grow forever). */
  prune = async (decide: Decide, dryRun?: boolean) => (await this.route((s) => s.prune(decide, dryRun))) + (this.router.serving ? await this.jsonl.prune(decide, dryRun) : 0);
  close = async () => {};
}

export function openNotifyState(store: BacklogStore, log: Logger): NotifyStateStore {
  const b = store.binding;
  switch (b.kind) {
    case "memory":
      return cached(store, () => new MemoryNotifyState());
    case "jsonl":
      return cached(store, () => new JsonlNotifyState(b.dir, log));
    case "postgres":
      return cached(store, () => new PostgresNotifyState(b.sql));
    case "auto":
      return cached(store, () => {
        const s = new AutoNotifyState(b.router, new JsonlNotifyState(b.router.dir, log), log);
        b.router.register(s.hook);
        return s;
      });
  }
}
