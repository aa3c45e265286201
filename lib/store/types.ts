/**
 * The backlog's data model and the one BacklogStore interface every backend implements
 * (memory, JSONL, Postgres, auto). Schemas are valibot data; types are inferred from them.
 */
import * as v from "valibot";
import { DateString, EnvName, ItemId, Limit, Meta, Name, Offset, PRIORITIES, STATUSES, Text, type Priority, type Status } from "../domain/schemas.ts";
import type { Sql } from "../pg/db.ts";
import type { FallbackRouter } from "./auto/router.ts";
import type { JsonlBacklogStore } from "./jsonl/store.ts";
import type { MemoryBacklogStore } from "./memory.ts";

// The vocabulary lives in lib/domain/schemas.ts; re-exported here for the store's many importers.
export { DateString, EnvName, PRIORITIES, STATUSES, type Priority, type Status };
/** Work that is not finished: counted in top_services, can be overdue, never removed by cleanup. */
export const OPEN_STATUSES = ["open", "in_progress", "blocked"] as const;
export const CLOSED_STATUSES = ["done", "canceled"] as const;
export const LIST_SORTS = ["updated", "due", "priority"] as const;
/** Events written by store.transition (the item lifecycle, docs/generation.md). */
export const LIFECYCLE_EVENT_TYPES = ["recurred", "auto_resolved", "signal_gone", "reopened", "snoozed", "snooze_expired", "escalated"] as const;
export const EVENT_TYPES = ["created", "updated", "status_changed", "commented", "owner_changed", ...LIFECYCLE_EVENT_TYPES] as const;

export type EventType = (typeof EVENT_TYPES)[number];
export type LifecycleEventType = (typeof LIFECYCLE_EVENT_TYPES)[number];

const Tags = v.pipe(v.array(Name(64)), v.maxLength(50, "at most 50 tags"));

export const BacklogItemSchema = v.object({
  id: ItemId,
  env: EnvName,
  service: Name(200),
  category: Name(100),
  title: Name(500),
  description: v.string(),
  priority: v.picklist(PRIORITIES),
  status: v.picklist(STATUSES),
  owner: v.nullable(Name(200)),
  due_date: v.nullable(DateString),
  source: Name(100),
  dedupe_key: Name(500),
  tags: v.array(v.string()),
  meta: Meta,
  created_at: v.string(),
  updated_at: v.string(),
});
export type BacklogItem = v.InferOutput<typeof BacklogItemSchema>;

export const BacklogEventSchema = v.object({
  id: v.string(),
  item_id: v.string(),
  ts: v.string(),
  type: v.picklist(EVENT_TYPES),
  actor: v.string(),
  message: v.string(),
  meta: Meta,
});
export type BacklogEvent = v.InferOutput<typeof BacklogEventSchema>;

/**
 * What callers pass to upsert: the item without id/timestamps. On an existing dedupe_key only title,
 * description, tags and meta are updated; owner changes only when passed explicitly; status, priority
 * and due_date stay as people left them (runbook section 7).
 */
export const UpsertInputSchema = v.object({
  env: EnvName,
  service: Name(200),
  category: Name(100),
  title: Name(500),
  description: v.optional(Text(20_000), ""),
  priority: v.picklist(PRIORITIES),
  /** Initial status of a new item; ignored for an existing one (use setStatus). */
  status: v.optional(v.picklist(STATUSES)),
  owner: v.optional(v.nullable(Name(200))),
  due_date: v.optional(v.nullable(DateString)),
  source: v.optional(Name(100), "manual"),
  dedupe_key: Name(500),
  tags: v.optional(Tags),
  meta: v.optional(Meta),
});
export type UpsertInput = v.InferInput<typeof UpsertInputSchema>;
export type UpsertInputParsed = v.InferOutput<typeof UpsertInputSchema>;

export const ListFilterSchema = v.object({
  env: v.optional(EnvName),
  status: v.optional(v.union([v.picklist(STATUSES), v.array(v.picklist(STATUSES))])),
  service: v.optional(Text(500)),
  owner: v.optional(Text(500)),
  category: v.optional(Text(500)),
  priority: v.optional(v.union([v.picklist(PRIORITIES), v.array(v.picklist(PRIORITIES))])),
  overdue: v.optional(v.boolean()),
  /** Case-insensitive substring of the title, service or id. */
  q: v.optional(Text(200)),
  /** Unfinished items due today or within this many days (not yet overdue). */
  due_within_days: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(365))),
  /** updated (newest first, default) | due (soonest due first, undated last) | priority (P0 first, then newest). */
  sort: v.optional(v.picklist(LIST_SORTS), "updated"),
  limit: v.optional(Limit, 100),
  offset: v.optional(Offset, 0),
});
export type ListFilter = v.InferInput<typeof ListFilterSchema>;

export interface ListResult {
  items: BacklogItem[];
  /** Matches before limit/offset, for pagination. */
  total: number;
}

export interface Actor {
  actor: string;
}

export interface UpsertResult {
  item: BacklogItem;
  created: boolean;
  /** False when an existing item already had exactly these values (nothing written, no event). */
  changed: boolean;
}

export interface OverdueEntry {
  id: string;
  env: string;
  service: string;
  category: string;
  title: string;
  priority: Priority;
  status: Status;
  owner: string | null;
  due_date: string;
  days_overdue: number;
}

/** Exactly the runbook's section 6 shape. */
export interface Dashboard {
  total: number;
  status_counts: Record<Status, number>;
  priority_counts: Record<Priority, number>;
  overdue_count: number;
  overdue: OverdueEntry[];
  top_services: { service: string; count: number }[];
}

export const DASHBOARD_OVERDUE_LIMIT = 50;
export const DASHBOARD_TOP_SERVICES = 10;

/**
 * One lifecycle step on one item (store.transition): the fields to set and the one event that says why.
 * `set.meta` is shallow-merged into the item's meta. The caller (lib/lifecycle) decides whether a step
 * is due, so re-running it is its business; the store applies it atomically (item + event together).
 */
export interface Transition {
  type: LifecycleEventType;
  message: string;
  set?: { status?: Status; priority?: Priority; due_date?: string | null; meta?: Record<string, unknown> };
  /** The event's meta. */
  meta?: Record<string, unknown>;
  /** Applied only while the item's updated_at is still this (else `conflict`): a concurrent change wins. */
  expect_updated_at?: string;
}

export interface StoreHealth {
  backend: string;
  /** Not running as configured (e.g. auto serving from the JSONL fallback because Postgres is down). */
  degraded: boolean;
  /** False when requests cannot be served at all (readyz answers 503). Absent means true. */
  serving?: boolean;
  detail?: string;
}

export interface CleanupOptions {
  /** Count what would be removed; remove nothing. */
  dryRun?: boolean;
}

/**
 * Where a store keeps its data, as data: the run ledger and risk history follow it (one place decides,
 * lib/scheduler/ledger-open.ts and lib/risk/storage.ts; no `instanceof` on store classes). On `auto`
 * they register with the store's router, which alone decides which backend serves.
 */
export type StoreBinding =
  | { kind: "memory"; store: MemoryBacklogStore }
  | { kind: "jsonl"; dir: string; store: JsonlBacklogStore }
  | { kind: "postgres"; sql: Sql }
  /** `fallback`: the JSONL store the router serves from while Postgres is down. */
  | { kind: "auto"; router: FallbackRouter; fallback: JsonlBacklogStore };

export interface BacklogStore {
  /** The runbook's class name of the backend actually serving: MemoryBacklogStore, JsonlBacklogStore, ... */
  readonly name: string;
  readonly binding: StoreBinding;
  upsert(input: UpsertInput, ctx: Actor): Promise<UpsertResult>;
  /**
   * The outcome of upserting each input in order (results in input order), written as one batch: every
   * input is checked first (a bad one names its position and nothing is written), then one transaction
   * (Postgres) or one lock and one append per file (JSONL). For generation runs of thousands of items.
   */
  upsertMany(inputs: UpsertInput[], ctx: Actor): Promise<UpsertResult[]>;
  get(id: string): Promise<BacklogItem | null>;
  getByDedupeKey(key: string): Promise<BacklogItem | null>;
  list(filter?: ListFilter, now?: Date): Promise<ListResult>;
  setStatus(id: string, status: Status, ctx: Actor & { message?: string }): Promise<BacklogItem>;
  addComment(id: string, message: string, ctx: Actor): Promise<BacklogEvent>;
  /** Applies one lifecycle step (fields + its event) atomically; returns the item after it. */
  transition(id: string, t: Transition, ctx: Actor): Promise<BacklogItem>;
  events(itemId: string): Promise<BacklogEvent[]>;
  dashboard(filter?: { env?: string }, now?: Date): Promise<Dashboard>;
  /** Removes done/canceled items (and their events) whose updated_at is older than retentionDays. */
  cleanup(retentionDays: number, now?: Date, options?: CleanupOptions): Promise<number>;
  health(): Promise<StoreHealth>;
  /**
   * A token that changes whenever anything readable may have changed (any write, by any process or
   * replica sharing the data); null when that cannot be known right now. Read caches key on it
   * (lib/http/conditional.ts). Cheap: no query. `"items"`: only what item reads answer (dashboard,
   * list, get without events) must be covered, so JSONL checks items.jsonl alone; backends with one
   * token for everything ignore it.
   */
  version?(scope?: "items"): string | null;
  close(): Promise<void>;
}
