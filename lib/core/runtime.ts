/**
 * The one adapter for runtime-specific APIs (Bun or Deno). Everything else in lib/ and scripts/ uses
 * web-standard APIs and node: built-ins only.
 */
declare const Bun: { serve(o: unknown): { port: number; hostname: string; stop(force?: boolean): Promise<void> } } | undefined;
declare const Deno:
  | { serve(o: unknown, h: (r: Request, info: { remoteAddr?: { hostname?: string } }) => Response | Promise<Response>): { addr: { port: number; hostname: string }; shutdown(): Promise<void> } }
  | undefined;

/** What the server knows of a request's connection (the UI's sign-in budget is per peer address). */
export interface Conn {
  remoteAddr?: string;
}

export const runtime: "bun" | "deno" | "node" =
  typeof Bun !== "undefined" ? "bun" : typeof Deno !== "undefined" ? "deno" : "node";

export interface Served {
  port: number;
  hostname: string;
  /**
   * Stops accepting connections at once, gives in-flight requests up to `drainMs` to finish, then closes
   * every connection still open (idle keep-alives, clients holding an unread body, slow uploads).
   */
  stop(drainMs: number): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref?.());

type Handler = (req: Request, conn: Conn) => Response | Promise<Response>;

export function serve(fetch: Handler, opts: { port: number; hostname: string }): Served {
  if (typeof Bun !== "undefined") {
    // A getter: only the sign-in budget reads the peer address, so other requests never pay the lookup.
    const handler = (req: Request, server: { requestIP(r: Request): { address: string } | null }) =>
      fetch(req, {
        get remoteAddr() {
          return server.requestIP(req)?.address;
        },
      });
    const s = Bun.serve({ port: opts.port, hostname: opts.hostname, fetch: handler, idleTimeout: 30 });
    return {
      port: s.port,
      hostname: opts.hostname,
      async stop(drainMs) {
        await Promise.race([s.stop(false), sleep(drainMs)]);
        await s.stop(true);
      },
    };
  }
  if (typeof Deno !== "undefined") {
    const s = Deno.serve({ port: opts.port, hostname: opts.hostname, onListen() {} }, (req, info) => fetch(req, { remoteAddr: info?.remoteAddr?.hostname }));
    // Deno has no forced close: after the drain the caller exits, which closes what is left.
    return { port: s.addr.port, hostname: opts.hostname, stop: (drainMs) => Promise.race([s.shutdown(), sleep(drainMs)]) };
  }
  throw new Error("server.ts runs on Bun (`npx bun run server.ts`) or Deno (`deno run -A server.ts`), not plain Node.js.");
}
