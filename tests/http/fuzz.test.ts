/**
 * Property-based, seeded: the same random bodies and queries go to the HTTP API over a real Postgres
 * store and over a JSONL store. Whatever arrives, neither answers 5xx, both give the same status, every
 * error is a JSON body, and a rejected request changes no stored data (checked on JSONL, where a
 * snapshot is cheap; Postgres answers the same status, so it rejected the same requests).
 * 13,900 requests in all (6,950 per backend: 700 of them any method on known and mangled paths), then
 * 3,600 to the browser UI under /ui (below).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { auth } from "./harness.ts";
import { openBackends, type Backend } from "./backends.ts";
import { openRevokedSessions } from "../../lib/http/ui/revoked-sessions.ts";
import { csrfOf, login, READER, uiApp, type UiApp } from "./ui/ui-app.ts";

const SEED = 15_2026;
let pg: Backend;
let jsonl: Backend;
let sent = 0;
const statuses = new Map<number, number>();
beforeAll(async () => {
  [pg, jsonl] = await openBackends();
});
afterAll(async () => {
  console.log(`fuzz: ${sent} requests (both backends), 5xx: ${statuses.get(5) ?? 0}, statuses: ${JSON.stringify(Object.fromEntries([...statuses].map(([k, v]) => [`${k}xx`, v])))}`);
  await pg?.dispose();
  await jsonl?.dispose();
});

async function snapshot(store: Backend["store"]): Promise<string> {
  const { items } = await store.list({ limit: 1000 });
  const events = await Promise.all(items.map((i) => store.events(i.id)));
  return JSON.stringify([items, events]);
}

/** Text that Postgres refuses and JSONL would store: the edges the boundary must catch. */
const hostile = fc.constantFrom("a\u0000b", "\ud800", "x\udc00", "\ud83d", "😀", "../../etc/passwd", "%00", "' or 1=1 --", "<script>", "2026-02-30", "0000-01-01", "9".repeat(30));
const text = fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: "binary", maxLength: 8 }), hostile);
const number = fc.oneof(fc.integer(), fc.constantFrom(1e19, -1, 2 ** 31, 2 ** 53, 1e300, 0.5, -0), fc.double());
const deep = fc.integer({ min: 1, max: 60 }).map((n) => JSON.parse("[".repeat(n) + "]".repeat(n)) as unknown);
const value: fc.Arbitrary<unknown> = fc.oneof(text, number, fc.boolean(), fc.constant(null), deep, fc.jsonValue({ maxDepth: 3 }), fc.dictionary(text, text, { maxKeys: 3 }));

const actions = ["list", "get", "upsert", "set_status", "add_comment", "dashboard", "auto_generate_weekly", "auto_generate_daily", "cleanup", "nope"];
const tools = ["backlog_tool", "risk_history_tool", "architecture_pressure_tool", "nope", ""];
const paramNames = ["env", "id", "status", "priority", "limit", "offset", "dry_run", "retention_days", "message", "week", "date", "dedupe_key", "service", "category", "title", "meta", "tags", "due_date", "owner", "overdue"];

/** Upserts that are nearly valid, with one field swapped for junk: the ones that reach the store. */
const nearUpsert = fc.record({
  field: fc.constantFrom("service", "title", "meta", "tags", "due_date", "owner", "dedupe_key", "description", "priority", "status", "none"),
  junk: value,
  key: fc.constantFrom("k1", "k2", "k3"),
  dry: fc.boolean(),
}).map(({ field, junk, key, dry }) => {
  const params: Record<string, unknown> = { env: "prod", service: "gateway", category: "security", title: "Rotate keys", priority: "P1", dedupe_key: key, dry_run: dry };
  if (field !== "none") params[field] = field === "meta" ? { note: junk } : junk;
  return JSON.stringify({ tool: "backlog_tool", action: "upsert", params });
});

const nearMiss = fc.record(
  {
    tool: fc.oneof(fc.constantFrom(...tools), text),
    action: fc.oneof(fc.constantFrom(...actions), text),
    params: fc.oneof(fc.dictionary(fc.constantFrom(...paramNames), value, { maxKeys: 4 }), value),
    env: fc.oneof(fc.constantFrom("prod", "dev", "../../etc", "PROD", ""), text),
    job: fc.constantFrom("backlog_cleanup", "nope", "x"),
    scheduled_at: fc.constantFrom("2026-11-23T06:20:00.000Z", "0000-01-01T00:00Z", "2026-13-01T03:40Z", "2026-11-23T25:61Z", "9999-12-31T23:59Z"),
  },
  { requiredKeys: [] },
);

const body = fc.oneof(
  { weight: 4, arbitrary: nearMiss.map((b) => JSON.stringify(b)) },
  { weight: 3, arbitrary: nearUpsert },
  { weight: 1, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: fc.string() },
  { weight: 1, arbitrary: fc.integer({ min: 30, max: 50_000 }).map((n) => `{"tool":"backlog_tool","action":"upsert","params":{"meta":${"{\"a\":".repeat(n)}1${"}".repeat(n)}}}`) },
);

const who = fc.constantFrom("admin", "writer", "reader", "none", "bad") as fc.Arbitrary<"admin" | "writer" | "reader" | "none" | "bad">;

async function send(b: Backend, path: string, init: RequestInit) {
  const res = await b.app.request(path, init);
  sent++;
  const klass = Math.floor(res.status / 100);
  statuses.set(klass, (statuses.get(klass) ?? 0) + 1);
  const raw = await res.text();
  // A 405 names what the path takes (lib/http/methods.ts); HEAD answers carry no body to check.
  if (res.status === 405) expect({ path, allow: res.headers.get("allow") }).toEqual({ path, allow: expect.stringMatching(/^(GET, HEAD|POST)$/) });
  if (init.method === "HEAD") return { status: res.status, raw };
  if (res.headers.get("content-type")?.includes("application/json")) JSON.parse(raw);
  if (res.status >= 400) expect(typeof JSON.parse(raw).error).toBe("string");
  return { status: res.status, raw };
}

async function both(path: string, init: RequestInit) {
  const a = await send(pg, path, init);
  const b = await send(jsonl, path, init);
  const answer = { path, body: typeof init.body === "string" ? init.body.slice(0, 300) : undefined };
  expect({ ...answer, pg: a.status < 500, jsonl: b.status < 500 }).toEqual({ ...answer, pg: true, jsonl: true });
  expect({ ...answer, status: a.status }).toEqual({ ...answer, status: b.status });
  return a.status;
}

describe("fuzz on Postgres and JSONL", () => {
  test("POST /v1/tools/execute: no 5xx, same status on both, rejected requests change nothing", async () => {
    await fc.assert(
      fc.asyncProperty(body, who, async (b, w) => {
        const before = await snapshot(jsonl.store);
        const status = await both("/v1/tools/execute", { method: "POST", headers: { ...auth(w), "content-type": "application/json" }, body: b });
        if (status >= 400) expect(await snapshot(jsonl.store)).toBe(before);
      }),
      { numRuns: 4250, seed: SEED },
    );
  }, 300_000);

  test("GET dashboards and items with random queries: no 5xx, same status on both", async () => {
    const query = fc.dictionary(
      fc.oneof(fc.constantFrom("env", "status", "priority", "limit", "offset", "overdue", "service", "owner", "category"), fc.string({ maxLength: 8 })),
      fc.oneof(fc.constantFrom("prod", "../../etc", "-1", "1e9", "1e19", "2147483648", "true", "open,done", "P0", "\u0000", "\ud800", "a\u0000b"), text),
      { maxKeys: 4 },
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom("/v1/backlog/dashboard", "/dashboard", "/v1/backlog/items", "/v1/backlog/items/bl_x", "/v1/backlog/items/%00", "/v1/scheduler/jobs"), query, who, async (path, q, w) => {
        await both(`${path}?${new URLSearchParams(q)}`, { headers: auth(w) });
      }),
      { numRuns: 2000, seed: SEED + 1 },
    );
  }, 300_000);

  test("any method on known and mangled paths with hostile queries: no 5xx, same status on both, 405 with Allow, refused calls write nothing", async () => {
    const known = ["/healthz", "/readyz", "/metrics", "/v1/backlog/dashboard", "/dashboard", "/v1/backlog/items", "/v1/backlog/items/bl_x", "/v1/backlog/generate/weekly", "/v1/tools/execute", "/v1/scheduler/jobs", "/v1/scheduler/jobs/daily_backlog_cleanup/run", "/v1/scheduler/jobs/nope/run", "/v1/alerts/alertmanager"];
    const mangle: ((p: string) => string)[] = [
      (p) => p,
      (p) => p,
      (p) => `${p}/`,
      (p) => `/${p}`,
      (p) => p.replace("/v1/", "/v1//"),
      (p) => `${p}/..`,
      (p) => `${p}/%2e%2e/items`,
      (p) => `${p}%ZZ`,
      (p) => `${p}%00`,
      (p) => p.toUpperCase(),
      (p) => `${p}/${"x".repeat(3000)}`,
      (p) => `${p}/__proto__`,
      (p) => `${p};x=1`,
    ];
    const query = fc.constantFrom("", "?%ZZ", "?%", "?__proto__=1", "?constructor=x", "?env=prod&env=dev", "?env=prod&dry_run=true", "?limit=0x10", "?offset=-0", "?%00=%00", "?env=%ED%A0%80", `?q=${"%25".repeat(500)}`);
    const method = fc.constantFrom("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS");
    // A body that would write if it ran; only a POST that succeeds on a write path may change anything.
    const WRITE_PATHS = new Set(["/v1/tools/execute", "/v1/backlog/generate/weekly", "/v1/alerts/alertmanager"]);
    const write = JSON.stringify({ tool: "backlog_tool", action: "upsert", env: "prod", service: "gateway", category: "security", title: "t", dedupe_key: "m1" });
    await fc.assert(
      fc.asyncProperty(method, fc.constantFrom(...known), fc.nat({ max: mangle.length - 1 }), query, who, async (m, p, i, q, w) => {
        const before = await snapshot(jsonl.store);
        const hasBody = m !== "GET" && m !== "HEAD";
        const status = await both(mangle[i]!(p) + q, { method: m, headers: { ...auth(w), "content-type": "application/json" }, body: hasBody ? write : undefined });
        if (status >= 400 || !(m === "POST" && WRITE_PATHS.has(p))) expect({ m, p, status, same: (await snapshot(jsonl.store)) === before }).toEqual({ m, p, status, same: true });
      }),
      { numRuns: 700, seed: SEED + 3 },
    );
  }, 300_000);
});

/**
 * The browser UI under /ui on the same two stores: hostile query strings and paths, forms with random
 * fields and CSRF tokens (valid, another session's, forged, absent), cookies (a writer's or reader's
 * session, forged, oversized), bad percent-encoding and bytes that are not UTF-8, bodies over the 64 KiB
 * form limit, multipart and JSON where a form is expected. Never a 5xx, never a stack trace or a source
 * path in the page, the same status on both stores, and a refused post changes nothing.
 */
describe("fuzz /ui on Postgres and JSONL", () => {
  interface UiSide {
    b: Backend;
    app: UiApp;
    id: string;
    cookies: Record<"writer" | "reader", string>;
    csrf: Record<"writer" | "reader" | "login", string>;
    loginCookie: string;
  }
  let sides: UiSide[] = [];

  /** Signs the writer and reader in (again: a fuzzed sign-out with a valid token ends the session). */
  async function signIn(s: Omit<UiSide, "cookies" | "csrf" | "loginCookie">): Promise<UiSide> {
    // From an address of its own: the fuzzed sign-ins spend the budget of theirs (no address: "unknown").
    const conn = { remoteAddr: "10.9.9.9" };
    const writer = (await login(s.app, { conn })).session!;
    const reader = (await login(s.app, { key: READER, conn })).session!;
    expect([writer, reader].every(Boolean)).toBe(true);
    const loginPage = await s.app.request("/ui/login");
    const item = async (cookie: string) => csrfOf(await (await s.app.request(`/ui/items/${s.id}`, { headers: { cookie } })).text());
    return {
      ...s,
      cookies: { writer, reader },
      csrf: { writer: await item(writer), reader: await item(reader), login: csrfOf(await loginPage.text()) },
      loginCookie: loginPage.headers.getSetCookie()[0]!.split(";")[0]!,
    };
  }

  beforeAll(async () => {
    sides = await Promise.all([pg, jsonl].map(async (b) => signIn({ b, ...(await uiApp({ store: b.store, revoked: openRevokedSessions(b.store) })) })));
  });

  const ascii = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 40 });
  const hostileQuery = fc.oneof(
    fc.constantFrom("%", "%zz", "%00", "%E0%A4%A", "%C0%AF", "&&&==", "status=open&status=nope", "page=99999", "page=-1", "env=prod&env=staging", "q=%F0%9F%98%80", "due_soon=on&overdue=yes", "sort=__proto__", "next=//evil.example", "a[b]=c"),
    ascii,
    fc.integer({ min: 1, max: 20_000 }).map((n) => `q=${"x".repeat(n)}`),
  );
  const pathPart = fc.oneof({ weight: 3, arbitrary: fc.constant("ID") }, fc.constantFrom("bl_missing", "%00", "%E0%A4%A", "..%2F..%2Fetc", "%ZZ", "x".repeat(300), "<script>", "ID%2Fstatus"), ascii.map(encodeURIComponent));
  const cookie = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom("writer", "writer", "reader", "none") },
    { weight: 1, arbitrary: ascii.map((s) => `bb_session=${s}`) },
    { weight: 1, arbitrary: fc.constantFrom("bb_session=e30.AAAA", "bb_session=" + "a".repeat(5000), "bb_session=..; bb_session=x", "bb_login=x; bb_session=") },
  );
  const csrf = fc.oneof({ weight: 4, arbitrary: fc.constantFrom("writer", "reader", "login", "missing") }, { weight: 1, arbitrary: ascii });
  const origin = fc.constantFrom(undefined, "http://localhost", "https://evil.example", "null");
  const field = fc.oneof(text, fc.constantFrom("done", "open", "P0", "on", "", "x".repeat(25_000)));
  const formBody = fc.record({ kind: fc.constantFrom("urlencoded", "multipart", "raw", "json", "notutf8", "huge", "none", "noboundary", "utf16"), fields: fc.dictionary(fc.constantFrom("status", "message", "owner", "api_key", "next", "x"), field, { maxKeys: 4 }), raw: ascii });
  const page = fc.record({ method: fc.constant("GET" as const), path: fc.constantFrom("/ui", "/ui/items", "/ui/items/P", "/ui/owners/P", "/ui/trends", "/ui/jobs", "/ui/login", "/ui/P", "/ui/items/P/status"), part: pathPart, query: hostileQuery, cookie, origin });
  // Another method on a page's or a form's path: the sign-in redirect or a 405 page with Allow.
  const other = fc.record({ method: fc.constantFrom("PUT" as const, "PATCH" as const, "DELETE" as const, "OPTIONS" as const), path: fc.constantFrom("/ui", "/ui/items", "/ui/items/P", "/ui/items/P/status", "/ui/jobs", "/ui/jobs/P/run", "/ui/login", "/ui/logout", "/ui/assets/app.css", "/ui/P"), part: pathPart, query: hostileQuery, cookie, origin });
  const post = fc.record({ method: fc.constant("POST" as const), path: fc.constantFrom("/ui/login", "/ui/logout", "/ui/items/P/status", "/ui/items/P/comment", "/ui/items/P/owner", "/ui/items/P/nope", "/ui/jobs/P/run"), part: pathPart, cookie, csrf, origin, body: formBody });

  type Of<A> = A extends fc.Arbitrary<infer T> ? T : never;
  type UiRequest = Of<typeof page> | Of<typeof other> | Of<typeof post>;

  function request(s: UiSide, r: UiRequest): [string, RequestInit] {
    const part = r.part.replace("ID", s.id);
    const path = r.path.replace("P", r.path.startsWith("/ui/items/") && r.part === "ID" ? s.id : part);
    const headers: Record<string, string> = {};
    const jar = r.cookie === "writer" || r.cookie === "reader" ? s.cookies[r.cookie] : r.cookie === "none" ? "" : r.cookie;
    if (r.path === "/ui/login") headers.cookie = [jar, s.loginCookie].filter(Boolean).join("; ");
    else if (jar) headers.cookie = jar;
    if (r.origin) headers.origin = r.origin;
    if (r.method !== "POST") return [`http://localhost${path}?${r.query}`, { method: r.method, headers }];
    const token = r.csrf === "writer" || r.csrf === "reader" || r.csrf === "login" ? s.csrf[r.csrf] : r.csrf === "missing" ? undefined : r.csrf;
    const fields: Record<string, string> = { ...(r.path === "/ui/login" ? { api_key: r.body.raw } : {}), ...r.body.fields, ...(token === undefined ? {} : { csrf: token }) };
    let body: BodyInit | undefined;
    if (r.body.kind === "urlencoded") (headers["content-type"] = "application/x-www-form-urlencoded"), (body = new URLSearchParams(fields).toString());
    else if (r.body.kind === "multipart") {
      const fd = new FormData();
      for (const [k, v] of Object.entries(fields)) fd.append(k, v);
      fd.append("upload", new Blob(["binary\u0000"]), "f.bin");
      body = fd;
    } else if (r.body.kind === "raw") (headers["content-type"] = "application/x-www-form-urlencoded"), (body = r.body.raw);
    else if (r.body.kind === "json") (headers["content-type"] = "application/x-www-form-urlencoded"), (body = JSON.stringify(fields));
    else if (r.body.kind === "notutf8") (headers["content-type"] = "application/x-www-form-urlencoded"), (body = new Uint8Array([0x63, 0x73, 0x72, 0x66, 0x3d, 0xff, 0xfe, 0x26, 0xc3, 0x28, 0x3d, 0x25, 0xe0]));
    else if (r.body.kind === "noboundary") (headers["content-type"] = "multipart/form-data"), (body = new URLSearchParams(fields).toString());
    else if (r.body.kind === "utf16") (headers["content-type"] = "application/x-www-form-urlencoded; charset=utf-16"), (body = new Uint8Array(Buffer.from(new URLSearchParams(fields).toString(), "utf16le")));
    else if (r.body.kind === "huge") (headers["content-type"] = "application/x-www-form-urlencoded"), (body = `message=${"m".repeat(70 * 1024)}&csrf=${token ?? ""}`);
    return [`http://localhost${path}`, { method: "POST", headers, body }];
  }

  async function sendUi(s: UiSide, r: UiRequest) {
    const [url, init] = request(s, r);
    const res = await s.app.request(url, init);
    sent++;
    statuses.set(Math.floor(res.status / 100), (statuses.get(Math.floor(res.status / 100)) ?? 0) + 1);
    const raw = await res.text();
    const where = { url: url.slice(0, 200), method: r.method, status: res.status };
    expect({ ...where, server_error: res.status >= 500 }).toEqual({ ...where, server_error: false });
    expect({ ...where, trace: /\n\s+at |\/lib\/|\.tsx?:\d+|node_modules/.test(raw) }).toEqual({ ...where, trace: false });
    // A person reads every answer that is not a redirect: an HTML page, never JSON or bare text.
    if (res.status !== 303) expect({ ...where, type: res.headers.get("content-type") }).toEqual({ ...where, type: "text/html; charset=UTF-8" });
    if (res.status === 405) expect({ ...where, allow: res.headers.get("allow") }).toEqual({ ...where, allow: expect.stringMatching(/^(GET, HEAD|POST|GET, HEAD, POST)$/) });
    return res.status;
  }

  test("GET pages and POST forms: no 5xx, no stack trace, same status on both, a refused post writes nothing", async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(page, post, other), async (r) => {
        const before = await snapshot(jsonl.store);
        const [a, b] = [await sendUi(sides[0]!, r), await sendUi(sides[1]!, r)];
        expect({ path: r.path, part: r.part, a }).toEqual({ path: r.path, part: r.part, a: b });
        if (r.method !== "GET" && a >= 400) expect(await snapshot(jsonl.store)).toBe(before);
        if (r.path === "/ui/logout") sides = await Promise.all(sides.map(signIn));
      }),
      { numRuns: 1800, seed: SEED + 2 },
    );
  }, 300_000);
});
