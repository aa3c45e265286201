/**
 * The browser UI under /ui, mounted on the API app by mountUi(): sign-in/out, overview, items list,
 * item page with actions, owner pages, trends. Pages are server-rendered; every read and write goes
 * through the same tool dispatcher (and so the same entitlements and events) as the HTTP API.
 *
 * Mounted before the API-key middleware: browsers do not send keys on every request. Who the browser
 * is, first match wins:
 *   1. the trusted proxy identity header, when configured (BACKLOG_PROXY_IDENTITY_HEADER);
 *   2. the signed session cookie from /ui/login;
 *   3. anonymous (config/access.yml `anonymous`), else a redirect to the sign-in page.
 * State-changing requests need a session or proxy identity, a CSRF token bound to it, and — when the
 * browser sends one — an Origin equal to this server's.
 */
import type { Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { hasEntitlement } from "../../access/entitlements.ts";
import type { Identity } from "../../access/config.ts";
import { AppError } from "../../core/errors.ts";
import { dispatch } from "../../tools/dispatch.ts";
import type { ActionName } from "../../tools/index.ts";
import type { Conn } from "../../core/runtime.ts";
import type { AppDeps } from "../app.ts";
import { APP_CSS, CSS_PATH } from "./assets.ts";
import type { UiConfig } from "./config.ts";
import { renderErrorPage } from "./error-page.tsx";
import * as F from "./forms.ts";
import { allowHeaderOf, methodNotAllowed } from "../methods.ts";
import { renderItemPage } from "./item-page.tsx";
import { mountJobsUi } from "./jobs-routes.ts";
import { loadLineage } from "./lineage-card.tsx";
import { itemHref } from "./items-table.tsx";
import { renderItemsPage } from "./items-page.tsx";
import type { View } from "./layout.tsx";
import { LoginLimiter } from "./login-limit.ts";
import { MemoryRevokedSessions, type RevokedSessions } from "./revoked-sessions.ts";
import { renderLoginPage } from "./login-page.tsx";
import { renderOverviewPage } from "./overview-page.tsx";
import { renderOwnerPage } from "./owner-page.tsx";
import { renderTrendsPage, type TrendsData } from "./trends-page.tsx";
import * as S from "./session.ts";

export interface UiDeps {
  config: UiConfig;
  /** The policy's envs; the first is the default. */
  envs: readonly string[];
  /** The policy's notify.warn_days: "due soon" on every page. */
  warnDays: number;
  /** Signed-out sessions shared by every replica (openRevokedSessions); absent: this process only. */
  revoked?: RevokedSessions;
}

type Env = { Variables: { identity: Identity } };
type C = Context<Env>;

interface Who {
  identity: Identity;
  /** What CSRF tokens are bound to; null: this browser cannot post forms (anonymous). */
  binding: string | null;
  session: S.Session | null;
}

const BACKLOG = "backlog_tool";
const READ = "tools.backlog.read";
const WRITE = "tools.backlog.write";
const LOGIN_TTL_S = 3600;

const DONE: Record<string, string> = { status: "Status changed.", comment: "Comment added.", owner: "Owner changed." };
/** The notice after an action's redirect; own keys only (?done=constructor is no notice, not an empty box). */
const doneNotice = (done: string | undefined) => (done !== undefined && Object.hasOwn(DONE, done) ? DONE[done]! : null);

export function mountUi(app: Hono<Env>, deps: AppDeps, ui: UiDeps): void {
  const { config } = ui;
  const revoked = ui.revoked ?? new MemoryRevokedSessions();
  const attempts = new LoginLimiter();

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

  app.get(CSS_PATH, (c) => {
    c.header("cache-control", "public, max-age=3600");
    return c.body(APP_CSS, 200, { "content-type": "text/css; charset=utf-8" });
  });

  // ---- sign-in / sign-out -------------------------------------------------------------------------

  const loginPage = (c: C, next: string, status: number, errors: string[] = [], notice: string | null = null) => {
    const nonce = S.newNonce();
    c.header("set-cookie", S.cookie(S.LOGIN_COOKIE, nonce, { secure: https(c), maxAge: LOGIN_TTL_S, path: "/ui/login" }), { append: true });
    return page(c, renderLoginPage({ csrf: S.csrfToken(config.secret, `login\0${nonce}`), next, errors, notice }), status);
  };

  app.get("/ui/login", async (c) => {
    const next = S.safeNext(c.req.query("next"));
    // Who cannot be told (an unmapped proxy identity, the store down): the form, as to anyone signed out.
    if ((await who(c).catch(() => null))?.session) return c.redirect(next, 303);
    return loginPage(c, next, 200, [], c.req.query("signed_out") !== undefined ? "You are signed out." : null);
  });

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

  app.post("/ui/login", formLimit, async (c) => {
    const form = await readForm(c);
    const next = S.safeNext(form.next);
    if (!sameOrigin(c)) return loginPage(c, next, 403, ["This sign-in came from another site; sign in from this page."]);
    const nonce = S.readCookie(c.req.header("cookie"), S.LOGIN_COOKIE);
    if (!nonce || !S.checkCsrf(config.secret, `login\0${nonce}`, form.csrf)) {
      return loginPage(c, next, 403, ["The sign-in form expired or was not sent from this page (cookies must be on); please sign in again."]);
    }
    const parsed = F.parseForm(F.LoginFormSchema, form);
    if (!parsed.value) return loginPage(c, next, 400, parsed.errors);
    const from = client(c);
    const now = deps.clock().getTime();
    const verdict = attempts.check(from, now);
    if (!verdict.ok) {
      c.header("retry-after", String(verdict.retryAfterS));
      const whose = verdict.scope === "client" ? "from this address" : "on this server";
      return loginPage(c, next, 429, [`Too many refused sign-ins ${whose}: try again in ${verdict.retryAfterS} seconds (the wait protects API keys from guessing).`]);
    }
    const identity = deps.access.authenticate(parsed.value.api_key.trim());
    if (!identity) {
      // One line per refusal until the budget runs out, then one saying so: a flood does not flood the log.
      if (attempts.fail(from, now)) deps.log.warn("ui sign-in budget exhausted", { client: from, hint: "many refused API keys from one address: someone may be guessing keys" });
      else deps.log.info("ui sign-in refused", { reason: "unknown key", client: from });
      return loginPage(c, next, 401, ["api_key: this key is not recognised (check for a typo, or ask your operator which key to use)."]);
    }
    const session = { agent: identity.agent, expiresAt: deps.clock().getTime() + config.sessionMs, nonce: S.newNonce() };
    c.header("set-cookie", S.cookie(S.SESSION_COOKIE, S.signSession(config.secret, session), { secure: https(c), maxAge: config.sessionMs / 1000 }), { append: true });
    c.header("set-cookie", S.cookie(S.LOGIN_COOKIE, "", { secure: https(c), maxAge: 0, path: "/ui/login" }), { append: true });
    deps.log.info("ui sign-in", { agent: identity.agent });
    return c.redirect(next, 303);
  });

  app.post("/ui/logout", formLimit, async (c) => {
    let w: Who | null = null;
    try {
      w = await who(c);
      const form = await readForm(c);
      if (w.session) {
        if (!sameOrigin(c) || !w.binding || !S.checkCsrf(config.secret, w.binding, form.csrf)) {
          return page(c, renderErrorPage({ view: null, status: 403, message: "Sign-out must come from a page of this site (missing or wrong CSRF token)." }), 403);
        }
        // Recorded where every replica looks (revoked-sessions.ts), until the session would have expired.
        await revoked.revoke(w.session.nonce, w.session.expiresAt, deps.clock().getTime());
        deps.log.info("ui sign-out", { agent: w.identity.agent });
      }
      c.header("set-cookie", S.cookie(S.SESSION_COOKIE, "", { secure: https(c), maxAge: 0 }));
      return c.redirect("/ui/login?signed_out=1", 303);
    } catch (err) {
      return failed(c, err, w);
    }
  });

  // ---- pages ----------------------------------------------------------------------------------------

  app.get(
    "/ui",
    guarded(async (c, w) => {
      const env = envOf(c);
      const dashboard = await call(w, "dashboard", { env });
      const dueSoon = await call(w, "list", { env, due_within_days: ui.warnDays, sort: "due", limit: 10 });
      return page(c, renderOverviewPage(viewFor(w, env), { dashboard: { ...dashboard, alerts: dashboard.alerts ?? deps.alerts(dashboard) }, dueSoon }));
    }),
  );

  app.get(
    "/ui/items",
    guarded(async (c, w) => {
      const parsed = F.parseListQuery(ui.envs, query(c));
      if (!parsed.value) {
        const fallback = F.parseListQuery(ui.envs, { env: ui.envs.includes(c.req.query("env") ?? "") ? c.req.query("env")! : ui.envs[0]! }).value!;
        return page(c, renderItemsPage(viewFor(w, fallback.env), fallback, null, parsed.errors), 400);
      }
      const result = await call(w, "list", F.toFilter(parsed.value, ui.warnDays) as Record<string, unknown>);
      return page(c, renderItemsPage(viewFor(w, parsed.value.env), parsed.value, result));
    }),
  );

  const itemView = async (c: C, w: Who, id: string, extra: { errors?: string[]; done?: string | null; form?: Record<string, string> }, status = 200) => {
    const { item, events } = await call(w, "get", { id });
    const lineage = await loadLineage((p) => call(w, "list", p), item);
    return page(c, renderItemPage(viewFor(w, item.env), { item, events, lineage, ...extra }), status);
  };

  app.get(
    "/ui/items/:id",
    guarded(async (c, w) => itemView(c, w, c.req.param("id") ?? "", { done: doneNotice(c.req.query("done")) })),
  );

  app.get(
    "/ui/owners/:owner",
    guarded(async (c, w) => {
      const env = envOf(c);
      const owner = c.req.param("owner") ?? "";
      if (owner.length > 200) throw new AppError("invalid_input", "owner: must be at most 200 characters.");
      const base = { env, owner, status: ["open", "in_progress", "blocked"] };
      const open = await call(w, "list", { ...base, sort: "priority", limit: F.PAGE_SIZE });
      const overdue = (await call(w, "list", { env, owner, overdue: true, limit: 1 })).total;
      const dueSoon = (await call(w, "list", { env, owner, due_within_days: ui.warnDays, limit: 1 })).total;
      return page(c, renderOwnerPage(viewFor(w, env), { owner, open, overdue, dueSoon }));
    }),
  );

  app.get(
    "/ui/trends",
    guarded(async (c, w) => {
      const env = envOf(c);
      const data: TrendsData = await dispatch(deps.registry, { tool: "trends_tool", action: "history", params: { env, weeks: 12 } }, deps.toolContext(w.identity));
      return page(c, renderTrendsPage(viewFor(w, env), data));
    }),
  );

  // ---- actions: the same backlog_tool actions (and events) as POST /v1/tools/execute -------------------

  const ACTIONS = {
    status: { schema: F.StatusFormSchema, run: (w: Who, id: string, v: { status: string; message: string }) => call(w, "set_status", { id, status: v.status, ...(v.message ? { message: v.message } : {}) }) },
    comment: { schema: F.CommentFormSchema, run: (w: Who, id: string, v: { message: string }) => call(w, "add_comment", { id, message: v.message }) },
    owner: {
      schema: F.OwnerFormSchema,
      // upsert is the tool's one way to change an owner: same key and fields, only the owner differs.
      run: async (w: Who, id: string, v: { owner: string | null }) => {
        const { item } = await call(w, "get", { id });
        return call(w, "upsert", { env: item.env, service: item.service, category: item.category, title: item.title, dedupe_key: item.dedupe_key, owner: v.owner });
      },
    },
  } as const;

  for (const [name, def] of Object.entries(ACTIONS)) {
    app.post(
      `/ui/items/:id/${name}`,
      formLimit,
      guarded(async (c, w) => {
        const id = c.req.param("id") ?? "";
        // Back to the item page after signing in (the form's own URL only takes posts).
        if (!w.binding) return w.identity.authenticated ? Promise.reject(new AppError("forbidden", "Actions need a browser session: sign in at /ui/login.")) : toLogin(c, itemHref(id));
        const form = await readForm(c);
        if (!sameOrigin(c) || !S.checkCsrf(config.secret, w.binding, form.csrf)) {
          throw new AppError("forbidden", "This form did not come from a page of this site (missing or wrong CSRF token); reload the item page and try again.");
        }
        const shown = { status: String(form.status ?? ""), message: String(form.message ?? ""), comment: String(form.message ?? ""), owner: String(form.owner ?? "") };
        const parsed = F.parseForm(def.schema as never, form) as F.Parsed<never>;
        if (!parsed.value) return itemView(c, w, id, { errors: parsed.errors, form: shown }, 400);
        try {
          await (def.run as (w: Who, id: string, v: unknown) => Promise<unknown>)(w, id, parsed.value);
        } catch (err) {
          if (err instanceof AppError && err.code === "invalid_input") return itemView(c, w, id, { errors: [err.message], form: shown }, 400);
          throw err;
        }
        return c.redirect(`${itemHref(id)}?done=${name}`, 303);
      }, (c) => itemHref(c.req.param("id") ?? "")),
    );
  }

  mountJobsUi(app, deps, { guarded, page, viewFor, readForm, sameOrigin, formLimit, secret: config.secret, env: ui.envs[0]! });

  // Another method on a known path: the sign-in check as for the page (protected pages), then a 405
  // page with Allow (lib/http/methods.ts). Sign-in, sign-out and the stylesheet answer anyone.
  for (const [path, methods] of [[CSS_PATH, ["GET"]], ["/ui/login", ["GET", "POST"]], ["/ui/logout", ["POST"]]] as const) {
    app.all(path, (c) => failed(c, methodNotAllowed(c, methods), null));
  }
  for (const path of ["/ui", "/ui/items", "/ui/items/:id", "/ui/owners/:owner", "/ui/trends"]) {
    app.all(path, guarded(async (c) => Promise.reject(methodNotAllowed(c, ["GET"]))));
  }
  for (const name of Object.keys(ACTIONS)) {
    app.all(`/ui/items/:id/${name}`, guarded(async (c) => Promise.reject(methodNotAllowed(c, ["POST"])), (c) => itemHref(c.req.param("id") ?? "")));
  }

  // Any other /ui path: a page saying so (after the API-key check it would be a JSON 401).
  app.all("/ui/*", guarded(async (c) => {
    throw new AppError("not_found", `There is no page ${c.req.path.slice(0, 200)}; start from the overview.`);
  }));
}
