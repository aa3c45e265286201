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
 *
 * This file is the order the groups register in; each is its own module: ui-kit.ts (who the browser is
 * and the helpers every route shares), sign-in-routes.ts, page-routes.ts, item-action-routes.ts,
 * jobs-routes.ts. The 405 answers and the /ui/* fallback come last, here.
 */
import type { Hono } from "hono";
import { AppError } from "../../core/errors.ts";
import type { AppDeps } from "../app.ts";
import { methodNotAllowed } from "../methods.ts";
import { APP_CSS, CSS_PATH } from "./assets.ts";
import type { UiConfig } from "./config.ts";
import { mountItemActions } from "./item-action-routes.ts";
import { itemHref } from "./items-table.tsx";
import { mountJobsUi } from "./jobs-routes.ts";
import { mountPages } from "./page-routes.ts";
import type { RevokedSessions } from "./revoked-sessions.ts";
import { mountSignIn } from "./sign-in-routes.ts";
import { uiKit, type UiEnv } from "./ui-kit.ts";

export interface UiDeps {
  config: UiConfig;
  /** The policy's envs; the first is the default. */
  envs: readonly string[];
  /** The policy's notify.warn_days: "due soon" on every page. */
  warnDays: number;
  /** Signed-out sessions shared by every replica (openRevokedSessions); absent: this process only. */
  revoked?: RevokedSessions;
}

export function mountUi(app: Hono<UiEnv>, deps: AppDeps, ui: UiDeps): void {
  const kit = uiKit(deps, ui);
  const { guarded, page, viewFor, readForm, sameOrigin, formLimit, failed } = kit;

  app.get(CSS_PATH, (c) => {
    c.header("cache-control", "public, max-age=3600");
    return c.body(APP_CSS, 200, { "content-type": "text/css; charset=utf-8" });
  });

  mountSignIn(app, deps, kit);
  mountPages(app, deps, ui, kit);
  const actionNames = mountItemActions(app, kit);

  mountJobsUi(app, deps, { guarded, page, viewFor, readForm, sameOrigin, formLimit, secret: ui.config.secret, env: ui.envs[0]! });

  // Another method on a known path: the sign-in check as for the page (protected pages), then a 405
  // page with Allow (lib/http/methods.ts). Sign-in, sign-out and the stylesheet answer anyone.
  for (const [path, methods] of [[CSS_PATH, ["GET"]], ["/ui/login", ["GET", "POST"]], ["/ui/logout", ["POST"]]] as const) {
    app.all(path, (c) => failed(c, methodNotAllowed(c, methods), null));
  }
  for (const path of ["/ui", "/ui/items", "/ui/items/:id", "/ui/owners/:owner", "/ui/trends"]) {
    app.all(path, guarded(async (c) => Promise.reject(methodNotAllowed(c, ["GET"]))));
  }
  for (const name of actionNames) {
    app.all(`/ui/items/:id/${name}`, guarded(async (c) => Promise.reject(methodNotAllowed(c, ["POST"])), (c) => itemHref(c.req.param("id") ?? "")));
  }

  // Any other /ui path: a page saying so (after the API-key check it would be a JSON 401).
  app.all("/ui/*", guarded(async (c) => {
    throw new AppError("not_found", `There is no page ${c.req.path.slice(0, 200)}; start from the overview.`);
  }));
}
