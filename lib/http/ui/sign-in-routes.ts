/** Sign-in and sign-out: GET/POST /ui/login (an API key, once, for a signed session cookie) and POST /ui/logout. */
import type { Hono } from "hono";
import type { AppDeps } from "../app.ts";
import { renderErrorPage } from "./error-page.tsx";
import * as F from "./forms.ts";
import { LoginLimiter } from "./login-limit.ts";
import { renderLoginPage } from "./login-page.tsx";
import * as S from "./session.ts";
import type { C, UiEnv, UiKit, Who } from "./ui-kit.ts";

const LOGIN_TTL_S = 3600;

export function mountSignIn(app: Hono<UiEnv>, deps: AppDeps, kit: UiKit): void {
  const { config, revoked, https, client, sameOrigin, who, page, failed, formLimit, readForm } = kit;
  const attempts = new LoginLimiter();

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
}
