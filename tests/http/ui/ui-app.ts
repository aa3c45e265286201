/**
 * The real API app with the browser UI mounted, over a memory store, for tests that drive /ui through
 * app.request(): a writer and a reader key, the shipped policy, a fixed clock (movable: `at`).
 */
import { buildAccess } from "../../../lib/access/config.ts";
import { createApp } from "../../../lib/http/app.ts";
import { createMetrics } from "../../../lib/http/metrics.ts";
import { resolveUiConfig } from "../../../lib/http/ui/config.ts";
import type { RevokedSessions } from "../../../lib/http/ui/revoked-sessions.ts";
import { silentLogger, type Logger } from "../../../lib/core/log.ts";
import type { Conn } from "../../../lib/core/runtime.ts";
import { evaluateAlerts, loadPolicy } from "../../../lib/generation/policy.ts";
import { MemoryBacklogStore } from "../../../lib/store/memory.ts";
import type { BacklogStore } from "../../../lib/store/types.ts";
import { createToolContext, loadToolRegistry, resolveToolPaths } from "../../../lib/tools/index.ts";
import { item } from "../../store/contract.ts";

export const WRITER = "writer-key-0123456789";
export const READER = "reader-key-0123456789";
export const FORM = { "content-type": "application/x-www-form-urlencoded" };

export interface UiAppOptions {
  env?: Record<string, string>;
  people?: Record<string, string>;
  log?: Logger;
  /** The clock's start; tests move it through the returned `at`. */
  now?: Date;
  /** Default: a new memory store on the clock. */
  store?: BacklogStore;
  /** Shared sign-outs (openRevokedSessions); default: this app only. */
  revoked?: RevokedSessions;
}

export async function uiApp(o: UiAppOptions = {}) {
  const at = { now: o.now ?? new Date("2026-11-23T10:00:00Z") };
  const clock = () => at.now;
  const store = o.store ?? new MemoryBacklogStore({ clock });
  const { item: it } = await store.upsert(item(), { actor: "seed" });
  const policy = loadPolicy();
  const access = buildAccess(
    { agents: { writer: { key_env: "W", entitlements: ["tools.backlog.write"] }, reader: { key_env: "R", entitlements: ["tools.backlog.read"] } }, people: o.people ?? {} },
    { W: WRITER, R: READER },
  );
  const paths = resolveToolPaths({});
  const log = o.log ?? silentLogger;
  const app = createApp({
    registry: await loadToolRegistry({ policy }),
    access,
    toolContext: (id) => createToolContext({ store, paths, agent: id.agent, entitlements: id.entitlements, now: clock, log }),
    health: () => store.health(),
    backend: () => ({ backend: store.name, degraded: false }),
    alerts: (d) => evaluateAlerts(d, policy),
    metrics: createMetrics(() => Promise.reject(new Error("these tests do not scrape /metrics"))),
    log,
    clock,
    ui: { config: resolveUiConfig({ BACKLOG_SESSION_SECRET: "x".repeat(32), ...o.env }), envs: policy.envs, warnDays: policy.notify.warn_days, revoked: o.revoked },
  });
  return { app, store, id: it.id, policy, at };
}

export type UiApp = Awaited<ReturnType<typeof uiApp>>["app"];

/** The CSRF token of a rendered form. */
export const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)![1]!;

/** Signs in through the login form; `key` defaults to the writer's. */
export async function login(app: UiApp, o: { base?: string; headers?: Record<string, string>; key?: string; next?: string; conn?: Conn } = {}) {
  const base = o.base ?? "http://localhost";
  const page = await app.request(`${base}/ui/login`, { headers: o.headers ?? {} }, o.conn);
  const loginCookie = page.headers.getSetCookie()[0]!;
  const csrf = csrfOf(await page.text());
  const res = await app.request(`${base}/ui/login`, {
    method: "POST",
    headers: { ...FORM, ...o.headers, cookie: loginCookie.split(";")[0]! },
    body: new URLSearchParams({ csrf, api_key: o.key ?? WRITER, next: o.next ?? "/ui/items" }),
  }, o.conn);
  const session = res.headers.getSetCookie().find((c) => c.startsWith("bb_session="))?.split(";")[0];
  return { loginCookie, res, session };
}
