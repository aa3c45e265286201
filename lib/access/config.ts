/**
 * Loads config/access.yml (agents, the env var holding each one's API key, entitlements) and
 * authenticates API keys in constant time. Keys are read from the environment at load time and kept
 * only as SHA-256 digests; they are never logged.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as v from "valibot";
import { parseEntitlement } from "./entitlements.ts";
import { AppError, parseOrThrow } from "../core/errors.ts";
import { parseYamlText } from "../core/yaml-text.ts";
import { processEnv, readVar } from "../config/index.ts";

export const DEFAULT_ACCESS_FILE = fileURLToPath(new URL("../../config/access.yml", import.meta.url));

const Entitlement = v.pipe(
  v.string(),
  v.check((e) => parseEntitlement(e) !== null, "must look like tools.<domain>.<read|write|admin>, e.g. tools.backlog.read"),
);

const AccessSchema = v.strictObject({
  agents: v.optional(
    v.record(
      v.pipe(v.string(), v.regex(/^[a-z][a-z0-9_-]*$/, "agent names are lowercase words")),
      v.strictObject({
        key_env: v.pipe(v.string(), v.regex(/^[A-Z][A-Z0-9_]*$/, "must be an environment variable name like SCHEDULER_API_KEY")),
        entitlements: v.array(Entitlement),
      }),
    ),
    {},
  ),
  anonymous: v.optional(
    v.strictObject({
      entitlements: v.array(
        v.pipe(Entitlement, v.check((e) => parseEntitlement(e)?.level === "read", "anonymous access may only hold read entitlements")),
      ),
    }),
    { entitlements: [] },
  ),
  /**
   * People a trusted reverse proxy signs in (BACKLOG_PROXY_IDENTITY_HEADER, e.g. oauth2-proxy's
   * X-Forwarded-Email), each mapped to the agent whose entitlements they get. Used by the browser UI only.
   */
  people: v.optional(
    v.record(
      v.pipe(v.string(), v.trim(), v.toLowerCase(), v.minLength(3, "must be the identity the proxy sends, e.g. alice@example.com"), v.maxLength(254, "must be at most 254 characters")),
      v.pipe(v.string(), v.regex(/^[a-z][a-z0-9_-]*$/, "must be the name of an agent above")),
    ),
    {},
  ),
});

export interface Identity {
  agent: string;
  entitlements: readonly string[];
  authenticated: boolean;
}

export interface AccessControl {
  /** Agents that can log in (their key env var is set). */
  agents: { name: string; keyEnv: string; entitlements: string[]; enabled: boolean }[];
  anonymous: Identity;
  /** The identity owning `key`, or null. Every enabled agent is compared, so timing reveals nothing. */
  authenticate(key: string): Identity | null;
  /**
   * A person named by a trusted proxy (`people:`), with the mapped agent's entitlements and the person
   * as the actor of their writes; null when unmapped.
   */
  person?(id: string): Identity | null;
}

const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();

export function buildAccess(raw: unknown, env: Record<string, string | undefined> = processEnv(), source = "access config"): AccessControl {
  const cfg = parseOrThrow(AccessSchema, raw ?? {}, `${source} is invalid`);
  // One key variable per agent: shared, the key would log in as whichever agent comes first.
  const byKeyEnv = new Map<string, string>();
  for (const [name, a] of Object.entries(cfg.agents)) {
    const other = byKeyEnv.get(a.key_env);
    if (other) throw new AppError("config", `${source}: agents.${name}.key_env: ${a.key_env} is already the key variable of agent ${other}; give each agent its own variable.`);
    byKeyEnv.set(a.key_env, name);
  }
  for (const [id, agent] of Object.entries(cfg.people)) {
    if (!Object.hasOwn(cfg.agents, agent)) {
      throw new AppError("config", `${source}: people.${id}: ${agent} is not an agent of this file (agents: ${Object.keys(cfg.agents).join(", ") || "none"}).`);
    }
  }
  const agents = Object.entries(cfg.agents).map(([name, a]) => {
    const key = env[a.key_env];
    return { name, keyEnv: a.key_env, entitlements: a.entitlements, enabled: Boolean(key), hash: key ? digest(key) : null };
  });
  // One key per agent, too: the same value in two variables would log in as whichever agent comes first
  // (a reader key equal to the admin key would be an admin key). Named by variable, never by value.
  const byKey = new Map<string, (typeof agents)[number]>();
  for (const a of agents) {
    if (!a.hash) continue;
    const other = byKey.get(a.hash.toString("hex"));
    if (other) throw new AppError("config", `${source}: agents.${a.name}.key_env: ${a.keyEnv} holds the same key as ${other.keyEnv} (agent ${other.name}); give each agent its own key.`);
    byKey.set(a.hash.toString("hex"), a);
  }
  return {
    agents: agents.map(({ hash: _h, ...rest }) => rest),
    anonymous: { agent: "anonymous", entitlements: cfg.anonymous.entitlements, authenticated: false },
    authenticate(key: string) {
      const h = digest(key);
      let found: (typeof agents)[number] | null = null;
      for (const a of agents) {
        if (a.hash && timingSafeEqual(a.hash, h) && !found) found = a;
      }
      return found ? { agent: found.name, entitlements: found.entitlements, authenticated: true } : null;
    },
    person(id: string) {
      const key = id.trim().toLowerCase();
      const agent = Object.hasOwn(cfg.people, key) ? cfg.agents[cfg.people[key]!] : undefined;
      return agent ? { agent: key, entitlements: agent.entitlements, authenticated: true } : null;
    },
  };
}

/** Which file: explicit path → BACKLOG_ACCESS_FILE of `env` (relative: from the repository root) → config/access.yml. */
export function loadAccess(file?: string, env = processEnv()): AccessControl {
  const path = file ?? readVar("BACKLOG_ACCESS_FILE", env) ?? DEFAULT_ACCESS_FILE;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new AppError("config", `Cannot read the access file ${path}: ${(err as Error).message}. Set BACKLOG_ACCESS_FILE or restore config/access.yml.`, { cause: err });
  }
  return buildAccess(parseYamlText(text, path).value, env, path);
}
