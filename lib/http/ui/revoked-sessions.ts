/**
 * Signed-out sessions, shared by every server process on the backlog store's backend, so signing out on
 * one replica ends the session on all of them (sessions are stateless signed cookies: only a list of
 * revoked nonces can end one early). An entry lives until the session would have expired anyway.
 *   postgres → table ui_revoked_sessions (migration 000012), one primary-key lookup per request
 *   jsonl    → <dir>/ui_revoked.jsonl, appended under the directory lock; each check reads only what was
 *              appended since the last one; rewritten without expired entries when they outnumber the rest
 *   auto     → the router decides per call; sign-outs recorded in JSONL while Postgres was down are copied
 *              into it on recovery (replay hook)
 *   memory   → this process only
 * One instance per backlog store (cached).
 */
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { silentLogger, type Logger } from "../../core/log.ts";
import { DirLock } from "../../fs/file-lock.ts";
import { BLANK, type LineSink } from "../../fs/line-sink.ts";
import { JsonlFile } from "../../fs/jsonl-file.ts";
import type { Sql } from "../../pg/db.ts";
import { tableHint } from "../../pg/table-hint.ts";
import type { FallbackRouter } from "../../store/auto/router.ts";
import { perStore } from "../../store/per-store.ts";
import type { PostgresBacklogStore } from "../../store/postgres/store.ts";
import type { BacklogStore } from "../../store/types.ts";

export interface RevokedSessions {
  /** Ends the session with this nonce everywhere, until `expiresAt` (ms), when it would have ended anyway. */
  revoke(nonce: string, expiresAt: number, now: number): Promise<void>;
  isRevoked(nonce: string, now: number): Promise<boolean>;
}

export class MemoryRevokedSessions implements RevokedSessions {
  private readonly until = new Map<string, number>();
  async revoke(nonce: string, expiresAt: number, now: number): Promise<void> {
    for (const [n, e] of this.until) if (e <= now) this.until.delete(n);
    this.until.set(nonce, expiresAt);
  }
  async isRevoked(nonce: string, now: number): Promise<boolean> {
    return (this.until.get(nonce) ?? 0) > now;
  }
}

export const REVOKED_FILE = "ui_revoked.jsonl";

export class JsonlRevokedSessions implements RevokedSessions {
  readonly file: string;
  private readonly dir: string;
  private readonly lock: DirLock;
  /** nonce → expiry (ms), as read from the file so far. */
  private readonly seen = new Map<string, number>();
  private readonly reader: JsonlFile;
  /** One catch-up at a time: the reader is shared. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(dir: string, log: Logger = silentLogger) {
    this.dir = resolve(dir);
    this.file = join(this.dir, REVOKED_FILE);
    this.lock = new DirLock(this.dir, { staleMs: 10_000, log });
    this.reader = new JsonlFile(this.file, log);
  }

  private readonly sink: LineSink = {
    reset: () => this.seen.clear(),
    batch: (values) => {
      const bad: number[] = [];
      values.forEach((x, i) => {
        const r = x as { n?: unknown; e?: unknown };
        if (x === BLANK) return;
        if (typeof r?.n === "string" && typeof r.e === "number") this.seen.set(r.n, r.e);
        else bad.push(i);
      });
      return bad;
    },
    end: () => {},
  };

  /**
   * Reads the file (it is kept short: rewritten past twice the live entries) and runs `then`; the handle
   * is closed before the call returns, as the other JSONL state files do: a handle left open would be
   * closed by the garbage collector once this object is dropped, which Bun raises as an uncaught error.
   */
  private catchUp<T>(then: (tail: number) => Promise<T>): Promise<T> {
    const run = this.queue.then(async () => {
      try {
        return await then(await this.reader.catchUp(this.sink));
      } finally {
        await this.reader.close();
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  async revoke(nonce: string, expiresAt: number, now: number): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await this.lock.run(() =>
      this.catchUp(async (tail) => {
        await this.reader.repairTail(tail);
        await this.reader.append(JSON.stringify({ n: nonce, e: expiresAt }) + "\n", 1);
        this.seen.set(nonce, expiresAt);
        const live = [...this.seen].filter(([, e]) => e > now);
        if (this.reader.lines > 2 * live.length + 100) {
          await this.reader.rewrite(live.map(([n, e]) => JSON.stringify({ n, e }) + "\n"), live.length);
          for (const [n, e] of this.seen) if (e <= now) this.seen.delete(n);
        }
      }),
    );
  }

  async isRevoked(nonce: string, now: number): Promise<boolean> {
    if (!existsSync(this.file)) return false;
    return this.catchUp(async () => (this.seen.get(nonce) ?? 0) > now);
  }

  async all(): Promise<[string, number][]> {
    if (!existsSync(this.file)) return [];
    return this.catchUp(async () => [...this.seen]);
  }
}

const hinted = tableHint("ui_revoked_sessions", "000012_ui_revoked_sessions.sql");

export class PostgresRevokedSessions implements RevokedSessions {
  constructor(private readonly sql: Sql) {}

  async revoke(nonce: string, expiresAt: number, now: number): Promise<void> {
    await this.absorb([[nonce, expiresAt]], now);
  }

  /** Records sign-outs (also those kept in JSONL during an outage); drops the expired ones. */
  async absorb(entries: [string, number][], now: number): Promise<void> {
    const live = entries.filter(([, e]) => e > now);
    await hinted("record a sign-out", async () => {
      await this.sql`delete from ui_revoked_sessions where expires_at <= ${new Date(now).toISOString()}`;
      if (live.length) {
        await this.sql`
          insert into ui_revoked_sessions (nonce, expires_at)
          select * from unnest(${live.map(([n]) => n)}::text[], ${live.map(([, e]) => new Date(e).toISOString())}::timestamptz[])
          on conflict (nonce) do nothing`;
      }
    });
  }

  async isRevoked(nonce: string, now: number): Promise<boolean> {
    const rows = await hinted("check a session", () => this.sql`select 1 from ui_revoked_sessions where nonce = ${nonce} and expires_at > ${new Date(now).toISOString()}`);
    return rows.length > 0;
  }
}

const cached = perStore<RevokedSessions>();
const onPostgres = (pg: PostgresBacklogStore) => cached(pg, () => new PostgresRevokedSessions(pg.sql)) as PostgresRevokedSessions;

function auto(router: FallbackRouter, jsonl: JsonlRevokedSessions, log: Logger): RevokedSessions {
  router.register({
    name: "ui_revoked_sessions",
    order: 36,
    replay: async (pg) => {
      const now = Date.now();
      const entries = await jsonl.all();
      if (entries.length) {
        await onPostgres(pg).absorb(entries, now);
        log.info("ui_revoked_replayed", { sessions: entries.length, from: jsonl.file, hint: "sign-outs recorded while Postgres was unavailable" });
      }
    },
  });
  const route = <T>(op: (s: RevokedSessions) => Promise<T>) => router.route((pg) => op(onPostgres(pg)), () => op(jsonl));
  return {
    revoke: (nonce, expiresAt, now) => route((s) => s.revoke(nonce, expiresAt, now)),
    isRevoked: (nonce, now) => route((s) => s.isRevoked(nonce, now)),
  };
}

export function openRevokedSessions(store: BacklogStore, log: Logger = silentLogger): RevokedSessions {
  const b = store.binding;
  switch (b.kind) {
    case "memory":
      return cached(store, () => new MemoryRevokedSessions());
    case "jsonl":
      return cached(store, () => new JsonlRevokedSessions(b.dir, log));
    case "postgres":
      return cached(store, () => new PostgresRevokedSessions(b.sql));
    case "auto":
      return cached(store, () => auto(b.router, new JsonlRevokedSessions(b.router.dir, log), log));
  }
}
