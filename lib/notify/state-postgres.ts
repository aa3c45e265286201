/** Postgres sent state (table notify_sent, migration 000008): claim = ONE insert … on conflict … returning. */
import type { Sql } from "../pg/db.ts";
import { tableHint } from "../pg/table-hint.ts";
import type { Decide, NoticeRecord, NotifyStateStore } from "./state.ts";

interface Row {
  key: string;
  webhook: string;
  fingerprint: string;
  kind: NoticeRecord["kind"];
  slot: number;
  owner: string;
  item: NoticeRecord["item"];
  status: NoticeRecord["status"];
  run_id: string;
  claimed_at: Date;
  sent_at: Date | null;
}

const toRecord = (r: Row): NoticeRecord => ({
  ...r,
  item: typeof r.item === "string" ? JSON.parse(r.item) : r.item,
  claimed_at: new Date(r.claimed_at).toISOString(),
  sent_at: r.sent_at ? new Date(r.sent_at).toISOString() : null,
});

const hinted = tableHint("notify_sent", "000008_notify_sent.sql");

export class PostgresNotifyState implements NotifyStateStore {
  readonly name = "PostgresNotifyState";
  constructor(private readonly sql: Sql) {}

  claim(records: NoticeRecord[], now: Date, leaseMs: number): Promise<string[]> {
    if (!records.length) return Promise.resolve([]);
    const unique = [...new Map(records.map((r) => [r.key, r])).values()];
    const cutoff = new Date(now.getTime() - leaseMs).toISOString();
    return hinted("claim notices", async () => {
      const rows = await this.sql<{ key: string }[]>`
        insert into notify_sent (key, webhook, fingerprint, kind, slot, owner, item, status, run_id, claimed_at, sent_at)
        select key, webhook, fingerprint, kind, slot, owner, item, 'sending', run_id, claimed_at, null
          from jsonb_to_recordset(${this.sql.json(unique as never)}) as x(
            key text, webhook text, fingerprint text, kind text, slot integer, owner text, item jsonb, run_id text, claimed_at timestamptz)
         order by key
        on conflict (key) do update
           set run_id = excluded.run_id, claimed_at = excluded.claimed_at, owner = excluded.owner, item = excluded.item
         where notify_sent.status = 'sending' and notify_sent.claimed_at < ${cutoff}
        returning key`;
      return rows.map((r) => r.key);
    });
  }

  /**
   * Takes in records kept elsewhere (JSONL during an outage): new keys are inserted, a claim here that the
   * other side completed becomes sent; nothing else changes. Idempotent. Returns the rows changed.
   */
  absorb(records: NoticeRecord[]): Promise<number> {
    return hinted("copy notices into Postgres", async () => {
      const rows = await this.sql<{ key: string }[]>`
        insert into notify_sent (key, webhook, fingerprint, kind, slot, owner, item, status, run_id, claimed_at, sent_at)
        select key, webhook, fingerprint, kind, slot, owner, item, status, run_id, claimed_at, sent_at
          from jsonb_to_recordset(${this.sql.json(records as never)}) as x(
            key text, webhook text, fingerprint text, kind text, slot integer, owner text, item jsonb, status text, run_id text, claimed_at timestamptz, sent_at timestamptz)
         order by key
        on conflict (key) do update set status = 'sent', sent_at = excluded.sent_at
         where notify_sent.status = 'sending' and excluded.status = 'sent'
        returning key`;
      return rows.length;
    });
  }

  async complete(keys: string[], runId: string, now: Date): Promise<void> {
    if (!keys.length) return;
    await hinted("record sent notices", () => this.sql`
      update notify_sent set status = 'sent', sent_at = ${now.toISOString()}
       where key = any(${keys}::text[]) and run_id = ${runId}`);
  }

  async release(keys: string[], runId: string): Promise<void> {
    if (!keys.length) return;
    await hinted("release notices", () => this.sql`
      delete from notify_sent where key = any(${keys}::text[]) and run_id = ${runId} and status = 'sending'`);
  }

  async firing(webhook: string): Promise<NoticeRecord[]> {
    const rows = await hinted("read firing notices", () => this.sql<Row[]>`
      select distinct on (fingerprint) * from notify_sent s
       where webhook = ${webhook} and kind <> 'resolved' and status = 'sent'
         and not exists (select 1 from notify_sent r where r.webhook = s.webhook and r.fingerprint = s.fingerprint and r.kind = 'resolved')
       order by fingerprint, sent_at desc`);
    return rows.map(toRecord).sort((a, b) => a.fingerprint.localeCompare(b.fingerprint));
  }

  /** One delete for the whole decision; a row claimed, completed or released since it was read stays. */
  async prune(decide: Decide, dryRun = false): Promise<number> {
    const all = await hinted("read notices", () => this.sql<Row[]>`select * from notify_sent`);
    const drop = await decide(all.map(toRecord));
    if (dryRun || !drop.length) return drop.length;
    const rows = await hinted("prune notices", () => this.sql<{ key: string }[]>`
      delete from notify_sent s
       using unnest(${drop.map((r) => r.key)}::text[], ${drop.map((r) => r.run_id)}::text[], ${drop.map((r) => r.status)}::text[]) as d(key, run_id, status)
       where s.key = d.key and s.run_id = d.run_id and s.status = d.status
      returning s.key`);
    return rows.length;
  }

  async close(): Promise<void> {}
}
