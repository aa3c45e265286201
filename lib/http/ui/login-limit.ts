/**
 * The sign-in attempt budget against guessing API keys at /ui/login. Only refused keys spend it (a typo
 * costs one attempt; signing in does not): each client address has a bucket of CLIENT.burst attempts
 * refilled one per CLIENT.refillMs, and all clients together share one of GLOBAL.burst refilled one per
 * GLOBAL.refillMs — the form takes a key and no user name, so "per user" cannot be told apart from
 * "per key guessed"; the shared bucket is what bounds guessing spread over many addresses. An empty
 * bucket refuses every sign-in from that client (the right key too: otherwise guessing would go on
 * unhindered) until it refills; the answer says when (Retry-After).
 *
 * Memory is bounded: at most MAX_CLIENTS buckets; a full bucket is the same as none and is dropped first,
 * then the least recently used. Evicting a client gives it a fresh budget, which the shared bucket still
 * caps. Per process: N replicas allow N times the budget (docs/dashboard.md).
 */
export interface Budget {
  burst: number;
  refillMs: number;
}

export const CLIENT: Budget = { burst: 10, refillMs: 60_000 };
export const GLOBAL: Budget = { burst: 100, refillMs: 2_000 };
export const MAX_CLIENTS = 10_000;

interface Bucket {
  tokens: number;
  at: number;
}

/** Tokens after refilling up to `now` (never above the burst). */
const level = (b: Bucket, budget: Budget, now: number) => Math.min(budget.burst, b.tokens + Math.max(0, now - b.at) / budget.refillMs);

export type Verdict = { ok: true } | { ok: false; retryAfterS: number; scope: "client" | "all" };

export class LoginLimiter {
  private readonly clients = new Map<string, Bucket>();
  private global: Bucket;

  constructor(
    private readonly client: Budget = CLIENT,
    private readonly all: Budget = GLOBAL,
    private readonly maxClients = MAX_CLIENTS,
  ) {
    this.global = { tokens: all.burst, at: 0 };
  }

  /** How many client buckets are held (for the memory-bound test). */
  get size(): number {
    return this.clients.size;
  }

  /** May this client try a key now? */
  check(client: string, now: number): Verdict {
    const wait = (tokens: number, budget: Budget) => Math.max(1, Math.ceil(((1 - tokens) * budget.refillMs) / 1000));
    const mine = this.clients.get(client);
    const own = mine ? level(mine, this.client, now) : this.client.burst;
    if (own < 1) return { ok: false, retryAfterS: wait(own, this.client), scope: "client" };
    const shared = level(this.global, this.all, now);
    if (shared < 1) return { ok: false, retryAfterS: wait(shared, this.all), scope: "all" };
    return { ok: true };
  }

  /** A refused key: spends one attempt of the client's budget and of the shared one. Returns true when that emptied the client's. */
  fail(client: string, now: number): boolean {
    this.global = { tokens: level(this.global, this.all, now) - 1, at: now };
    const mine = this.clients.get(client);
    const tokens = (mine ? level(mine, this.client, now) : this.client.burst) - 1;
    this.clients.delete(client); // re-inserted last: the Map's order is least recently used first
    if (this.clients.size >= this.maxClients) this.evict(now);
    this.clients.set(client, { tokens, at: now });
    return tokens < 1;
  }

  private evict(now: number): void {
    for (const [k, b] of this.clients) if (level(b, this.client, now) >= this.client.burst) this.clients.delete(k);
    for (const k of this.clients.keys()) {
      if (this.clients.size < this.maxClients) break;
      this.clients.delete(k);
    }
  }
}
