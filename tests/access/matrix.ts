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
  /** The entitlement; null = any valid key (what a caller may run there depends on the body). */
  needs: string | null;
  /** What a caller with the right gets: the call itself (✓), or 405 for another method on the path. */
  ok?: "405";
  /** A probe: no key needed, a key is ignored, so every column reads `ok`. */
  open?: boolean;
  request: { method: string; path: string; body?: unknown };
}

/** Another method on each known path: the path's own 401/403 first, then 405 with Allow (lib/http/methods.ts). */
const OTHER_METHODS: Row[] = [
  { name: "`OPTIONS /healthz`", needs: null, open: true, ok: "405", request: { method: "OPTIONS", path: "/healthz" } },
  { name: "`POST /readyz`", needs: null, open: true, ok: "405", request: { method: "POST", path: "/readyz" } },
  { name: "`PUT /v1/backlog/dashboard`", needs: "tools.backlog.read", ok: "405", request: { method: "PUT", path: "/v1/backlog/dashboard?env=prod" } },
  { name: "`POST /dashboard`", needs: "tools.backlog.read", ok: "405", request: { method: "POST", path: "/dashboard?env=prod" } },
  { name: "`PATCH /v1/backlog/items`", needs: "tools.backlog.read", ok: "405", request: { method: "PATCH", path: "/v1/backlog/items" } },
  { name: "`DELETE /v1/backlog/items/:id`", needs: "tools.backlog.read", ok: "405", request: { method: "DELETE", path: "/v1/backlog/items/bl_nope" } },
  { name: "`DELETE /v1/scheduler/jobs`", needs: "tools.backlog.read", ok: "405", request: { method: "DELETE", path: "/v1/scheduler/jobs" } },
  { name: "`GET /v1/scheduler/jobs/:job/run`", needs: null, ok: "405", request: { method: "GET", path: "/v1/scheduler/jobs/daily_backlog_cleanup/run" } },
  { name: "`POST /metrics`", needs: "tools.backlog.read", ok: "405", request: { method: "POST", path: "/metrics" } },
  { name: "`GET /v1/backlog/generate/weekly`", needs: "tools.backlog.admin", ok: "405", request: { method: "GET", path: "/v1/backlog/generate/weekly?env=prod" } },
  { name: "`GET /v1/tools/execute`", needs: null, ok: "405", request: { method: "GET", path: "/v1/tools/execute" } },
  { name: "`PUT /v1/alerts/alertmanager`", needs: "tools.alerts.write", ok: "405", request: { method: "PUT", path: "/v1/alerts/alertmanager" } },
];

/** Every tool action (from the registry) and every keyed HTTP endpoint, with the entitlement it needs. */
export async function rows(): Promise<Row[]> {
  const out: Row[] = [
    { name: "`GET /v1/backlog/dashboard`", needs: "tools.backlog.read", request: { method: "GET", path: "/v1/backlog/dashboard?env=prod" } },
    { name: "`GET /dashboard`", needs: "tools.backlog.read", request: { method: "GET", path: "/dashboard?env=prod" } },
    { name: "`GET /v1/backlog/items`", needs: "tools.backlog.read", request: { method: "GET", path: "/v1/backlog/items?env=prod" } },
    { name: "`GET /v1/backlog/items/:id`", needs: "tools.backlog.read", request: { method: "GET", path: "/v1/backlog/items/bl_nope" } },
    { name: "`GET /v1/scheduler/jobs`", needs: "tools.backlog.read", request: { method: "GET", path: "/v1/scheduler/jobs" } },
    { name: "`GET /metrics`", needs: "tools.backlog.read", request: { method: "GET", path: "/metrics" } },
    // Run now, by job name: the job's run-by-hand right (its entitlement's domain at admin); a dry run writes nothing.
    { name: "`POST /v1/scheduler/jobs/daily_backlog_cleanup/run`", needs: "tools.backlog.admin", request: { method: "POST", path: "/v1/scheduler/jobs/daily_backlog_cleanup/run?dry_run=true" } },
    { name: "`POST /v1/scheduler/jobs/hourly_risk_snapshot/run`", needs: "tools.risk.admin", request: { method: "POST", path: "/v1/scheduler/jobs/hourly_risk_snapshot/run?dry_run=true" } },
    { name: "`POST /v1/backlog/generate/weekly`", needs: "tools.backlog.admin", request: { method: "POST", path: "/v1/backlog/generate/weekly?env=prod&dry_run=true" } },
    // An empty payload: allowed callers get its 400, so nothing is written.
    { name: "`POST /v1/alerts/alertmanager`", needs: "tools.alerts.write", request: { method: "POST", path: "/v1/alerts/alertmanager?dry_run=true", body: {} } },
    ...OTHER_METHODS,
  ];
  for (const [toolName, tool] of await loadToolRegistry({ policy: loadPolicy() })) {
    for (const [action, spec] of Object.entries(tool.actions)) {
      // dry_run (or, for a read, an unknown parameter) keeps every allowed call from writing anything
      out.push({ name: `\`${toolName}.${action}\``, needs: spec.entitlement, request: { method: "POST", path: "/v1/tools/execute", body: { tool: toolName, action, dry_run: true } } });
    }
  }
  return out;
}

export const allowed = (agent: string, needs: string | null) => needs === null || hasEntitlement(shipped.agents[agent]!.entitlements, needs);
export const anonymousAllowed = (needs: string | null) =>
  needs === null ? shipped.anonymous.entitlements.length > 0 : hasEntitlement(shipped.anonymous.entitlements, needs);

/** The table in docs/http.md: ✓ = allowed, 405 = another method, 403 = a valid key without the entitlement, 401 = no or a wrong key. */
export async function renderMatrix(): Promise<string> {
  const head = `| call | needs | ${AGENTS.map((a) => `\`${a}\``).join(" | ")} | no key | wrong key |`;
  const sep = `|${"---|".repeat(AGENTS.length + 4)}`;
  const body = (await rows()).map((r) => {
    const ok = r.ok ?? "✓";
    const needs = r.open ? "—" : r.needs === null ? "any valid key" : `\`${r.needs}\``;
    const cells = r.open
      ? [...AGENTS.map(() => ok), ok, ok]
      : [...AGENTS.map((a) => (allowed(a, r.needs) ? ok : "403")), anonymousAllowed(r.needs) ? ok : "401", "401"];
    return `| ${r.name} | ${needs} | ${cells.join(" | ")} |`;
  });
  return [head, sep, ...body].join("\n");
}

