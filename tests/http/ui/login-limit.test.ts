/**
 * The sign-in attempt budget: the limiter with data (refill, Retry-After, the shared bucket, bounded
 * memory), then the app (429 + Retry-After after 10 refused keys from one address, the right key refused
 * too while it lasts, other addresses unaffected, a spoofed X-Forwarded-For ignored unless the proxy is
 * trusted, no key in any log line), then a real server on loopback (the peer address reaches the budget).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { createLogger } from "../../../lib/core/log.ts";
import { LoginLimiter } from "../../../lib/http/ui/login-limit.ts";
import { silentLogger } from "../../../lib/core/log.ts";
import { MemoryBacklogStore } from "../../../lib/store/memory.ts";
import { buildAccess } from "../../../lib/access/config.ts";
import { startServer, type RunningServer } from "../../../server.ts";
import { csrfOf, FORM, login, uiApp, WRITER } from "./ui-app.ts";

describe("LoginLimiter", () => {
  test("a client's budget: burst, then Retry-After until one attempt has refilled", () => {
    const l = new LoginLimiter({ burst: 3, refillMs: 10_000 }, { burst: 100, refillMs: 1 });
    for (let i = 0; i < 3; i++) {
      expect(l.check("a", 0)).toEqual({ ok: true });
      expect(l.fail("a", 0)).toBe(i === 2);
    }
    expect(l.check("a", 0)).toEqual({ ok: false, retryAfterS: 10, scope: "client" });
    expect(l.check("a", 4_000)).toEqual({ ok: false, retryAfterS: 6, scope: "client" });
    expect(l.check("b", 4_000)).toEqual({ ok: true });
    expect(l.check("a", 10_000)).toEqual({ ok: true });
    l.fail("a", 10_000);
    expect(l.check("a", 10_000).ok).toBe(false);
  });

  test("the shared budget stops guessing spread over many addresses", () => {
    const l = new LoginLimiter({ burst: 10, refillMs: 60_000 }, { burst: 5, refillMs: 2_000 });
    for (let i = 0; i < 5; i++) l.fail(`10.0.0.${i}`, 0);
    expect(l.check("10.0.0.99", 0)).toEqual({ ok: false, retryAfterS: 2, scope: "all" });
    expect(l.check("10.0.0.99", 2_000)).toEqual({ ok: true });
  });

  test("memory stays bounded under address rotation; refilled buckets go first, then the least recently used", () => {
    const l = new LoginLimiter({ burst: 2, refillMs: 1_000 }, { burst: 1e9, refillMs: 1 }, 100);
    for (let i = 0; i < 50_000; i++) l.fail(`ip${i}`, i);
    expect(l.size).toBeLessThanOrEqual(100);
    // a recent, exhausted client is still held
    const k = new LoginLimiter({ burst: 1, refillMs: 1e9 }, { burst: 1e9, refillMs: 1 }, 3);
    k.fail("x", 0);
    for (const ip of ["a", "b", "c", "d"]) k.fail(ip, 1);
    expect(k.size).toBe(3);
    k.fail("keep", 2);
    k.fail("keep", 2);
    for (const ip of ["e", "f"]) k.fail(ip, 3);
    expect(k.check("keep", 3).ok).toBe(false);
  });
});

describe("through the app", () => {
  const A = { remoteAddr: "203.0.113.7" };
  const B = { remoteAddr: "198.51.100.9" };

  test("10 refused keys from one address: the 11th attempt is a 429 with Retry-After, the right key too; another address is unaffected; the wait ends", async () => {
    const lines: string[] = [];
    const { app, at } = await uiApp({ log: createLogger({ write: (l) => void lines.push(l), level: "debug" }) });
    for (let i = 0; i < 10; i++) expect((await login(app, { key: `guess-${i}-secret`, conn: A })).res.status).toBe(401);
    const blocked = await login(app, { key: WRITER, conn: A });
    expect(blocked.res.status).toBe(429);
    expect(blocked.res.headers.get("retry-after")).toBe("60");
    expect(blocked.session).toBeUndefined();
    expect(await blocked.res.text()).toContain("Too many refused sign-ins from this address: try again in 60 seconds");
    expect((await login(app, { conn: B })).res.status).toBe(303);
    at.now = new Date(at.now.getTime() + 60_000);
    const back = await login(app, { conn: A });
    expect(back.res.status).toBe(303);
    expect(back.session).toBeDefined();

    const all = lines.join("\n");
    for (let i = 0; i < 10; i++) expect(all).not.toContain(`guess-${i}-secret`);
    expect(all).not.toContain(WRITER);
    expect(lines.filter((l) => l.includes("ui sign-in budget exhausted"))).toHaveLength(1);
  });

  test("X-Forwarded-For does not reset the budget unless BACKLOG_TRUST_PROXY is on; then the last hop is the client", async () => {
    const spoof = (n: number) => ({ "x-forwarded-for": `192.0.2.${n}` });
    const plain = (await uiApp()).app;
    for (let i = 0; i < 10; i++) await login(plain, { key: "nope", conn: A, headers: spoof(i) });
    expect((await login(plain, { conn: A, headers: spoof(99) })).res.status).toBe(429);

    const proxied = (await uiApp({ env: { BACKLOG_TRUST_PROXY: "true" } })).app;
    for (let i = 0; i < 10; i++) await login(proxied, { key: "nope", conn: A, headers: { "x-forwarded-for": `1.1.1.${i}, 192.0.2.1` } });
    expect((await login(proxied, { conn: A, headers: { "x-forwarded-for": "192.0.2.1" } })).res.status).toBe(429);
    expect((await login(proxied, { conn: A, headers: { "x-forwarded-for": "192.0.2.2" } })).res.status).toBe(303);
  });
});

describe("a real server on loopback", () => {
  let server: RunningServer | undefined;
  afterAll(async () => {
    await server?.stop();
  });

  test("the peer address reaches the budget: the 11th refused sign-in is a 429, never a 5xx", async () => {
    const store = new MemoryBacklogStore();
    const access = buildAccess({ agents: { writer: { key_env: "W", entitlements: ["tools.backlog.write"] } } }, { W: WRITER });
    server = await startServer({ store, access, port: 0, log: silentLogger, env: { BACKLOG_SESSION_SECRET: "y".repeat(32) } });
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) {
      const page = await fetch(`${server.url}/ui/login`);
      const cookie = page.headers.getSetCookie()[0]!.split(";")[0]!;
      const res = await fetch(`${server.url}/ui/login`, {
        method: "POST",
        redirect: "manual",
        headers: { ...FORM, cookie },
        body: new URLSearchParams({ csrf: csrfOf(await page.text()), api_key: "wrong-key" }),
      });
      await res.arrayBuffer();
      statuses.push(res.status);
    }
    expect(statuses).toEqual([...Array(10).fill(401), 429]);
  });
});
