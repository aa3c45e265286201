/**
 * The notifier's sent state: one record per notice (webhook × item fingerprint × kind × slot), so a
 * notice is sent at most once across runs and replicas. `claim` is the exactly-once gate: of concurrent
 * callers claiming the same key, one wins; a claim that was never completed (a crashed run) may be taken
 * over after the lease. Implementations side by side: memory (here), state-jsonl.ts, state-postgres.ts;
 * state-open.ts picks the one in the backlog store's backend. Contract: tests/notify/state-contract.ts.
 */
import type { Priority } from "../store/types.ts";

/** A claim older than this whose run never completed it (a crashed process) may be taken over. */
export const CLAIM_LEASE_MS = 15 * 60_000;

export const NOTICE_KINDS = ["warn", "overdue", "resolved"] as const;
export type NoticeKind = (typeof NOTICE_KINDS)[number];

/** What a message says about an item; kept with the notice so a resolved note can name a deleted item. */
export interface ItemSummary {
  id: string;
  env: string;
  service: string;
  title: string;
  priority: Priority;
  due_date: string;
}

export interface NoticeRecord {
  key: string;
  webhook: string;
  fingerprint: string;
  kind: NoticeKind;
  slot: number;
  owner: string;
  item: ItemSummary;
  status: "sending" | "sent";
  run_id: string;
  claimed_at: string;
  sent_at: string | null;
}

export interface NotifyStateStore {
  readonly name: string;
  /** Records (status sending) whose key is new, or held by an unfinished claim older than leaseMs, become this run's; returns their keys. */
  claim(records: NoticeRecord[], now: Date, leaseMs: number): Promise<string[]>;
  /** The run's claims were delivered. */
  complete(keys: string[], runId: string, now: Date): Promise<void>;
  /** The run's claims were not delivered: forget them so the next run tries again. */
  release(keys: string[], runId: string): Promise<void>;
  /** Per fingerprint of this webhook: the latest sent warn/overdue notice, when no resolved notice exists. */
  firing(webhook: string): Promise<NoticeRecord[]>;
  /**
   * Removes the records `decide` picks out of all of them (prune.ts), each only if unchanged since
   * (same run and status); JSONL also compacts its file. Returns how many went. Dry run: how many
   * `decide` picked; nothing is written.
   */
  prune(decide: Decide, dryRun?: boolean): Promise<number>;
  close(): Promise<void>;
}

export type Decide = (records: NoticeRecord[]) => Promise<NoticeRecord[]>;

/** A record read for pruning is still the one stored: nobody claimed, completed or released it since. */
export const unchanged = (stored: NoticeRecord | undefined, read: NoticeRecord): boolean => stored !== undefined && stored.run_id === read.run_id && stored.status === read.status;

export const noticeKey = (webhook: string, fingerprint: string, kind: NoticeKind, slot: number): string => `${webhook}|${fingerprint}|${kind}|${slot}`;

/** The claim rule on a map of records (memory and JSONL); returns the records to write. */
export function decideClaims(current: ReadonlyMap<string, NoticeRecord>, records: NoticeRecord[], now: Date, leaseMs: number): NoticeRecord[] {
  const cutoff = new Date(now.getTime() - leaseMs).toISOString();
  const won: NoticeRecord[] = [];
  const seen = new Set<string>();
  for (const r of records) {
    if (seen.has(r.key)) continue;
    seen.add(r.key);
    const prev = current.get(r.key);
    if (!prev || (prev.status === "sending" && prev.claimed_at < cutoff)) won.push(r);
  }
  return won;
}

/** The firing rule on a list of records (memory and JSONL); the Postgres store says the same in SQL. */
export function firingOf(records: Iterable<NoticeRecord>, webhook: string): NoticeRecord[] {
  const latest = new Map<string, NoticeRecord>();
  const resolved = new Set<string>();
  for (const r of records) {
    if (r.webhook !== webhook) continue;
    if (r.kind === "resolved") resolved.add(r.fingerprint);
    else if (r.status === "sent") {
      const cur = latest.get(r.fingerprint);
      if (!cur || (r.sent_at ?? "") > (cur.sent_at ?? "")) latest.set(r.fingerprint, r);
    }
  }
  return [...latest.values()].filter((r) => !resolved.has(r.fingerprint)).sort((a, b) => a.fingerprint.localeCompare(b.fingerprint));
}

export class MemoryNotifyState implements NotifyStateStore {
  readonly name = "MemoryNotifyState";
  readonly records = new Map<string, NoticeRecord>();
  async claim(records: NoticeRecord[], now: Date, leaseMs: number): Promise<string[]> {
    const won = decideClaims(this.records, records, now, leaseMs);
    for (const r of won) this.records.set(r.key, { ...r });
    return won.map((r) => r.key);
  }
  async complete(keys: string[], runId: string, now: Date): Promise<void> {
    for (const k of keys) {
      const r = this.records.get(k);
      if (r && r.run_id === runId) this.records.set(k, { ...r, status: "sent", sent_at: now.toISOString() });
    }
  }
  async release(keys: string[], runId: string): Promise<void> {
    for (const k of keys) if (this.records.get(k)?.run_id === runId && this.records.get(k)?.status === "sending") this.records.delete(k);
  }
  async firing(webhook: string): Promise<NoticeRecord[]> {
    return firingOf(this.records.values(), webhook);
  }
  async prune(decide: Decide, dryRun = false): Promise<number> {
    const drop = await decide([...this.records.values()]);
    if (dryRun) return drop.length;
    let n = 0;
    for (const r of drop) if (unchanged(this.records.get(r.key), r) && this.records.delete(r.key)) n++;
    return n;
  }
  async close(): Promise<void> {}
}
