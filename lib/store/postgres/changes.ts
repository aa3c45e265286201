/**
 * The Postgres store's change version, for caches of read answers (lib/http/conditional.ts).
 *
 * Every write statement on backlog_items/backlog_events sends NOTIFY backlog_changed (a statement
 * trigger, migration 000008), delivered at commit to every replica listening. A version is
 * `pg:<epoch>:<changes>`: `changes` counts notifications and this process's own commits (bumped when
 * the write returns, so a caller's next request already sees its own write); `epoch` moves every time
 * the LISTEN connection is (re)established, since notifications sent while it was down are lost.
 * While it is not listening the version is null and callers must not cache.
 *
 * Limit: a write committed on ANOTHER replica reaches this one when its notification arrives (on
 * loopback well under a millisecond; on a network, one round trip): a request in that window may get
 * the answer from before that write.
 */
import { connectPg, typesFetched, type PgConfig, type Sql } from "../../pg/db.ts";
import { describeError } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";

export const CHANGE_CHANNEL = "backlog_changed";

export class ChangeFeed {
  private sql: Sql | null = null;
  private listening = false;
  private epoch = 0;
  private changes = 0;
  private closed = false;
  private retry: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly config: PgConfig,
    private readonly log: Logger,
  ) {}

  /** The current version, or null while not listening (the first call starts listening). */
  version(): string | null {
    if (!this.sql && !this.closed) this.start();
    return this.listening ? `pg:${this.epoch}:${this.changes}` : null;
  }

  /** This process committed a write. */
  bump(): void {
    this.changes++;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listening = false;
    if (this.retry) clearTimeout(this.retry);
    const sql = this.sql;
    this.sql = null;
    await sql?.end({ timeout: 1 }).catch(() => {});
  }

  private start(): void {
    const sql = connectPg(this.config, {
      max: 1,
      idleTimeout: null,
      onnotify: (channel) => {
        if (channel === CHANGE_CHANNEL) this.changes++;
      },
      onclose: () => {
        if (!this.listening) return;
        this.listening = false;
        this.log.debug("backlog_change_feed_lost", { hint: "read caches are off until LISTEN is back" });
        this.schedule();
      },
    });
    this.sql = sql;
    void this.listen();
  }

  private async listen(): Promise<void> {
    if (this.closed || !this.sql) return;
    try {
      await this.sql.unsafe(`listen ${CHANGE_CHANNEL}`);
      typesFetched(this.sql);
      this.epoch++;
      this.listening = true;
    } catch (err) {
      this.log.debug("backlog_change_feed_retry", { error: describeError(err) });
      this.schedule();
    }
  }

  private schedule(): void {
    if (this.closed || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = null;
      void this.listen();
    }, 1000);
    (this.retry as { unref?: () => void }).unref?.();
  }
}
