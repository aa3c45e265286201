/**
 * Secrets never reach a log line, an error message or a printed URL (house rule 6).
 * Everything that prints user-supplied connection data goes through here.
 */

const SECRET_KEY = /pass(word)?|secret|token|api[_-]?key|authorization|cookie|dsn/i;
// scheme://user:password@host  → scheme://user:***@host
const URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*):([^\s@/]*)@/gi;
// key=value style connection strings: password=xyz
const KV_PASSWORD = /\b(password|pass|pwd)=([^\s&;]+)/gi;

/** Redacts the password of a DSN/URL, keeping user, host, port and database readable. */
export function redactDsn(dsn: string): string {
  return redactText(dsn);
}

/** Redacts every password-looking part of free text (error messages, commands). */
export function redactText(text: string): string {
  return text.replace(URL_PASSWORD, "$1:***@").replace(KV_PASSWORD, "$1=***");
}

/** Deep copy of `value` with secret-named fields masked and DSNs inside strings redacted. */
export function redactFields(value: unknown, depth = 0): unknown {
  if (depth > 8) return value;
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
