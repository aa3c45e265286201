/**
 * Secrets never reach a log line, an error message or a printed URL (house rule 6). This is the one
 * DSN redactor: every log line (lib/core/log.ts), CLI error (lib/core/cli.ts) and connection message (lib/pg/db.ts)
 * goes through it. It is right for every shape a user types, not only well-formed URLs:
 *   postgresql://u:pw@host/db      postgres:/u:pw@host/db (one slash)     u:pw@host:5432/db (no scheme)
 *   postgresql://u:p@ss@host/db    postgresql://u:p:ss/w@host/db (unencoded @ : / in the password)
 *   host=h password=pw             postgresql://h/db?password=pw&sslpassword=pw
 * and secret-named query parameters of any URL (…?token=, &access_token=, &api_key=, &sig=).
 */

const SECRET_KEY = /pass(word)?|secret|token|api[_-]?key|authorization|cookie|dsn/i;

// Characters that end a DSN inside free text or JSON.
const STOP = `\\s"'<>\``;
// scheme:/ or scheme:// then user:password@ — the password runs to the LAST @ of the token, because
// a host never holds an @ while an unencoded one in the password must not leak its tail. The scheme is a
// whole run of scheme characters (never starting inside one), so each run is scanned once.
const URL_USERINFO = new RegExp(`(?<![a-z0-9+.-])([a-z0-9+.-]+:\\/\\/?)([^${STOP}:/@]*):([^${STOP}]*)@`, "gi");
// No scheme: user:password@host (host a name, an IPv4 or a [v6] literal), at the start of a token.
const BARE_USERINFO = new RegExp(`(^|[${STOP}=(,;\\[])([A-Za-z0-9._%+-]+):(?!\\/)([^${STOP}]*)@(?=[A-Za-z0-9.-]+|\\[)`, "g");
// key=value forms, in libpq strings and in query strings: password=, sslpassword=, pass=, pwd=.
const KV_PASSWORD = new RegExp(`(^|[^a-z])((?:ssl)?pass(?:word)?|pwd)=([^${STOP}&;]+)`, "gi");
// Credentials in a URL's query string (a service URL or webhook with ?token=…): named like a secret, after ? or &.
// `key`, `sig` and `auth` only as the whole name: dedupe_key or a monkey= filter is no secret.
const QUERY_SECRET = new RegExp(`([?&](?:(?:[a-z0-9_.-]*[_.-])?(?:token|secret|signature|api[_-]?key|apikey|credentials?)|key|sig|auth|authorization)=)([^${STOP}&#]+)`, "gi");

/** Redacts the password of a DSN/URL in any shape, keeping user, host, port and database readable. */
export function redactDsn(dsn: string): string {
  return redactText(dsn);
}

// Every pattern matches within one token (a run without white space, quotes, < > or `): a token start
// stands for the separator before it.
const TOKEN = new RegExp(`[^${STOP}]+`, "g");
// The host after the @ of user:password@host starts like this (BARE_USERINFO's lookahead).
const HOST_START = /[A-Za-z0-9.[-]/;

/**
 * Redacts every password-looking part of free text (error messages, commands, URLs). Linear in the
 * text: the userinfo patterns see a token only up to the @ they can end at, so a long token without a
 * password (20,000 letters, or http:// again and again) is not rescanned from every position.
 */
export function redactText(text: string): string {
  if (!text.includes("@") && !text.includes("=")) return text; // every pattern needs one of them
  return text.replace(TOKEN, redactToken);
}

function redactToken(token: string): string {
  if (!token.includes("@") && !token.includes("=")) return token; // every pattern needs one of them
  let out = token;
  const at = out.lastIndexOf("@");
  if (at >= 0) out = out.slice(0, at + 1).replace(URL_USERINFO, "$1$2:***@") + out.slice(at + 1);
  let host = out.lastIndexOf("@");
  while (host >= 0 && !HOST_START.test(out.charAt(host + 1))) host = host === 0 ? -1 : out.lastIndexOf("@", host - 1);
  if (host >= 0) out = out.slice(0, host + 2).replace(BARE_USERINFO, (_m, pre: string, user: string) => `${pre}${user}:***@`) + out.slice(host + 2);
  return out.replace(KV_PASSWORD, "$1$2=***").replace(QUERY_SECRET, "$1***");
}

/**
 * A DSN whose password holds an unencoded reserved character is read differently by different parsers
 * (the host may come out as `ss@host`, leaking part of the password into "host not found" errors).
 * Returns the fix to show, or null when the user-info part is unambiguous.
 */
export function dsnPasswordProblem(dsn: string): string | null {
  const m = /^[a-z][a-z0-9+.-]*:\/\/([^\s]*)@/i.exec(dsn);
  if (!m) return null;
  const userinfo = m[1]!;
  const colon = userinfo.indexOf(":");
  const password = colon < 0 ? "" : userinfo.slice(colon + 1);
  if (!/[@:/?#[\]]/.test(password) && !/[@/?#]/.test(userinfo.slice(0, colon < 0 ? undefined : colon))) return null;
  return "the password (or user) holds an unencoded reserved character; URL-encode it: @ → %40, : → %3A, / → %2F, ? → %3F, # → %23 (e.g. encodeURIComponent in a shell: node -p 'encodeURIComponent(process.argv[1])' 'p@ss')";
}

/** Deep copy of `value` with secret-named fields masked and DSNs inside strings redacted. */
export function redactFields(value: unknown, depth = 0): unknown {
  if (depth > 8) return typeof value === "string" ? redactText(value) : "[nested too deep to log]";
  if (typeof value === "string") return redactText(value);
  if (Array.isArray(value)) return value.map((v) => redactFields(v, depth + 1));
  if (value && typeof value === "object" && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (SECRET_KEY.test(k) && typeof v === "string") {
        out[k] = /dsn/i.test(k) ? redactText(v) : "***";
      } else {
        out[k] = redactFields(v, depth + 1);
      }
    }
    return out;
  }
  return value;
}
