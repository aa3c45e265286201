/**
 * Team members of a project from the Project Service: GET {PROJECT_SERVICE_URL}/projects/{id}/team-members.
 *
 * The setup job must finish even when that service is down (shared/seeds "Backlog Setup Job": "falls back
 * to a default list of employee IDs"), so every failure becomes a `reason` and never an exception.
 */
import { describeError } from "../core/errors.ts";

export type TeamLookup = { ok: true; members: string[] } | { ok: false; reason: string };

/** Keys under which a service may wrap the list, tried in this order. */
export const LIST_KEYS = ["team_members", "members", "data", "items"] as const;
/** Keys that hold a member's id, tried in this order. */
export const ID_KEYS = ["employee_id", "employeeId", "id"] as const;
const MAX_ID_LENGTH = 200;

/**
 * Accepts `[...]` or `{team_members|members|data|items: [...]}`; each element either an id (string or
 * integer) or an object with employee_id / employeeId / id. Blank, over-long and repeated ids are skipped
 * (a repeated id would give one person a double share of the round-robin).
 */
export function extractMemberIds(body: unknown): { ids: string[]; listFound: boolean; listLength: number } {
  let list: unknown = body;
  if (!Array.isArray(list) && list && typeof list === "object") {
    const obj = list as Record<string, unknown>;
    list = LIST_KEYS.map((k) => obj[k]).find((v) => Array.isArray(v));
  }
  if (!Array.isArray(list)) return { ids: [], listFound: false, listLength: 0 };
  const ids: string[] = [];
  for (const el of list) {
    const id = idOf(el);
    if (id !== null && !ids.includes(id)) ids.push(id);
  }
  return { ids, listFound: true, listLength: list.length };
}

function idOf(el: unknown): string | null {
  if (el && typeof el === "object" && !Array.isArray(el)) {
    const obj = el as Record<string, unknown>;
    for (const k of ID_KEYS) {
      const id = scalarId(obj[k]);
      if (id !== null) return id;
    }
    return null;
  }
  return scalarId(el);
}

function scalarId(v: unknown): string | null {
  if (typeof v === "number" && Number.isSafeInteger(v)) return String(v);
  if (typeof v !== "string") return null;
  const s = v.trim();
  return s && s.length <= MAX_ID_LENGTH ? s : null;
}

/** Splits userinfo off the base URL: fetch refuses URLs with credentials, and printed URLs must not show them. */
export function splitServiceUrl(raw: string): { url: URL; authorization?: string } {
  const url = new URL(raw);
  let authorization: string | undefined;
  if (url.username || url.password) {
    const user = decodeURIComponent(url.username);
    const pass = decodeURIComponent(url.password);
    authorization = "Basic " + btoa(String.fromCharCode(...new TextEncoder().encode(`${user}:${pass}`)));
    url.username = "";
    url.password = "";
  }
  return authorization ? { url, authorization } : { url };
}

/** The endpoint without credentials, safe to print. */
export function teamMembersUrl(baseUrl: string, projectId: string): URL {
  const { url } = splitServiceUrl(baseUrl);
  const base = url.href.endsWith("/") ? url.href : url.href + "/";
  return new URL(`projects/${encodeURIComponent(projectId)}/team-members`, base);
}

export async function fetchTeamMembers(opts: { baseUrl: string; projectId: string; timeoutMs: number }): Promise<TeamLookup> {
  const { authorization } = splitServiceUrl(opts.baseUrl);
  const url = teamMembersUrl(opts.baseUrl, opts.projectId);
  const headers: Record<string, string> = { accept: "application/json" };
  if (authorization) headers.authorization = authorization;
  // One deadline for connect, headers and body: a service that stalls mid-body must not hang the Job.
  const signal = AbortSignal.timeout(opts.timeoutMs);
  let status: number;
  let text: string;
  try {
    const res = await fetch(url, { headers, signal, redirect: "follow" });
    status = res.status;
    text = await res.text();
  } catch (err) {
    if (signal.aborted) return { ok: false, reason: `timed out after ${opts.timeoutMs}ms (PROJECT_SERVICE_TIMEOUT_MS)` };
    return { ok: false, reason: `request failed: ${describeError(err)}` };
  }
  if (status < 200 || status > 299) return { ok: false, reason: `HTTP ${status} from the project service` };
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { ok: false, reason: `response is not valid JSON (starts with ${JSON.stringify(text.slice(0, 40))})` };
  }
  const { ids, listFound, listLength } = extractMemberIds(body);
  if (!listFound) {
    return { ok: false, reason: `response holds no list of team members (expected an array or an object with one of ${LIST_KEYS.join(", ")})` };
  }
  if (listLength === 0) return { ok: false, reason: "the project has an empty team member list" };
  if (ids.length === 0) {
    return { ok: false, reason: `none of the ${listLength} team members has a usable id (${ID_KEYS.join(", ")} or a plain string)` };
  }
  return { ok: true, members: ids };
}
