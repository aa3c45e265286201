/** Real HTTP webhook receivers on loopback for notifier tests: each records what it got and answers as told. */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface Received {
  path: string;
  body: any;
  status: number;
  /** performance.now() when the request arrived. */
  at: number;
}

export interface Receiver {
  url: string;
  got: Received[];
  /** Bodies of requests answered 2xx. */
  delivered(): any[];
  close(): Promise<void>;
}

/** `answer(n)` gives the status (and optional delay, or "hang") for the n-th request (0-based). */
export async function receiver(answer: (n: number) => { status: number; delayMs?: number; hang?: boolean; retryAfter?: string } = () => ({ status: 200 })): Promise<Receiver> {
  const got: Received[] = [];
  const open = new Set<import("node:net").Socket>();
  const server: Server = createServer((req, res) => {
    const n = got.length;
    const a = answer(n);
    const entry: Received = { path: req.url ?? "", body: null, status: a.status, at: performance.now() };
    got.push(entry);
    let text = "";
    req.on("data", (d) => (text += d));
    req.on("end", () => {
      entry.body = JSON.parse(text);
      if (a.hang) return; // never answers; the client's timeout ends it
      setTimeout(() => res.writeHead(a.status, a.retryAfter ? { "retry-after": a.retryAfter } : {}).end(a.status < 300 ? "ok" : "no"), a.delayMs ?? 0);
    });
  });
  server.on("connection", (s) => {
    open.add(s);
    s.on("close", () => open.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hooks/SECRET-TOKEN-${port}`,
    got,
    delivered: () => got.filter((g) => g.status < 300).map((g) => g.body),
    close: () =>
      new Promise<void>((r) => {
        for (const s of open) s.destroy();
        server.close(() => r());
      }),
  };
}
