/**
 * Conditional GET for the polled read answers (dashboard JSON, items, one item): browsers, Prometheus
 * and scripts poll them, and between two writes the answer cannot change.
 *
 * - The serialized 200 body is kept, per (agent, path, query, UTC day, serving backend), until the
 *   store's change version moves (any write, by this process or, on JSONL, another process appending
 *   to the files; on Postgres, any replica's commit via LISTEN/NOTIFY: see store `version()`).
 * - ETag is strong and content-derived (a hash of the body), so it is the same on every replica that
 *   serves the same bytes; `If-None-Match` with it answers 304 without running the tool again.
 * - It runs after authentication, and only a 200 is kept, per agent: a caller without the entitlement
 *   still gets its 401/403, never someone else's cached answer.
 * - A version of null (unknown: Postgres LISTEN connection down) disables the cache: every request
 *   recomputes, correctness over speed.
 * - Requests that miss while the same answer is being computed wait for that computation (one tool run
 *   per version and key, not one per poller after each write).
 * - The version is read once per request (twice on a miss): on JSONL that is one stat per file the
 *   route reads (app.ts asks dashboards and lists for items.jsonl only), the largest part of a 304's
 *   cost (bench/http-stack.ts), kept because it is what makes another process's write visible at once.
 */
import { createHash } from "node:crypto";
import type { Context, MiddlewareHandler } from "hono";

export type VersionSource = () => Promise<string | null> | string | null;

export interface ConditionalOptions {
  version: VersionSource;
  clock: () => Date;
  /** Who is asking: answers are cached per agent. */
  agentOf(c: Context): string;
  /** The backend serving right now (a switch changes the answer's `backend`/`degraded`). */
  backend(): string;
  /** Most answers kept for one version (different queries); the oldest goes first. Default 256. */
  maxEntries?: number;
}

interface Entry {
  etag: string;
  body: string;
  contentType: string;
}

/** The ETag of a body: a quoted, truncated sha1 in base64url (strong: byte-identical bodies only). */
export function etagOf(body: string): string {
  return `"${createHash("sha1").update(body).digest("base64url")}"`;
}

/** True when an If-None-Match header names `etag` (a list, `*`, or weak forms W/"…" compare weakly). */
export function matchesIfNoneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === "*") return true;
  for (const part of header.split(",")) {
    const tag = part.trim().replace(/^W\//, "");
    if (tag === etag) return true;
  }
  return false;
}

const CACHE_CONTROL = "private, no-cache";

export function conditionalGet(opts: ConditionalOptions): MiddlewareHandler {
  const max = opts.maxEntries ?? 256;
  let version: string | null = null;
  let entries = new Map<string, Entry>();
  const inflight = new Map<string, Promise<Entry | null>>();

  const answer = (c: Context, e: Entry) => {
    if (matchesIfNoneMatch(c.req.header("if-none-match"), e.etag)) {
      return c.body(null, 304, { ETag: e.etag, "Cache-Control": CACHE_CONTROL });
    }
    return c.body(e.body, 200, { "Content-Type": e.contentType, ETag: e.etag, "Cache-Control": CACHE_CONTROL });
  };

  return async (c, next) => {
    // HEAD is routed to the GET handlers (the body is dropped): the same ETag and 304 as GET (RFC 9110 13.1.2).
    if (c.req.method !== "GET" && c.req.method !== "HEAD") return next();
    const now = await opts.version();
    if (now === null) {
      entries = new Map();
      version = null;
      return next();
    }
    if (now !== version) {
      entries = new Map();
      version = now;
    }
    const url = c.req.url;
    const q = url.indexOf("?");
    const key = `${opts.agentOf(c)}\n${c.req.path}\n${q < 0 ? "" : url.slice(q + 1)}\n${opts.clock().toISOString().slice(0, 10)}\n${opts.backend()}`;
    const hit = entries.get(key);
    if (hit) return answer(c, hit);

    // One computation per (version, key): requests that miss while it runs wait for it instead of each
    // running the tool (every poller misses at once after a write). A computation that is not kept
    // (not a 200, or a write happened meanwhile) is no answer for them: they compute their own.
    const flightKey = `${now}\n${key}`;
    const running = inflight.get(flightKey);
    if (running) {
      const shared = await running;
      if (shared) return answer(c, shared);
      return next();
    }
    let settle!: (e: Entry | null) => void;
    inflight.set(flightKey, new Promise<Entry | null>((r) => (settle = r)));
    let kept: Entry | null = null;
    try {
      await next();
      const res = c.res;
      if (res.status !== 200) return;
      const body = await res.clone().text();
      const entry: Entry = { etag: etagOf(body), body, contentType: res.headers.get("content-type") ?? "application/json" };
      // Keep it only if no write happened while it was computed (the answer may predate that write).
      if ((await opts.version()) === now && version === now) {
        if (entries.size >= max) entries.delete(entries.keys().next().value!);
        entries.set(key, entry);
        kept = entry;
      }
      c.res = undefined;
      c.res = answer(c, entry);
    } finally {
      inflight.delete(flightKey);
      settle(kept);
    }
  };
}
