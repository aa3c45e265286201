/**
 * Bun hands a request without a Host header (HTTP/1.0, HAProxy's default check) or with an invalid one
 * a relative URL ("/healthz"), which Hono's router misreads. The server passes every request through
 * here first: the path is kept, the untrusted host is replaced, and nothing ever builds a link from it.
 */
export function withSafeUrl(req: Request): Request {
  try {
    const url = new URL(req.url);
    if (url.protocol === "http:" || url.protocol === "https:") return req;
  } catch {
    // fall through: rebuild below
  }
  const raw = req.url;
  const path = raw.startsWith("/") ? raw : raw.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, "") || "/";
  return new Request(`http://invalid-host.local${path.startsWith("/") ? path : `/${path}`}`, req);
}
