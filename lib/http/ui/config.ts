/**
 * The browser UI's settings:
 *   BACKLOG_SESSION_SECRET         HMAC key for session cookies and CSRF tokens (at least 32 characters).
 *                                  Unset: a random secret per process, with a warning — sessions then end
 *                                  when the server restarts and do not work across replicas.
 *   BACKLOG_SESSION_HOURS          session lifetime (default 8, at most 168).
 *   BACKLOG_TRUST_PROXY            true: believe X-Forwarded-Proto/-Host from the reverse proxy (Secure
 *                                  cookies behind a TLS-terminating proxy). Off by default.
 *   BACKLOG_PROXY_IDENTITY_HEADER  e.g. X-Forwarded-Email: take the signed-in person from this header of a
 *                                  trusted proxy (oauth2-proxy) and map it via `people:` in config/access.yml.
 *                                  Off by default; only safe when nothing but the proxy can reach the server.
 */
import { Buffer } from "node:buffer";
import { randomBytes } from "node:crypto";
import { readVar, type Env } from "../../config/index.ts";
import type { Logger } from "../../core/log.ts";

export interface UiConfig {
  secret: Buffer;
  /** True when no BACKLOG_SESSION_SECRET was given (random per process). */
  ephemeralSecret: boolean;
  sessionMs: number;
  trustProxy: boolean;
  /** Lower-cased header name, or null when proxy identity is off. */
  proxyIdentityHeader: string | null;
}

/** The variables are declared (default, schema, description) in lib/config/vars.ts; read and turned into settings here. */
export function resolveUiConfig(env: Env, log?: Logger): UiConfig {
  const raw = readVar("BACKLOG_SESSION_SECRET", env);
  const ephemeralSecret = !raw;
  if (ephemeralSecret) {
    log?.warn("BACKLOG_SESSION_SECRET is unset: using a random per-process secret; browser sessions end on restart and do not span replicas");
  }
  const header = readVar("BACKLOG_PROXY_IDENTITY_HEADER", env)?.trim();
  return {
    secret: raw ? Buffer.from(raw, "utf8") : randomBytes(32),
    ephemeralSecret,
    sessionMs: Math.round(readVar("BACKLOG_SESSION_HOURS", env)! * 3_600_000),
    trustProxy: readVar("BACKLOG_TRUST_PROXY", env)!,
    proxyIdentityHeader: header ? header.toLowerCase() : null,
  };
}
