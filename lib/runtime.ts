/**
 * The one adapter for runtime-specific APIs (Bun or Deno). Everything else in lib/ and scripts/ uses
 * web-standard APIs and node: built-ins only.
 */
declare const Bun: { serve(o: unknown): { port: number; hostname: string; stop(force?: boolean): Promise<void> } } | undefined;
declare const Deno:
  | { serve(o: unknown, h: (r: Request) => Response | Promise<Response>): { addr: { port: number; hostname: string }; shutdown(): Promise<void> } }
  | undefined;

export const runtime: "bun" | "deno" | "node" =
  typeof Bun !== "undefined" ? "bun" : typeof Deno !== "undefined" ? "deno" : "node";

export interface Served {
  port: number;
  hostname: string;
  /** Stops accepting connections and resolves once in-flight requests have finished. */
  stop(): Promise<void>;
}

export function serve(fetch: (req: Request) => Response | Promise<Response>, opts: { port: number; hostname: string }): Served {
  if (typeof Bun !== "undefined") {
    const s = Bun.serve({ port: opts.port, hostname: opts.hostname, fetch, idleTimeout: 30 });
    return { port: s.port, hostname: opts.hostname, stop: () => s.stop(false) };
  }
  if (typeof Deno !== "undefined") {
    const s = Deno.serve({ port: opts.port, hostname: opts.hostname, onListen() {} }, fetch);
    return { port: s.addr.port, hostname: opts.hostname, stop: () => s.shutdown() };
  }
  throw new Error("server.ts runs on Bun (`npx bun run server.ts`) or Deno (`deno run -A server.ts`), not plain Node.js.");
}
