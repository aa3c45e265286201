/**
 * Sessions, CSRF and the sign-in boundary without a browser: the pure signing functions with data,
 * then the real app through app.request() for cookie flags, proxy trust, Origin and CSRF refusals.
 */
import { describe, expect, test } from "bun:test";
import { buildAccess } from "../../../lib/access/config.ts";
import { resolveUiConfig } from "../../../lib/http/ui/config.ts";
import * as S from "../../../lib/http/ui/session.ts";
import { silentLogger, type Logger } from "../../../lib/core/log.ts";
import { FORM, login, uiApp, WRITER } from "./ui-app.ts";

const secret = Buffer.from("s".repeat(32));
const T = 1_800_000_000_000;

describe("session tokens", () => {
  test("round-trip, expiry, tampering and another secret", () => {
    const token = S.signSession(secret, { agent: "writer", expiresAt: T + 1000, nonce: "n1" });
    expect(S.verifySession(secret, token, T)).toEqual({ agent: "writer", expiresAt: T + 1000, nonce: "n1" });
    expect(S.verifySession(secret, token, T + 1000)).toBeNull();
    const [body, mac] = token.split(".");
    const forged = Buffer.from(JSON.stringify({ a: "admin", e: T + 1000, n: "n1" })).toString("base64url");
    expect(S.verifySession(secret, `${forged}.${mac}`, T)).toBeNull();
    expect(S.verifySession(secret, `${body}.${mac!.slice(0, -2)}`, T)).toBeNull();
    expect(S.verifySession(Buffer.from("t".repeat(32)), token, T)).toBeNull();
    for (const junk of [undefined, "", ".", "abc", "a.b.c", "x".repeat(2000)]) expect(S.verifySession(secret, junk, T)).toBeNull();
  });

  test("CSRF tokens are bound to one browser", () => {
    const t = S.csrfToken(secret, "session\0n1");
    expect(S.checkCsrf(secret, "session\0n1", t)).toBe(true);
    expect(S.checkCsrf(secret, "session\0n2", t)).toBe(false);
    expect(S.checkCsrf(secret, "session\0n1", "")).toBe(false);
    expect(S.checkCsrf(secret, "session\0n1", undefined)).toBe(false);
    expect(S.checkCsrf(secret, "session\0n1", [t])).toBe(false);
  });

  test("cookies are HttpOnly and SameSite=Strict, Secure on request; next stays on this UI", () => {
    expect(S.cookie("a", "b", { secure: false, maxAge: 60 })).toBe("a=b; Path=/ui; Max-Age=60; HttpOnly; SameSite=Strict");
    expect(S.cookie("a", "", { secure: true, maxAge: 0, path: "/ui/login" })).toBe("a=; Path=/ui/login; Max-Age=0; HttpOnly; SameSite=Strict; Secure");
    expect(S.readCookie("x=1; bb_session=abc.def; y=2", "bb_session")).toBe("abc.def");
    for (const ok of ["/ui", "/ui/items?env=prod&q=a", "/ui/items/bl_1"]) expect(S.safeNext(ok)).toBe(ok);
    for (const bad of ["https://evil.example/ui", "//evil.example/ui", "/uix", "/ui\\@evil", "javascript:alert(1)", 7, undefined]) expect(S.safeNext(bad)).toBe("/ui");
  });

  test("config: a short secret is refused; no secret means a random one and a warning", () => {
    expect(() => resolveUiConfig({ BACKLOG_SESSION_SECRET: "short" })).toThrow("at least 32 characters");
    const warned: string[] = [];
    const log = { ...silentLogger, warn: (m: string) => void warned.push(m) } as Logger;
    const a = resolveUiConfig({}, log);
    const b = resolveUiConfig({}, log);
    expect(a.ephemeralSecret).toBe(true);
    expect(a.secret.equals(b.secret)).toBe(false);
    expect(warned[0]).toContain("BACKLOG_SESSION_SECRET is unset");
    expect(resolveUiConfig({ BACKLOG_SESSION_SECRET: "k".repeat(40) }).secret.toString()).toBe("k".repeat(40));
    expect(() => resolveUiConfig({ BACKLOG_SESSION_HOURS: "0" })).toThrow("BACKLOG_SESSION_HOURS");
    expect(() => resolveUiConfig({ BACKLOG_TRUST_PROXY: "maybe" })).toThrow("BACKLOG_TRUST_PROXY must be true or false");
    expect(() => resolveUiConfig({ BACKLOG_PROXY_IDENTITY_HEADER: "X Bad" })).toThrow("header name");
  });
});

describe("sign-in and forms through the app", () => {
  test("sign-in sets the session cookie (not Secure over http) and redirects to next; a wrong key is a 401 form without the key", async () => {
    const { app } = await uiApp();
    const { loginCookie, res } = await login(app);
    expect(loginCookie).toContain("HttpOnly; SameSite=Strict");
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/ui/items");
    const set = res.headers.getSetCookie().find((c) => c.startsWith("bb_session="))!;
    expect(set).toMatch(/Max-Age=28800; HttpOnly; SameSite=Strict$/);
    expect(set).not.toContain(WRITER);

    const page = await app.request("/ui/login");
    const csrf = /name="csrf" value="([^"]+)"/.exec(await page.text())![1]!;
    const wrong = await app.request("/ui/login", {
      method: "POST",
      headers: { ...FORM, cookie: page.headers.getSetCookie()[0]!.split(";")[0]! },
      body: new URLSearchParams({ csrf, api_key: "guess-0000" }),
    });
    expect(wrong.status).toBe(401);
    const html = await wrong.text();
    expect(html).toContain("api_key: this key is not recognised");
    expect(html).not.toContain("guess-0000");
  });

  test("Secure only over https: X-Forwarded-Proto counts only when BACKLOG_TRUST_PROXY is on", async () => {
    const proxied = { "x-forwarded-proto": "https" };
    const plain = await login((await uiApp()).app, { headers: proxied });
    expect(plain.res.headers.getSetCookie().find((c) => c.startsWith("bb_session="))).not.toContain("Secure");
    const trusted = await login((await uiApp({ env: { BACKLOG_TRUST_PROXY: "true" } })).app, { headers: proxied });
    expect(trusted.res.headers.getSetCookie().find((c) => c.startsWith("bb_session="))).toContain("; Secure");
    const tls = await login((await uiApp()).app, { base: "https://localhost" });
    expect(tls.res.headers.getSetCookie().find((c) => c.startsWith("bb_session="))).toContain("; Secure");
  });

  test("sign-in without the form's token or from another origin is refused", async () => {
    const { app } = await uiApp();
    const noToken = await app.request("/ui/login", { method: "POST", headers: FORM, body: new URLSearchParams({ api_key: WRITER }) });
    expect(noToken.status).toBe(403);
    expect(noToken.headers.getSetCookie().some((c) => c.startsWith("bb_session="))).toBe(false);
    const cross = await login(app, { headers: { origin: "https://evil.example" } });
    expect(cross.res.status).toBe(403);
  });

  test("actions need the session's CSRF token and this origin; bad input re-renders with the field; nothing is written when refused", async () => {
    const { app, store, id } = await uiApp();
    const { res } = await login(app);
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith("bb_session="))!.split(";")[0]!;
    const pageHtml = await (await app.request(`/ui/items/${id}`, { headers: { cookie } })).text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(pageHtml)![1]!;
    const post = (body: Record<string, string>, headers: Record<string, string> = {}) =>
      app.request(`http://localhost/ui/items/${id}/status`, { method: "POST", headers: { ...FORM, cookie, ...headers }, body: new URLSearchParams(body) });

    expect((await post({ status: "done" })).status).toBe(403);
    expect((await post({ status: "done", csrf: "forged" })).status).toBe(403);
    expect((await post({ status: "done", csrf }, { origin: "https://evil.example" })).status).toBe(403);
    const bad = await post({ status: "finished", csrf });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain("status: must be one of open, in_progress, blocked, done, canceled");
    expect((await store.get(id))!.status).toBe("open");
    const ok = await post({ status: "done", csrf }, { origin: "http://localhost" });
    expect(ok.status).toBe(303);
    expect((await store.get(id))!.status).toBe("done");
    // without a session, an action is a redirect to sign in, not a write
    const anon = await app.request(`/ui/items/${id}/comment`, { method: "POST", headers: FORM, body: new URLSearchParams({ message: "x", csrf }) });
    expect(anon.status).toBe(303);
    expect(anon.headers.get("location")).toBe(`/ui/login?next=${encodeURIComponent(`/ui/items/${id}`)}`);
  });

  test("odd page input is a 4xx page naming the field, never a 500", async () => {
    const { app } = await uiApp();
    const { res } = await login(app);
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith("bb_session="))!.split(";")[0]!;
    const cases: [string, number, string][] = [
      ["/ui/items?page=0", 400, "page: must be 1 or more"],
      ["/ui/items?sort=name", 400, "sort: must be one of updated, due, priority"],
      ["/ui/items?env=../../etc", 400, "env: must be one of prod, staging, dev"],
      ["/ui?env=nope", 400, "env: must be one of prod, staging, dev"],
      ["/ui/items/bl_missing", 404, "No backlog item with id"],
      [`/ui/owners/${"o".repeat(300)}`, 400, "owner: must be at most 200 characters"],
      [`/ui/items?q=${"q".repeat(300)}`, 400, "q: must be at most 200 characters"],
      ["/ui/nope", 404, "There is no page /ui/nope"],
    ];
    for (const [path, status, text] of cases) {
      const r = await app.request(path, { headers: { cookie } });
      expect([path, r.status]).toEqual([path, status]);
      expect(await r.text()).toContain(text);
    }
  });

  test("?done= shows an action's notice only for the three actions: an inherited name (constructor) is no empty notice box", async () => {
    const { app, id } = await uiApp();
    const item = { id };
    const { session: cookie } = await login(app);
    for (const done of ["constructor", "toString", "__proto__", "nope"]) {
      const html = await (await app.request(`/ui/items/${item.id}?done=${done}`, { headers: { cookie: cookie! } })).text();
      expect({ done, notice: html.includes('data-testid="form-done"') }).toEqual({ done, notice: false });
    }
    expect(await (await app.request(`/ui/items/${item.id}?done=comment`, { headers: { cookie: cookie! } })).text()).toContain("Comment added.");
  });

  test("another method on a page's path is a 405 page with Allow, after the same sign-in check as the page", async () => {
    const { app } = await uiApp();
    const { session: cookie } = await login(app);
    const cases: [string, string, string][] = [
      ["DELETE", "/ui/items/bl_x", "GET, HEAD"],
      ["PUT", "/ui", "GET, HEAD"],
      ["OPTIONS", "/ui/trends", "GET, HEAD"],
      ["PATCH", "/ui/items/bl_x/status", "POST"],
      ["GET", "/ui/items/bl_x/comment", "POST"],
      ["GET", "/ui/logout", "POST"],
      ["DELETE", "/ui/login", "GET, HEAD, POST"],
      ["POST", "/ui/assets/app.css", "GET, HEAD"],
    ];
    for (const [method, path, allow] of cases) {
      const r = await app.request(path, { method, headers: { cookie: cookie! } });
      expect([method, path, r.status, r.headers.get("allow")]).toEqual([method, path, 405, allow]);
      expect(await r.text()).toContain(`Method ${method} is not allowed on ${path}; it takes ${allow}.`);
    }
    // Signed out: the protected paths send to sign-in first, as their pages do; sign-in itself answers 405.
    const anon = await app.request("/ui/items", { method: "DELETE" });
    expect([anon.status, anon.headers.get("location")]).toEqual([303, "/ui/login?next=%2Fui%2Fitems"]);
    expect((await app.request("/ui/login", { method: "PUT" })).status).toBe(405);
  });
});

describe("identity from a trusted reverse proxy (off by default)", () => {
  const people = { "alice@example.com": "writer", "bob@example.com": "reader" };
  const proxy = { BACKLOG_PROXY_IDENTITY_HEADER: "X-Forwarded-Email" };

  test("off: the header is ignored and the browser must sign in", async () => {
    const { app } = await uiApp({ people });
    const r = await app.request("/ui", { headers: { "x-forwarded-email": "alice@example.com" } });
    expect(r.status).toBe(303);
    expect(r.headers.get("location")).toStartWith("/ui/login");
  });

  test("on: a mapped person gets the agent's rights and is the actor of their writes; unmapped people are refused", async () => {
    const { app, store, id } = await uiApp({ env: proxy, people });
    const as = (who: string) => ({ "x-forwarded-email": who });
    const page = await app.request(`/ui/items/${id}`, { headers: as("Alice@Example.com") });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("signed in as <strong>alice@example.com</strong>");
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1]!;
    const post = await app.request(`http://localhost/ui/items/${id}/comment`, { method: "POST", headers: { ...FORM, ...as("alice@example.com") }, body: new URLSearchParams({ csrf, message: "on it" }) });
    expect(post.status).toBe(303);
    expect((await store.events(id)).at(-1)).toMatchObject({ type: "commented", actor: "alice@example.com" });
    // bob's token is not alice's, and bob may only read
    const bob = await app.request(`http://localhost/ui/items/${id}/comment`, { method: "POST", headers: { ...FORM, ...as("bob@example.com") }, body: new URLSearchParams({ csrf, message: "x" }) });
    expect(bob.status).toBe(403);
    const mallory = await app.request("/ui", { headers: as("mallory@example.com") });
    expect(mallory.status).toBe(403);
    expect(await mallory.text()).toContain("mallory@example.com is not mapped to an agent under people: in config/access.yml");
  });

  test("a person mapped to an agent that does not exist stops the config load", () => {
    expect(() => buildAccess({ agents: {}, people: { "a@b.c": "ghost" } }, {})).toThrow("people.a@b.c: ghost is not an agent of this file");
  });
});
