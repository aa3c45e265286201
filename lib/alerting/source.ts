/**
 * Where the alert counts and the notifier's items come from: the backlog store's own backend. Postgres
 * answers with one statement; JSONL from its dashboard aggregates (counts kept up to date per write, never
 * a walk over the items); memory folds its items. On the auto store the store's router (lib/store/auto/
 * router.ts) sends each call to whichever backend serves at that moment.
 */
import type { Sql } from "../pg/db.ts";
import type { JsonlBacklogStore } from "../store/jsonl/store.ts";
import { notSnoozedSql, rowToItem } from "../store/postgres/rows.ts";
import { todayUtc } from "../store/dates.ts";
import { PRIORITIES, type BacklogItem, type BacklogStore } from "../store/types.ts";
import { countItems, emptyEnvCounts, queryCounts, type AlertCounts } from "./counts.ts";
import { attentionClassifier, attentionHorizon } from "./due.ts";

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
      const attention = attentionClassifier(todayUtc(now), warnDays);
      const out = (await store.scanItems()).filter((it) => attention(it) !== null).map((it) => structuredClone(it) as BacklogItem);
      return out.sort((a, b) => a.due_date!.localeCompare(b.due_date!) || a.id.localeCompare(b.id));
    },
  };
}

/** JSONL: from the store's dashboard aggregates: counts per due date, never a walk over the items. */
function jsonlSource(store: JsonlBacklogStore): AttentionSource {
  return {
    async counts(now, warnDays, envs = []) {
      const today = todayUtc(now);
      const attention = attentionClassifier(today, warnDays);
      const out: AlertCounts = { today, warn_days: warnDays, envs: Object.fromEntries(envs.map((e) => [e, emptyEnvCounts()])) };
      for (const [env, v] of await store.attention(attentionHorizon(today, warnDays))) {
        const c = (out.envs[env] ??= emptyEnvCounts());
        c.items = v.items;
        for (const day of v.days) {
          // every item of a day is unfinished with that due date: the day classifies them all
          const a = attention({ status: "open", due_date: day.date });
          if (a) for (const p of PRIORITIES) c[a][p] += day.priorities[p];
        }
        // …except snoozed ones (backlog_tool.snooze): out of alerts until their date.
        for (const s of v.snoozed) {
          const a = s.snoozed_until > today ? attention({ status: "open", due_date: s.due_date }) : null;
          if (a) c[a][s.priority]--;
        }
      }
      return out;
    },
    async attentionItems(now, warnDays) {
      const today = todayUtc(now);
      const attention = attentionClassifier(today, warnDays);
      const out = (await store.dueBy(attentionHorizon(today, warnDays))).filter((it) => attention(it) !== null);
      return out.sort((a, b) => a.due_date!.localeCompare(b.due_date!) || a.id.localeCompare(b.id));
    },
  };
}

function pgSource(sql: Sql): AttentionSource {
  return {
    counts: (now, warnDays, envs) => queryCounts(sql, now, warnDays, envs),
    async attentionItems(now, warnDays) {
      const today = todayUtc(now);
      const horizon = attentionHorizon(today, warnDays);
      const rows = await sql`
        select * from backlog_items
         where status not in ('done', 'canceled') and due_date is not null and due_date <= ${horizon}::date and ${notSnoozedSql(sql, today)}
         order by due_date, id collate "C"`;
      return rows.map((r) => rowToItem(r as Record<string, unknown>));
    },
  };
}

export function attentionSource(store: BacklogStore): AttentionSource {
  const b = store.binding;
  switch (b.kind) {
    case "postgres":
      return pgSource(b.sql);
    case "jsonl":
      return jsonlSource(b.store);
    case "memory":
      return scanSource(b.store);
    case "auto": {
      const fallback = jsonlSource(b.fallback);
      return {
        counts: (now, w, envs) => b.router.route((pg) => pgSource(pg.sql).counts(now, w, envs), () => fallback.counts(now, w, envs)),
        attentionItems: (now, w) => b.router.route((pg) => pgSource(pg.sql).attentionItems(now, w), () => fallback.attentionItems(now, w)),
      };
    }
  }
}
