/** @jsxImportSource hono/jsx */
/**
 * The frame every UI page shares: skip link, navigation, who is signed in (with the sign-out form and
 * its CSRF token), the env switcher, and small shared pieces (badges, messages).
 */
import type { Child } from "hono/jsx";
import type { Identity } from "../../access/config.ts";
import { CSS_PATH } from "./assets.ts";

export interface View {
  identity: Identity;
  env: string;
  envs: readonly string[];
  /** The CSRF token for this browser's forms; null when there is no session (anonymous read). */
  csrf: string | null;
  canWrite: boolean;
  /** Signed in with a session cookie (a proxy identity signs out at the proxy). */
  signOut: boolean;
  backend: { backend: string; degraded: boolean };
  now: Date;
  /** notify.warn_days: what "due soon" means on every page (as in the API, /metrics and notifications). */
  warnDays: number;
}

/** "due soon" in words: due today, or within the next N days. */
export const dueSoonWords = (warnDays: number) => (warnDays === 0 ? "due today" : `due in the next ${warnDays} day${warnDays === 1 ? "" : "s"}`);
export const dueSoonTitle = (warnDays: number) => "D" + dueSoonWords(warnDays).slice(1);

export type NavKey = "overview" | "items" | "trends" | "jobs" | "owner" | "item" | "login";

export interface LayoutProps {
  view: View | null;
  title: string;
  nav: NavKey;
  /** Link for each env in the switcher (keeps the page, changes the env); absent: no switcher. */
  envHref?: (env: string) => string;
  children?: Child;
}

export function Layout({ view, title, nav, envHref, children }: LayoutProps) {
  const link = (key: NavKey, href: string, label: string) => (
    <li>
      <a href={href} aria-current={nav === key ? "page" : undefined}>{label}</a>
    </li>
  );
  const env = view ? `env=${encodeURIComponent(view.env)}` : "";
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${title} · backlog-bridge`}</title>
        <link rel="stylesheet" href={CSS_PATH} />
      </head>
      <body>
        <a class="skip" href="#main">Skip to content</a>
        <header class="top">
          <a class="brand" href="/ui">backlog-bridge</a>
          {view ? (
            <nav aria-label="Main">
              <ul>
                {link("overview", `/ui?${env}`, "Overview")}
                {link("items", `/ui/items?${env}`, "Items")}
                {link("trends", `/ui/trends?${env}`, "Trends")}
                {link("jobs", "/ui/jobs", "Jobs")}
              </ul>
            </nav>
          ) : null}
          {view ? (
            <div class="who">
              <span data-testid="who">
                signed in as <strong>{view.identity.agent}</strong> ({view.canWrite ? "can act" : "read only"})
              </span>
              <span>
                backend {view.backend.backend}
                {view.backend.degraded ? " (degraded)" : ""}
              </span>
              {view.csrf && view.signOut ? (
                <form method="post" action="/ui/logout">
                  <input type="hidden" name="csrf" value={view.csrf} />
                  <button type="submit">Sign out</button>
                </form>
              ) : null}
            </div>
          ) : null}
        </header>
        {view && envHref ? (
          <nav class="envs" aria-label="Environment">
            <span class="muted">Environment:</span>
            {view.envs.map((e) => (
              <a href={envHref(e)} aria-current={e === view.env ? "true" : undefined}>{e}</a>
            ))}
          </nav>
        ) : null}
        <main id="main" tabindex={-1}>
          {children}
        </main>
      </body>
    </html>
  );
}

export const render = (node: unknown) => "<!doctype html>" + String(node);

export function Messages({ errors, done }: { errors?: readonly string[]; done?: string | null }) {
  return (
    <>
      {errors && errors.length ? (
        <div class="msg error" role="alert" data-testid="form-error">
          <strong>Please fix:</strong>
          <ul>
            {errors.map((e) => (
              <li>{e}</li>
            ))}
          </ul>
        </div>
      ) : null}
      {done ? (
        <div class="msg done" role="status" data-testid="form-done">
          {done}
        </div>
      ) : null}
    </>
  );
}

/** P0 is red only while the item is unfinished: a closed P0 is no longer a problem. */
export function PriorityBadge({ priority, open }: { priority: string; open: boolean }) {
  return <span class={`badge${priority === "P0" && open ? " p0" : ""}`}>{priority}</span>;
}

export function DueCell({ due, overdue }: { due: string | null; overdue: boolean }) {
  if (!due) return <span class="muted">—</span>;
  return overdue ? (
    <span>
      {due} <span class="badge overdue">overdue</span>
    </span>
  ) : (
    <span>{due}</span>
  );
}
