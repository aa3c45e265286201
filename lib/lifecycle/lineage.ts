/**
 * Lineage: the identity of a recommendation across periods (`<prefix>:<env>:<service>:<category>`, no
 * period), and the lifecycle fields kept in an item's `meta` (no extra columns, so every backend and the
 * auto store's replay carry them unchanged). Pure.
 */
import type { BacklogItem } from "../store/types.ts";

export const lineageKey = (prefix: string, env: string, service: string, category: string): string => [prefix, env, service, category].join(":");

/** The lifecycle keys an item's meta may hold (all optional: items older than the lifecycle have none). */
export interface LifecycleMeta {
  lineage_key?: string;
  /** Consecutive digests that recommended the lineage, up to last_period. */
  streak?: number;
  /** The latest period (ISO week or date) that recommended this item. */
  last_period?: string;
  /** Rolling mode and reopen: every period that recommended this item, oldest first. */
  periods?: string[];
  prev_id?: string | null;
  next_id?: string | null;
  /** Date of the auto-resolve (null once reopened). */
  auto_resolved_on?: string | null;
  /** last_period the `signal_gone` comment was written for (one per absence). */
  signal_gone_after?: string | null;
  /** Snoozed while today is before this date (exclusive); null once expired. */
  snoozed_until?: string | null;
  /** Escalation steps already taken for the current overdue spell. */
  escalations?: number;
  owner_source?: "override" | "catalog" | "default";
}

export const lifecycleMeta = (item: Pick<BacklogItem, "meta">): LifecycleMeta => item.meta as LifecycleMeta;

/** The lineage of a generated item: meta.lineage_key, else derived (items generated before lineages). */
export function lineageOf(item: Pick<BacklogItem, "meta" | "env" | "service" | "category">, prefix: string): string {
  const k = item.meta.lineage_key;
  return typeof k === "string" ? k : lineageKey(prefix, item.env, item.service, item.category);
}

/** The latest period that recommended the item: meta.last_period, else the week/date it was generated for. */
export function lastPeriodOf(item: Pick<BacklogItem, "meta">): string | null {
  const m = item.meta as Record<string, unknown>;
  for (const k of ["last_period", "week", "date"]) if (typeof m[k] === "string") return m[k] as string;
  return null;
}

export const streakOf = (item: Pick<BacklogItem, "meta">): number => {
  const s = item.meta.streak;
  return typeof s === "number" && Number.isInteger(s) && s > 0 ? s : 1;
};

export function periodsOf(item: Pick<BacklogItem, "meta">): string[] {
  const p = item.meta.periods;
  if (Array.isArray(p) && p.every((x) => typeof x === "string")) return p as string[];
  const last = lastPeriodOf(item);
  return last ? [last] : [];
}

/** Orders a lineage's items: by last period, then creation (id sorts by creation time). */
export function compareInLineage(a: BacklogItem, b: BacklogItem): number {
  const pa = lastPeriodOf(a) ?? "";
  const pb = lastPeriodOf(b) ?? "";
  return pa < pb ? -1 : pa > pb ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export interface LineageSummary {
  lineage_key: string;
  env: string;
  service: string;
  category: string;
  /** Newest first. */
  item_ids: string[];
  open: number;
  /** Of the newest item. */
  streak: number;
  last_period: string | null;
  /** Most urgent priority among the open items (null when none is open). */
  priority: string | null;
}

/** Groups items by lineage for the items API (`group_by=lineage`): "gateway/security: open 4 weeks running, P1". */
export function groupByLineage(items: BacklogItem[], prefix: string): LineageSummary[] {
  const groups = new Map<string, BacklogItem[]>();
  for (const it of items) {
    const k = lineageOf(it, prefix);
    const g = groups.get(k);
    if (g) g.push(it);
    else groups.set(k, [it]);
  }
  return [...groups].map(([key, its]) => {
    const sorted = [...its].sort(compareInLineage).reverse();
    const newest = sorted[0]!;
    const open = sorted.filter((i) => i.status === "open" || i.status === "in_progress" || i.status === "blocked");
    return {
      lineage_key: key,
      env: newest.env,
      service: newest.service,
      category: newest.category,
      item_ids: sorted.map((i) => i.id),
      open: open.length,
      streak: streakOf(newest),
      last_period: lastPeriodOf(newest),
      priority: open.length ? open.map((i) => i.priority).sort()[0]! : null,
    };
  });
}
