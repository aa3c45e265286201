/**
 * A real TCP proxy on loopback in front of a real Postgres that loses one message on demand, to make a
 * connection die at an exact point of a statement (no mocks: both ends speak the real protocol).
 *
 *   const proxy = await lossyProxy(dsn);               // proxy.dsn points at the proxy
 *   const lost = proxy.loseAnswer("insert into scheduler_runs");
 *   … start the statement …
 *   await lost.happened;   // Postgres answered (the statement committed); the client has not heard
 *   lost.cut();            // now the client's connection dies
 *
 * `loseRequest(needle)` instead holds the client's bytes back: the statement never reaches Postgres.
 * `refuse(true)` stops listening, so new connections are refused (Postgres "still away"); `refuse(false)`
 * listens again on the same port.
 */
import { createServer, connect, type Server, type Socket } from "node:net";

export interface Loss {
  /** Resolves once the message is withheld: for an answer, when it is complete (Postgres committed). */
  happened: Promise<void>;
  /** Kills the client's connection (and the proxy's to Postgres). */
  cut(): void;
}

export interface LossyProxy {
  dsn: string;
  loseAnswer(needle: string): Loss;
  loseRequest(needle: string): Loss;
  refuse(on: boolean): Promise<void>;
  close(): Promise<void>;
}

interface Armed {
  needle: Buffer;
  what: "answer" | "request";
  withheld: () => void;
  pair?: [Socket, Socket];
  done: boolean;
  cutRequested: boolean;
}

/** The last protocol message is ReadyForQuery ('Z', length 5, status): the answer is complete. */
function endsWithReadyForQuery(b: Buffer): boolean {
  const n = b.length;
  return n >= 6 && b[n - 6] === 0x5a && b.readInt32BE(n - 5) === 5;
}

export async function lossyProxy(targetDsn: string): Promise<LossyProxy> {
  const target = new URL(targetDsn);
  const sockets = new Set<Socket>();
  let armed: Armed | null = null;

  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {});
    }
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
    let losing: Armed | null = null;
    // After the needle: the client's messages, framed, to see when the statement is executed (postgres.js
    // may first parse and describe it in a round of its own, whose answer must get through).
    let framed = Buffer.alloc(0);
    let executing = false;
    let answer = Buffer.alloc(0);
    client.on("data", (chunk: Buffer) => {
      const a = armed;
      if (a && !losing && chunk.includes(a.needle)) {
        armed = null;
        losing = a;
        a.pair = [client, upstream];
        if (a.what === "request") {
          a.done = true;
          a.withheld();
          if (a.cutRequested) client.destroy();
          return;
        }
      }
      if (losing?.what === "request") return;
      if (losing && !executing) {
        framed = Buffer.concat([framed, chunk]);
        while (framed.length >= 5 && framed.length >= 1 + framed.readInt32BE(1)) {
          if (framed[0] === 0x45) executing = true; // 'E' Execute
          framed = framed.subarray(1 + framed.readInt32BE(1));
        }
      }
      upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => {
      if (!losing || !executing) return void client.write(chunk);
      answer = Buffer.concat([answer, chunk]);
      if (!endsWithReadyForQuery(answer)) return;
      losing.done = true;
      losing.withheld();
      if (losing.cutRequested) client.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  const dsn = new URL(targetDsn);
  dsn.hostname = "127.0.0.1";
  dsn.port = String(port);

  function arm(needle: string, what: Armed["what"]): Loss {
    let withheld!: () => void;
    const happened = new Promise<void>((resolve) => (withheld = resolve));
    const a: Armed = { needle: Buffer.from(needle), what, withheld, done: false, cutRequested: false };
    armed = a;
    return {
      happened,
      cut() {
        // Before the answer is complete the cut waits for it: the point is a statement that committed.
        a.cutRequested = true;
        if (a.done) a.pair?.[0].destroy();
      },
    };
  }

  return {
    dsn: dsn.toString(),
    loseAnswer: (needle) => arm(needle, "answer"),
    loseRequest: (needle) => arm(needle, "request"),
    async refuse(on) {
      if (on === !server.listening) return;
      if (on) server.close();
      else await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    },
    async close() {
      for (const s of sockets) s.destroy();
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
