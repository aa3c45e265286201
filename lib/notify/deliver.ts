/**
 * Posting to one webhook: at most one message per `min_interval_ms` (Slack: about one per second per
 * webhook), a timeout per attempt, and retries with exponential backoff on a network error, a timeout,
 * 429 or 5xx (a Retry-After answer wins, capped at 60 s); other 4xx answers are final. The URL is a
 * secret: it never appears in a result, an error or a log line — failures are described by the
 * webhook's name, the HTTP status or the error code only.
 */
import type { WebhookPolicy } from "./policy-schema.ts";

export type Delivery = { ok: true; attempts: number; status: number } | { ok: false; attempts: number; error: string };

export interface SenderDeps {
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
}

const sleepMs = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const RETRY_AFTER_CAP_MS = 60_000;

/** Why a fetch failed, without its message (Bun and Node put the URL in some messages). */
function describeFailure(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; code?: string; cause?: { code?: string } };
  if (e?.name === "TimeoutError" || e?.name === "AbortError") return `no answer within ${timeoutMs} ms`;
  const code = e?.code ?? e?.cause?.code;
  return code && /^[A-Za-z_]+$/.test(code) ? `connection failed (${code})` : "connection failed";
}

function retryAfterMs(res: Response): number | null {
  const h = res.headers.get("retry-after");
  if (!h) return null;
  const secs = Number(h);
  if (Number.isFinite(secs) && secs >= 0) return Math.min(secs * 1000, RETRY_AFTER_CAP_MS);
  const at = Date.parse(h);
  return Number.isFinite(at) ? Math.min(Math.max(at - Date.now(), 0), RETRY_AFTER_CAP_MS) : null;
}

export class WebhookSender {
  private nextAt = 0;
  private readonly fetch: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;
  constructor(readonly hook: WebhookPolicy, private readonly url: string, deps: SenderDeps = {}) {
    this.fetch = deps.fetch ?? fetch;
    this.sleep = deps.sleep ?? sleepMs;
  }

  /** Waits for the webhook's rate slot; every attempt, retries included, takes one. */
  private async slot(): Promise<void> {
    const wait = this.nextAt - Date.now();
    if (wait > 0) await this.sleep(wait);
    this.nextAt = Date.now() + this.hook.min_interval_ms;
  }

  async send(body: unknown): Promise<Delivery> {
    const text = JSON.stringify(body);
    let error = "";
    for (let attempt = 1; attempt <= this.hook.retries + 1; attempt++) {
      await this.slot();
      let wait: number | null = null;
      try {
        const res = await this.fetch(this.url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: text,
          signal: AbortSignal.timeout(this.hook.timeout_ms),
          redirect: "error",
        });
        await res.arrayBuffer().catch(() => undefined); // drain, so the connection is reusable
        if (res.ok) return { ok: true, attempts: attempt, status: res.status };
        error = `HTTP ${res.status}`;
        if (res.status !== 429 && res.status < 500) return { ok: false, attempts: attempt, error: `webhook ${this.hook.name} refused the message: ${error}` };
        wait = retryAfterMs(res);
      } catch (err) {
        error = describeFailure(err, this.hook.timeout_ms);
      }
      if (attempt <= this.hook.retries) await this.sleep(wait ?? this.hook.backoff_ms * 2 ** (attempt - 1));
    }
    return { ok: false, attempts: this.hook.retries + 1, error: `webhook ${this.hook.name} failed after ${this.hook.retries + 1} attempts: ${error}` };
  }
}
