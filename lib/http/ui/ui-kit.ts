/**
 * What every /ui route shares, built once per app by uiKit(): who the browser is (proxy header, session
 * cookie, else anonymous), its page view, the tool call as that person, the page answer with its security
 * headers, refusals as pages, the form reader and the same-origin check.
 */
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { hasEntitlement } from "../../access/entitlements.ts";
import type { Identity } from "../../access/config.ts";
import { AppError } from "../../core/errors.ts";
import type { Conn } from "../../core/runtime.ts";
import { dispatch } from "../../tools/dispatch.ts";
import type { ActionName } from "../../tools/index.ts";
import type { AppDeps } from "../app.ts";
import { allowHeaderOf } from "../methods.ts";
import { renderErrorPage } from "./error-page.tsx";
import * as F from "./forms.ts";
import type { View } from "./layout.tsx";
import { MemoryRevokedSessions } from "./revoked-sessions.ts";
import type { UiDeps } from "./routes.ts";
import * as S from "./session.ts";

export type UiEnv = { Variables: { identity: Identity } };
export type C = Context<UiEnv>;

export interface Who {
  identity: Identity;
  /** What CSRF tokens are bound to; null: this browser cannot post forms (anonymous). */
  binding: string | null;
  session: S.Session | null;
}

const BACKLOG = "backlog_tool";
export const READ = "tools.backlog.read";
const WRITE = "tools.backlog.write";

export type UiKit = ReturnType<typeof uiKit>;

export function uiKit(deps: AppDeps, ui: UiDeps) {
  const { config } = ui;
  const revoked = ui.revoked ?? new MemoryRevokedSessions();

  // Never new URL(c.req.url): it is built from the Host header, which may be absent or junk.
  const https = (c: C) => c.req.url.startsWith("https:") || (config.trustProxy && c.req.header("x-forwarded-proto")?.split(",")[0]?.trim() === "https");
  const origin = (c: C) => {
    const host = (config.trustProxy && c.req.header("x-forwarded-host")?.split(",")[0]?.trim()) || c.req.header("host") || (/^[a-z]+:\/\/([^/?#]*)/i.exec(c.req.url)?.[1] ?? "");
    return `${https(c) ? "https" : "http"}://${host}`;
  };
  const search = (c: C) => {
    const q = c.req.url.indexOf("?");
    return q < 0 ? "" : c.req.url.slice(q).split("#")[0]!;
  };
  /** Who is signing in, for the attempt budget: the peer address, or the address a trusted proxy appended last. */
  const client = (c: C) => {
    const forwarded = config.trustProxy ? c.req.header("x-forwarded-for")?.split(",").at(-1)?.trim() : undefined;
    return (forwarded || (c.env as Conn | undefined)?.remoteAddr || "unknown").slice(0, 64);
  };
  const sameOrigin = (c: C) => {
    const o = c.req.header("origin");
    return o === undefined || o === origin(c);
  };

  const who = async (c: C): Promise<Who> => {
    if (config.proxyIdentityHeader) {
      const person = c.req.header(config.proxyIdentityHeader)?.trim();
      if (person) {
        const identity = deps.access.person?.(person) ?? null;
        if (!identity) throw new AppError("forbidden", `The signed-in person ${person} is not mapped to an agent under people: in config/access.yml.`);
        return { identity, binding: `proxy\0${identity.agent}`, session: null };
      }
    }
    const now = deps.clock().getTime();
    const session = S.verifySession(config.secret, S.readCookie(c.req.header("cookie"), S.SESSION_COOKIE), now);
    if (session && !(await revoked.isRevoked(session.nonce, now))) {
      const agent = deps.access.agents.find((a) => a.name === session.agent && a.enabled);
      if (agent) return { identity: { agent: agent.name, entitlements: agent.entitlements, authenticated: true }, binding: `session\0${session.nonce}`, session };
    }
    return { identity: deps.access.anonymous, binding: null, session: null };
  };

  const viewFor = (w: Who, env: string): View => ({
    identity: w.identity,
    env,
    envs: ui.envs,
    csrf: w.binding ? S.csrfToken(config.secret, w.binding) : null,
    canWrite: hasEntitlement(w.identity.entitlements, WRITE),
    signOut: w.session !== null,
    backend: deps.backend(),
    now: deps.clock(),
    warnDays: ui.warnDays,
  });

  const call = <A extends ActionName<typeof BACKLOG>>(w: Who, action: A, params: Record<string, unknown>) =>
    dispatch(deps.registry, { tool: BACKLOG, action, params }, deps.toolContext(w.identity));

  const page = (c: C, html: string, status = 200) => {
    c.header("cache-control", "no-store");
    c.header("content-security-policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'");
    c.header("x-content-type-options", "nosniff");
    c.header("referrer-policy", "same-origin");
    return c.html(html, status as 200);
  };

  const toLogin = (c: C, after?: string) => {
    const next = S.safeNext(after ?? c.req.path + search(c));
    return c.redirect(`/ui/login?next=${encodeURIComponent(next)}`, 303);
  };

  /** A refusal or failure as an HTML page with the reason, never a stack or a JSON 500. */
  const failed = (c: C, err: unknown, w: Who | null) => {
    const view = w && hasEntitlement(w.identity.entitlements, READ) ? viewFor(w, ui.envs[0]!) : null;
    const allow = allowHeaderOf(err);
    if (allow) c.header("allow", allow);
    if (err instanceof AppError && err.status < 500) return page(c, renderErrorPage({ view, status: err.status, message: err.message }), err.status);
    const message = err instanceof AppError && (err.code === "degraded" || err.code === "unavailable") ? err.message : "The server could not answer this page; its log has the details.";
    deps.log.error("ui page failed", { path: c.req.path, error: (err as Error).message });
    return page(c, renderErrorPage({ view, status: 503, message }), 503);
  };

  /** Runs a page handler; refusals and failures become pages (failed). */
  const guarded =
    (handler: (c: C, w: Who) => Promise<Response>, after?: (c: C) => string) =>
    async (c: C): Promise<Response> => {
      let w: Who | null = null;
      try {
        w = await who(c);
        if (!hasEntitlement(w.identity.entitlements, READ)) {
          if (!w.identity.authenticated) return toLogin(c, after?.(c));
          throw new AppError("forbidden", `Agent ${w.identity.agent} lacks the entitlement ${READ} needed to see the backlog.`);
        }
        return await handler(c, w);
      } catch (err) {
        return failed(c, err, w);
      }
    };

  const query = (c: C) => F.formFrom(new URLSearchParams(search(c)).entries(), ["status", "priority"]);
  const envOf = (c: C) => {
    const env = c.req.query("env");
    if (env === undefined || env === "") return ui.envs[0]!;
    if (!ui.envs.includes(env)) throw new AppError("invalid_input", `env: must be one of ${ui.envs.join(", ")}, got ${JSON.stringify(env.slice(0, 40))}.`);
    return env;
  };

  const formLimit = bodyLimit({
    maxSize: 64 * 1024,
    // A page like every other refusal here: a person reads it, and the way back is in its header.
    onError: (c) => page(c, renderErrorPage({ view: null, status: 413, message: "This form is larger than 64 KiB: shorten the text (a comment holds at most 20,000 characters) and send it again." }), 413),
  });

  /** The posted form; a body that is not a form reads as an empty one (then validation names the fields). */
  const readForm = async (c: C, multi: string[] = []) => {
    let body: Record<string, string | File | (string | File)[]>;
    try {
      body = await c.req.parseBody({ all: true });
    } catch {
      body = {};
    }
    return F.formFrom(Object.entries(body).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, x] as [string, string | File]) : [[k, v] as [string, string | File]])), multi);
  };

  return { config, revoked, https, origin, search, client, sameOrigin, who, viewFor, call, page, toLogin, failed, guarded, query, envOf, formLimit, readForm };
}
