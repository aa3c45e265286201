/**
 * A real, configurable Project Service on 127.0.0.1 for the setup-job tests:
 *   const svc = await startProjectService({ body: { team_members: [{ employee_id: "E1" }] } });
 *   svc.url   → http://127.0.0.1:PORT      svc.requests → what was asked   await svc.close()
 * `respond` may also be "hang" (accept and never answer) or a function of the request.
 */
import { createServer, type IncomingMessage } from "node:http";

export interface Reply {
  status?: number;
  /** Serialised as JSON unless it is a string (sent verbatim, e.g. garbage). */
  body?: unknown;
  contentType?: string;
}

export type Respond = Reply | "hang" | ((req: IncomingMessage) => Reply | "hang");

export interface SeenRequest {
  method: string;
  path: string;
  authorization?: string;
}

export interface ProjectService {
  url: string;
  port: number;
  requests: SeenRequest[];
  close(): Promise<void>;
}

export async function startProjectService(respond: Respond): Promise<ProjectService> {
  const requests: SeenRequest[] = [];
  const server = createServer((req, res) => {
    const seen: SeenRequest = { method: req.method ?? "", path: req.url ?? "" };
    if (req.headers.authorization) seen.authorization = req.headers.authorization;
    requests.push(seen);
    const reply = typeof respond === "function" ? respond(req) : respond;
    if (reply === "hang") return; // keep the socket open, never answer
    const body = typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body ?? null);
    res.writeHead(reply.status ?? 200, { "content-type": reply.contentType ?? "application/json" });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections(); // hung requests would keep close() waiting forever
        server.close(() => resolve());
      }),
  };
}

/** The `{ team_members: [{ employee_id }] }` shape, the one the seed's project service returns. */
export function teamMembersBody(ids: string[]): { team_members: { employee_id: string; name: string }[] } {
  return { team_members: ids.map((id, i) => ({ employee_id: id, name: `Member ${i + 1}` })) };
}
