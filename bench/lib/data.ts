/**
 * Deterministic, realistic backlog data for benchmarks: items shaped like the weekly generator's
 * (dedupe keys, titles, meta, tags), spread over envs, services, statuses, priorities and due dates
 * around "today" so dashboards have overdue work and top services to compute.
 */
import { closeSync, openSync, writeSync } from "node:fs";
import type { BacklogEvent, BacklogItem, Priority, Status, UpsertInput } from "../../lib/store/types.ts";

/** Fixed "now" so every run computes the same dashboard. */
export const BENCH_NOW = new Date("2026-11-23T12:00:00.000Z");

const ENVS = ["prod", "prod", "prod", "staging", "staging", "dev"];
const CATEGORIES = ["arch_review", "refactor", "slo_hardening", "security", "cost", "observability", "reliability", "dependency_upgrade"];
const PRIORITIES: Priority[] = ["P0", "P1", "P1", "P2", "P2", "P2", "P3", "P3"];
/** Roughly what a live backlog holds: most work open, a third finished. */
const STATUSES: Status[] = ["open", "open", "open", "open", "in_progress", "in_progress", "blocked", "done", "done", "done", "canceled"];
const SERVICES = Array.from({ length: 80 }, (_, i) => `svc-${["gateway", "billing", "auth", "search", "ledger", "notify", "media", "ingest"][i % 8]}-${i}`);

/** mulberry32: tiny, fast, seeded. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

function isoDay(offsetDays: number): string {
  return new Date(BENCH_NOW.getTime() + offsetDays * 86_400_000).toISOString().slice(0, 10);
}

/** Same length and alphabet as lib/store/new-id.ts newId, but reproducible. */
export const itemId = (i: number) => `bl_0mwsjf2ed${i.toString(36).padStart(14, "0")}`;
export const eventId = (i: number, v: number) => `ev_0mwsjf2ef${v.toString(36)}${i.toString(36).padStart(13, "0")}`;

/** The upsert input of item `i` (what a generator run would send). */
export function upsertInput(i: number, seed = 1): UpsertInput {
  const r = rng(i * 7919 + seed);
  const env = pick(r, ENVS);
  const service = pick(r, SERVICES);
  const category = pick(r, CATEGORIES);
  const week = `2026-W${String(30 + (i % 18)).padStart(2, "0")}`;
  const score = Math.round(r() * 100);
  return {
    env,
    service,
    category,
    title: `${service}: ${category.replace(/_/g, " ")} (${week}, pressure ${score}/high)`,
    description: `Pressure score ${score} over the last 4 weeks: fan-out ${Math.round(r() * 40)}, churn ${Math.round(r() * 900)} lines, ${Math.round(r() * 12)} incidents.`,
    priority: pick(r, PRIORITIES),
    status: pick(r, STATUSES),
    owner: r() < 0.85 ? `team-${service.split("-")[1]}` : null,
    due_date: r() < 0.9 ? isoDay(Math.round(r() * 120) - 60) : null,
    source: "weekly_digest",
    dedupe_key: `platform_backlog:${week}:${env}:${service}:${category}:${i}`,
    tags: ["auto", category],
    meta: { pressure_score: score, band: score > 75 ? "critical" : score > 50 ? "high" : "medium", digest_week: week },
  };
}

/** Version `v` (0 = created) of item `i` as the JSONL store writes it: later versions retitle and move status. */
export function itemVersion(i: number, v: number): BacklogItem {
  const input = upsertInput(i);
  const created = new Date(BENCH_NOW.getTime() - 30 * 86_400_000 + i * 10).toISOString();
  const updated = v === 0 ? created : new Date(BENCH_NOW.getTime() - (10 - v) * 86_400_000 + i * 10).toISOString();
  const r = rng(i * 31 + v);
  return {
    id: itemId(i),
    env: input.env,
    service: input.service,
    category: input.category,
    title: v === 0 ? input.title : `${input.title} r${v}`,
    description: input.description ?? "",
    priority: input.priority,
    status: v === 0 ? (input.status ?? "open") : pick(r, STATUSES),
    owner: input.owner ?? null,
    due_date: input.due_date ?? null,
    source: input.source ?? "manual",
    dedupe_key: input.dedupe_key,
    tags: input.tags ?? [],
    meta: { ...input.meta, revision: v },
    created_at: created,
    updated_at: updated,
  };
}

export function createdEvent(it: BacklogItem, i: number): BacklogEvent {
  return { id: eventId(i, 0), item_id: it.id, ts: it.created_at, type: "created", actor: "scheduler", message: `created: ${it.title}`, meta: { source: it.source } };
}

/** Writes lines in large pieces: a million lines in a few seconds without holding the file in memory. */
export function writeJsonl(path: string, records: Iterable<object>): { lines: number; bytes: number } {
  const fd = openSync(path, "w");
  let buf = "";
  let lines = 0;
  let bytes = 0;
  const flush = () => {
    bytes += writeSync(fd, buf);
    buf = "";
  };
  try {
    for (const rec of records) {
      buf += JSON.stringify(rec) + "\n";
      lines++;
      if (buf.length >= 4 << 20) flush();
    }
    flush();
  } finally {
    closeSync(fd);
  }
  return { lines, bytes };
}

/** `items` items × `versions` versions, written round by round (every item once, then again…), as weekly re-runs would. */
export function* versionRounds(items: number, versions: number): Generator<BacklogItem> {
  for (let v = 0; v < versions; v++) for (let i = 0; i < items; i++) yield itemVersion(i, v);
}
