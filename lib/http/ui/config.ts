/**
 * The browser UI's settings, read from the environment here and nowhere else:
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
import { AppError } from "../../errors.ts";
import type { Logger } from "../../log.ts";

type Env = Record<string, string | undefined>;

export interface UiConfig {
  secret: Buffer;
  /** True when no BACKLOG_SESSION_SECRET was given (random per process). */
  ephemeralSecret: boolean;
  sessionMs: number;
  trustProxy: boolean;
  /** Lower-cased header name, or null when proxy identity is off. */
  proxyIdentityHeader: string | null;
}

export const DEFAULT_SESSION_HOURS = 8;

function bool(raw: string | undefined, name: string): boolean {
  if (raw === undefined || raw === "") return false;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new AppError("config", `${name} must be true or false, got ${JSON.stringify(raw)}.`);
}

export function resolveUiConfig(env: Env, log?: Logger): UiConfig {
  const raw = env.BACKLOG_SESSION_SECRET;
  if (raw !== undefined && raw !== "" && raw.length < 32) {
    throw new AppError("config", `BACKLOG_SESSION_SECRET must be at least 32 characters (e.g. openssl rand -hex 32); it has ${raw.length}.`);
  }
  const ephemeralSecret = !raw;
  if (ephemeralSecret) {
    log?.warn("BACKLOG_SESSION_SECRET is unset: using a random per-process secret; browser sessions end on restart and do not span replicas");
  }
  const hoursRaw = env.BACKLOG_SESSION_HOURS;
  const hours = hoursRaw ? Number(hoursRaw) : DEFAULT_SESSION_HOURS;
  if (!Number.isFinite(hours) || hours <= 0 || hours > 168) {
    throw new AppError("config", `BACKLOG_SESSION_HOURS must be a number of hours above 0 and at most 168, got ${JSON.stringify(hoursRaw)}.`);
  }
  const header = env.BACKLOG_PROXY_IDENTITY_HEADER?.trim();
  if (header && !/^[A-Za-z0-9-]+$/.test(header)) {
    throw new AppError("config", `BACKLOG_PROXY_IDENTITY_HEADER must be a header name like X-Forwarded-Email, got ${JSON.stringify(header)}.`);
  }
  return {
    secret: raw ? Buffer.from(raw, "utf8") : randomBytes(32),
    ephemeralSecret,
    sessionMs: Math.round(hours * 3_600_000),
    trustProxy: bool(env.BACKLOG_TRUST_PROXY, "BACKLOG_TRUST_PROXY"),
    proxyIdentityHeader: header ? header.toLowerCase() : null,
  };
}
