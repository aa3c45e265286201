/**
 * The HTTP baseline: Bun.serve answering every request with one precomputed JSON body. Its own
 * process, like the real server, so both pay the same loopback and process costs.
 *   bun bench/lib/bare-server.ts <port> <body file>
 */
import { readFileSync } from "node:fs";
import process from "node:process";

const [port, file] = process.argv.slice(2);
if (!port || !file) {
  process.stderr.write("usage: bun bench/lib/bare-server.ts <port> <body file>\n");
  process.exit(2);
}
const body = readFileSync(file, "utf8");
const server = Bun.serve({
  port: Number(port),
  hostname: "127.0.0.1",
  fetch: () => new Response(body, { headers: { "content-type": "application/json" } }),
});
process.on("SIGTERM", () => {
  server.stop(true);
  process.exit(0);
});
