/**
 * Browser sessions and CSRF tokens, stateless and signed: a session cookie is
 * base64url(JSON {a: agent, e: expiry ms, n: nonce}) + "." + HMAC-SHA256 over that part. It carries the
 * agent name only — never the API key — and the agent's entitlements are looked up in the access config
 * on every request, so a removed agent or changed entitlement takes effect at once.
 *
 * CSRF tokens are HMACs bound to what identifies the browser's session (its nonce, a login nonce, or the
 * proxy identity), so one session's token is useless in another. All comparisons are constant-time.
 */
import { Buffer } from "node:buffer";
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

export const SESSION_COOKIE = "bb_session";
export const LOGIN_COOKIE = "bb_login";

export interface Session {
  agent: string;
  expiresAt: number;
  nonce: string;
}

const b64 = (b: Buffer | string) => Buffer.from(b).toString("base64url");
const mac = (secret: Buffer, data: string) => createHmac("sha256", secret).update(data, "utf8").digest();

function sameMac(secret: Buffer, data: string, given: string): boolean {
  const want = mac(secret, data);
  const got = Buffer.from(given, "base64url");
  return got.length === want.length && timingSafeEqual(got, want);
}

export const newNonce = () => randomBytes(18).toString("base64url");

export function signSession(secret: Buffer, s: Session): string {
  const body = b64(JSON.stringify({ a: s.agent, e: s.expiresAt, n: s.nonce }));
  return `${body}.${b64(mac(secret, `session\0${body}`))}`;
}

/** The session, or null when the token is malformed, forged or expired at `now`. */
export function verifySession(secret: Buffer, token: string | undefined, now: number): Session | null {
  if (!token || token.length > 1024) return null;
  const dot = token.indexOf(".");
  if (dot < 1) return null;
  const body = token.slice(0, dot);
  if (!sameMac(secret, `session\0${body}`, token.slice(dot + 1))) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(body, "base64url").toString("utf8"));
  } catch {
    return null;
  }
  const { a, e, n } = (raw ?? {}) as Record<string, unknown>;
  if (typeof a !== "string" || typeof e !== "number" || typeof n !== "string") return null;
  if (e <= now) return null;
  return { agent: a, expiresAt: e, nonce: n };
}

/** A CSRF token for forms of the browser identified by `binding` (session nonce, login nonce, proxy identity). */
export const csrfToken = (secret: Buffer, binding: string) => b64(mac(secret, `csrf\0${binding}`));

export function checkCsrf(secret: Buffer, binding: string, given: unknown): boolean {
  return typeof given === "string" && given.length > 0 && given.length < 200 && sameMac(secret, `csrf\0${binding}`, given);
}

export interface CookieOptions {
  secure: boolean;
  /** Seconds; 0 deletes the cookie. */
  maxAge: number;
  path?: string;
}

/** Set-Cookie value: always HttpOnly and SameSite=Strict; Secure when served over https. */
export function cookie(name: string, value: string, o: CookieOptions): string {
  const parts = [`${name}=${value}`, `Path=${o.path ?? "/ui"}`, `Max-Age=${Math.max(0, Math.floor(o.maxAge))}`, "HttpOnly", "SameSite=Strict"];
  if (o.secure) parts.push("Secure");
  return parts.join("; ");
}

export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Where to go after signing in: only a path of this UI, never another origin (open redirect). */
export function safeNext(raw: unknown): string {
  return typeof raw === "string" && /^\/ui(\/[A-Za-z0-9_\-./%]*)?(\?[^\s#\\]*)?$/.test(raw) && !raw.startsWith("//") ? raw : "/ui";
}
