/**
 * The HTTP baseline: Bun.serve answering every request with one precomputed JSON body. Its own
 * process, like the real server, so both pay the same loopback and process costs. With `stringify`
 * it serializes the parsed body on every request instead: the floor of any server that builds its
 * answer per request.
 *   bun bench/lib/bare-server.ts <port> <body file> [stringify]
 */
import { readFileSync } from "node:fs";
import process from "node:process";

const [port, file, mode] = process.argv.slice(2);
if (!port || !file) {
  process.stderr.write("usage: bun bench/lib/bare-server.ts <port> <body file>\n");
  process.exit(2);
}
const body = readFileSync(file, "utf8");
const value: unknown = JSON.parse(body);
const headers = { "content-type": "application/json" };
const server = Bun.serve({
  port: Number(port),
  hostname: "127.0.0.1",
  fetch: mode === "stringify" ? () => new Response(JSON.stringify(value), { headers }) : () => new Response(body, { headers }),
});
process.on("SIGTERM", () => {
  server.stop(true);
  process.exit(0);
});
