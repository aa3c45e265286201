/** The access matrix of docs/http.md, rendered from the tool registry and the shipped config/access.yml. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import YAML from "yaml";
import { hasEntitlement } from "../../lib/access/entitlements.ts";
import { loadPolicy } from "../../lib/generation/policy.ts";
import { loadToolRegistry } from "../../lib/tools/index.ts";
import { REPO } from "../helpers/run.ts";

export const shipped = YAML.parse(readFileSync(join(REPO, "config/access.yml"), "utf8")) as {
  agents: Record<string, { key_env: string; entitlements: string[] }>;
  anonymous: { entitlements: string[] };
};
export const AGENTS = Object.keys(shipped.agents);
export const KEY = (agent: string) => `matrix-${agent}-key-0123456789`;

interface Row {
  name: string;
  needs: string;
  request: { method: "GET" | "POST"; path: string; body?: unknown };
}

/** Every tool action (from the registry) and every keyed HTTP endpoint, with the entitlement it needs. */
export async function rows(): Promise<Row[]> {
  const out: Row[] = [
    { name: "`GET /v1/backlog/dashboard`", needs: "tools.backlog.read", request: { method: "GET", path: "/v1/backlog/dashboard?env=prod" } },
    { name: "`GET /dashboard`", needs: "tools.backlog.read", request: { method: "GET", path: "/dashboard?env=prod" } },
    { name: "`GET /v1/backlog/items`", needs: "tools.backlog.read", request: { method: "GET", path: "/v1/backlog/items?env=prod" } },
    { name: "`GET /v1/backlog/items/:id`", needs: "tools.backlog.read", request: { method: "GET", path: "/v1/backlog/items/bl_nope" } },
    { name: "`GET /v1/scheduler/jobs`", needs: "tools.backlog.read", request: { method: "GET", path: "/v1/scheduler/jobs" } },
    { name: "`GET /metrics`", needs: "tools.backlog.read", request: { method: "GET", path: "/metrics" } },
    { name: "`POST /v1/backlog/generate/weekly`", needs: "tools.backlog.admin", request: { method: "POST", path: "/v1/backlog/generate/weekly?env=prod&dry_run=true" } },
  ];
  for (const [toolName, tool] of await loadToolRegistry({ policy: loadPolicy() })) {
    for (const [action, spec] of Object.entries(tool.actions)) {
      // dry_run (or, for a read, an unknown parameter) keeps every allowed call from writing anything
      out.push({ name: `\`${toolName}.${action}\``, needs: spec.entitlement, request: { method: "POST", path: "/v1/tools/execute", body: { tool: toolName, action, dry_run: true } } });
    }
  }
  return out;
}

export const allowed = (agent: string, needs: string) => hasEntitlement(shipped.agents[agent]!.entitlements, needs);
export const anonymousAllowed = (needs: string) => hasEntitlement(shipped.anonymous.entitlements, needs);

/** The table in docs/http.md: ✓ = allowed, 403 = a valid key without the entitlement, 401 = no or a wrong key. */
export async function renderMatrix(): Promise<string> {
  const head = `| call | needs | ${AGENTS.map((a) => `\`${a}\``).join(" | ")} | no key | wrong key |`;
  const sep = `|${"---|".repeat(AGENTS.length + 4)}`;
  const body = (await rows()).map(
    (r) => `| ${r.name} | \`${r.needs}\` | ${AGENTS.map((a) => (allowed(a, r.needs) ? "✓" : "403")).join(" | ")} | ${anonymousAllowed(r.needs) ? "✓" : "401"} | 401 |`,
  );
  return [head, sep, ...body].join("\n");
}

