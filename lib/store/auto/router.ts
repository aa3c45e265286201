/**
 * THE auto-backend router (runbook 1.1): the one place that decides whether Postgres or the JSONL
 * fallback serves. The backlog store, the run ledger and risk history each route their calls through
 * it and register a replay hook; nothing else looks at which backend serves.
 *
 * - Start: try Postgres (connect timeout from lib/pg/db.ts). No Postgres configured → JSONL, not
 *   degraded. Configured but unreachable (or not migrated) → JSONL, degraded, retried every
 *   retrySeconds (timer unref'd, so it never keeps a script alive).
 * - A query failing because the connection died switches to JSONL at once and the call runs there.
 * - Recovery: open Postgres, run every hook's replay once while JSONL still serves (the bulk), then
 *   close the switch gate (new calls wait, running JSONL calls drain), run every hook's replay again
 *   (the tail: everything acknowledged until then), switch, open the gate. Hooks run in `order`.
 * - While on Postgres the timer keeps looking for journal lines other processes on this host appended
 *   while they were still on the fallback, and replays them.
 * Log lines are the runbook's: `backlog_store: using PostgresBacklogStore` (info) and
 * `backlog_store: using JsonlBacklogStore` (warn, with the reason).
 */
import { clearInterval, setInterval } from "node:timers";
import { describePg, type PgConfig } from "../../pg/db.ts";
import { AppError, describeError } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import { PostgresBacklogStore } from "../postgres/store.ts";
import { isConnectionError } from "../../pg/connection-errors.ts";
import { SwitchGate } from "./gate.ts";

export const USING_POSTGRES = "backlog_store: using PostgresBacklogStore";
export const USING_JSONL = "backlog_store: using JsonlBacklogStore";

/** A probe never waits longer than this for Postgres (readyz must answer within its timeout). */
export const HEALTH_TIMEOUT_MS = 2000;

export interface ReplayHook {
  readonly name: string;
  /** Lower runs first (backlog 10, risk history 20, run ledger 30). */
  readonly order: number;
  /**
   * Sends what the fallback holds to Postgres, idempotently. `final`: inside the gate, the last pass
   * before the switch (nothing of this process is being written to JSONL meanwhile).
   * Throws on a connection failure (recovery is abandoned and retried later).
   */
  replay(pg: PostgresBacklogStore, final: boolean): Promise<void>;
  /** Something is waiting to be replayed (lines other processes appended). */
  pending?(): boolean;
  /** Records set aside as unreplayable so far. */
  quarantined?(): number;
}

export interface RouterOptions {
  pg: PgConfig | null;
  dir: string;
  retrySeconds: number;
  clock: () => Date;
  log: Logger;
}

export interface RouterHealth {
  backend: string;
  degraded: boolean;
  serving: boolean;
  detail: string;
}

export class FallbackRouter {
  readonly config: PgConfig | null;
  readonly dir: string;
  readonly retrySeconds: number;
  readonly clock: () => Date;
  readonly log: Logger;
  private pg: PostgresBacklogStore | null = null;
  private reason = "";
  private timer: ReturnType<typeof setInterval> | null = null;
  private recovering: Promise<boolean> | null = null;
  private readonly gate = new SwitchGate();
  private readonly hooks: ReplayHook[] = [];
  private closed = false;

  constructor(options: RouterOptions) {
    this.config = options.pg;
    this.dir = options.dir;
    this.clock = options.clock;
    this.log = options.log;
    this.retrySeconds = options.retrySeconds;
    if (!(this.retrySeconds > 0) || !Number.isFinite(this.retrySeconds)) {
      throw new AppError("config", `retrySeconds: expected a positive number of seconds, got ${JSON.stringify(options.retrySeconds)}.`);
    }
  }

  /** The Postgres store while it serves; null while on the fallback. */
  get serving(): PostgresBacklogStore | null {
    return this.pg;
  }

  /** Postgres is configured but the fallback serves. */
  get degraded(): boolean {
    return this.config !== null && this.pg === null;
  }

  /**
   * Adds a hook. If Postgres already serves, the hook's data is replayed now (in the background,
   * through the gate), so a ledger created after the switch still pushes earlier fallback claims.
   */
  register(hook: ReplayHook): void {
    this.hooks.push(hook);
    this.hooks.sort((a, b) => a.order - b.order);
    if (this.pg) void this.replayWhileServing([hook]);
  }

  /** Records set aside by every hook. */
  quarantined(): number {
    return this.hooks.reduce((n, h) => n + (h.quarantined?.() ?? 0), 0);
  }

  async start(): Promise<void> {
    if (!this.config) {
      this.log.warn(USING_JSONL, { reason: "no Postgres configured (BACKLOG_POSTGRES_DSN, POSTGRES_DSN or POSTGRES_HOST)", dir: this.dir, degraded: false });
      return;
    }
    await this.recover();
    this.startTimer();
  }

  /**
   * Runs a call on Postgres when it serves, else on the fallback. A connection failure on Postgres
   * switches over and runs it again there (`afterFailure` tells the fallback it may be a repeat).
   * No await between the gate check and `gate.run`: a switch waits for every fallback call.
   */
  async route<T>(onPg: (pg: PostgresBacklogStore) => Promise<T>, onJsonl: (afterFailure: boolean) => Promise<T>): Promise<T> {
    let afterFailure = false;
    for (;;) {
      for (let p; (p = this.gate.pending); ) await p;
      const pg = this.pg;
      if (!pg) return this.gate.run(() => onJsonl(afterFailure));
      try {
        return await onPg(pg);
      } catch (err) {
        if (!isConnectionError(err)) throw err;
        this.fallBack(pg, err);
        afterFailure = true;
      }
    }
  }

  /**
   * Runs `fn` counted by the gate (a switch waits for it), with the Postgres store if it serves.
   * For calls that write both sides (the run ledger's claims).
   */
  async both<T>(fn: (pg: PostgresBacklogStore | null) => Promise<T>): Promise<T> {
    for (let p; (p = this.gate.pending); ) await p;
    return this.gate.run(() => fn(this.pg));
  }

  /** Leaves Postgres after `err` killed a call on `pg` (no-op if we already left it). */
  fallBack(pg: PostgresBacklogStore, err: unknown): void {
    if (this.pg !== pg) return;
    this.pg = null;
    this.reason = describeError(err);
    this.log.warn(USING_JSONL, { reason: this.reason, target: describePg(this.config!), dir: this.dir, degraded: true, retry_seconds: this.retrySeconds });
    void pg.close().catch(() => {});
  }

  /** Answers within HEALTH_TIMEOUT_MS: never waits on the gate, a JSONL lock or a hung server. */
  async health(jsonl: () => Promise<{ degraded: boolean; detail?: string }>): Promise<RouterHealth> {
    const pg = this.pg;
    if (pg) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        const gap = await Promise.race([
          pg.schemaGap(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new AppError("unavailable", `Postgres did not answer within ${HEALTH_TIMEOUT_MS} ms`)), HEALTH_TIMEOUT_MS);
          }),
        ]);
        // Partly migrated: Postgres answers, so no fallback, but the server is not ready (schema-version.ts).
        if (gap) return { backend: pg.name, degraded: true, serving: false, detail: gap + this.quarantineNote() };
        return { backend: pg.name, degraded: false, serving: true, detail: describePg(this.config!) + this.quarantineNote() };
      } catch (err) {
        if (!isConnectionError(err)) return { backend: pg.name, degraded: true, serving: false, detail: describeError(err) };
        this.fallBack(pg, err);
      } finally {
        clearTimeout(timer);
      }
    }
    const j = await jsonl();
    if (!this.config) return { backend: "JsonlBacklogStore", degraded: j.degraded, serving: !j.degraded, detail: `no Postgres configured; ${j.detail ?? this.dir}` };
    return {
      backend: "JsonlBacklogStore",
      degraded: true,
      serving: !j.degraded,
      detail:
        `Postgres at ${describePg(this.config)} is unavailable (${this.reason}); serving from JSONL at ${this.dir}, retrying every ${this.retrySeconds}s` +
        (j.degraded ? `; JSONL: ${j.detail}` : "") +
        this.quarantineNote(),
    };
  }

  private quarantineNote(): string {
    const n = this.quarantined();
    return n ? `; ${n} journal record(s) quarantined in ${this.dir} (see docs/storage.md)` : "";
  }

  /**
   * Tries to get back to Postgres: connect, replay every hook, switch. Resolves true when Postgres
   * serves afterwards. Concurrent calls share one attempt.
   */
  recover(): Promise<boolean> {
    if (!this.config || this.closed) return Promise.resolve(false);
    if (this.pg) return Promise.resolve(true);
    this.recovering ??= this.attemptRecovery().finally(() => (this.recovering = null));
    return this.recovering;
  }

  private async attemptRecovery(): Promise<boolean> {
    const config = this.config!;
    let pg: PostgresBacklogStore | null = null;
    try {
      pg = await PostgresBacklogStore.open({ config, clock: this.clock, log: this.log });
      const open = pg;
      // The bulk while the fallback keeps serving; then the tail with calls held back.
      for (const h of [...this.hooks]) await h.replay(open, false);
      await this.gate.exclusive(async () => {
        if (this.closed) throw new AppError("unavailable", "store closed during recovery");
        for (const h of [...this.hooks]) await h.replay(open, true);
        this.pg = open;
      });
      this.reason = "";
      this.log.info(USING_POSTGRES, { target: describePg(config), jsonl_dir: this.dir });
      return true;
    } catch (err) {
      if (pg && this.pg !== pg) await pg.close().catch(() => {});
      const reason = describeError(err);
      if (reason !== this.reason) {
        this.reason = reason;
        this.log.warn(USING_JSONL, { reason, target: describePg(config), dir: this.dir, degraded: true, retry_seconds: this.retrySeconds });
      } else {
        this.log.debug("backlog_store_retry_failed", { reason, retry_seconds: this.retrySeconds });
      }
      return false;
    }
  }

  /** On Postgres: replays what other processes journaled meanwhile (calls held back while it runs). */
  private async replayWhileServing(hooks: ReplayHook[]): Promise<void> {
    const pg = this.pg;
    if (!pg || this.recovering) return;
    this.recovering = (async () => {
      try {
        await this.gate.exclusive(async () => {
          for (const h of hooks) await h.replay(pg, true);
        });
      } catch (err) {
        if (isConnectionError(err)) this.fallBack(pg, err);
        else this.log.warn("backlog_replay_failed", { error: describeError(err) });
      }
      return this.pg !== null;
    })().finally(() => (this.recovering = null));
    await this.recovering;
  }

  private tick(): void {
    if (this.closed) return;
    if (!this.pg) void this.recover();
    else {
      const waiting = this.hooks.filter((h) => h.pending?.());
      if (waiting.length) void this.replayWhileServing(waiting);
    }
  }

  private startTimer(): void {
    if (this.timer || this.closed || !this.config) return;
    // node:timers (not the global) so unref() exists under Deno too: the retry never keeps a script alive.
    this.timer = setInterval(() => this.tick(), this.retrySeconds * 1000);
    this.timer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.recovering?.catch(() => {});
    const pg = this.pg;
    this.pg = null;
    await pg?.close();
  }
}
