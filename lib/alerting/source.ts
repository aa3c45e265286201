/**
 * Where the alert counts and the notifier's items come from: the backlog store's own backend. Postgres
 * answers with one statement; the memory and JSONL stores are folded in memory (their items are already
 * there). On the auto store each call goes to whichever backend serves at that moment, like the run
 * ledger (lib/scheduler/ledger-open.ts).
 */
import { AutoBacklogStore, JsonlBacklogStore, MemoryBacklogStore, PostgresBacklogStore } from "../store/index.ts";
import { rowToItem } from "../store/postgres-rows.ts";
import { todayUtc } from "../store/logic.ts";
import type { BacklogItem, BacklogStore } from "../store/types.ts";
import { countItems, queryCounts, type AlertCounts } from "./counts.ts";
import { attentionHorizon, attentionOf } from "./due.ts";

export interface AttentionSource {
  counts(now: Date, warnDays: number, envs?: readonly string[]): Promise<AlertCounts>;
  /** Unfinished items that are overdue or due soon (due on or before today + warnDays), oldest due first. */
  attentionItems(now: Date, warnDays: number): Promise<BacklogItem[]>;
}

type Scannable = { scanItems(): Promise<readonly Readonly<BacklogItem>[]> };

function scanSource(store: Scannable): AttentionSource {
  return {
    async counts(now, warnDays, envs) {
      return countItems(await store.scanItems(), now, warnDays, envs);
    },
    async attentionItems(now, warnDays) {
      const today = todayUtc(now);
      const out = (await store.scanItems()).filter((it) => attentionOf(it, today, warnDays) !== null).map((it) => structuredClone(it) as BacklogItem);
      return out.sort((a, b) => a.due_date!.localeCompare(b.due_date!) || a.id.localeCompare(b.id));
    },
  };
}

function pgSource(pg: PostgresBacklogStore): AttentionSource {
  return {
    counts: (now, warnDays, envs) => queryCounts(pg.sql, now, warnDays, envs),
    async attentionItems(now, warnDays) {
      const horizon = attentionHorizon(todayUtc(now), warnDays);
      const rows = await pg.sql`
        select * from backlog_items
         where status not in ('done', 'canceled') and due_date is not null and due_date <= ${horizon}::date
         order by due_date, id collate "C"`;
      return rows.map((r) => rowToItem(r as Record<string, unknown>));
    },
  };
}

export function attentionSource(store: BacklogStore): AttentionSource {
  if (store instanceof PostgresBacklogStore) return pgSource(store);
  if (store instanceof AutoBacklogStore) {
    const current = () => (store.serving ? pgSource(store.serving) : scanSource(store.jsonl));
    return {
      counts: (now, w, envs) => current().counts(now, w, envs),
      attentionItems: (now, w) => current().attentionItems(now, w),
    };
  }
  if (store instanceof JsonlBacklogStore || store instanceof MemoryBacklogStore) return scanSource(store);
  // Another BacklogStore (a test double of the interface): nothing to count without a scan.
  if (typeof (store as Partial<Scannable>).scanItems === "function") return scanSource(store as unknown as Scannable);
  throw new Error(`${store.name}: no way to count items for alerts (expected a Postgres, JSONL, memory or auto store)`);
}
