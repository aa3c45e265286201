/**
 * Configuration from the environment, in one place. The variables are declared in vars.ts; this module
 * loads them from an injected env (tests pass a plain object; entry points pass processEnv()), parses
 * each with its schema and fails naming the variable, what is allowed and what was given. It is the only
 * reader of process.env in lib/.
 */
import { isAbsolute, relative, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import * as v from "valibot";
import { AppError } from "../core/errors.ts";
import { type Group, namesReadBy, PROGRAMS, VARS, type VarName, type VarSpec, type VarValue } from "./vars.ts";

export { namesReadBy, PROGRAMS, VARS, type Group, type VarName, type VarSpec, type VarValue };
export type Env = Record<string, string | undefined>;

/** The repository root (two levels above lib/config/): relative paths in the environment start here. */
export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The process's environment. Everything else in lib/ takes an env argument that defaults to this. */
export const processEnv = (): Env => process.env;

const SPECS = new Map<string, VarSpec>(VARS.map((s) => [s.name, s]));

function specOf(name: string): VarSpec {
  const s = SPECS.get(name);
  if (!s) throw new Error(`${name} is not declared in lib/config/vars.ts`);
  return s;
}

/** A relative path is taken from the repository root, not the current directory. */
export const fromRepo = (p: string) => (isAbsolute(p) ? p : resolve(REPO_ROOT, p));

/** Shown in messages: `config/backlog_policy.yml` rather than a long absolute path (outside the repository: as given). */
export function displayPath(file: string): string {
  const rel = relative(REPO_ROOT, file);
  return rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel : file;
}

/**
 * One variable's value: unset or "" → its default (or undefined), else parsed; paths resolved against
 * the repository root. Throws AppError("config") naming the variable.
 */
export function readVar<N extends VarName>(name: N, env: Env = processEnv()): VarValue<N> | undefined {
  const s = specOf(name);
  const raw = env[name];
  const given = raw === undefined || raw === "" ? s.default : raw;
  return given === undefined ? undefined : parseVar(name, given);
}

/**
 * A value parsed by a variable's rule though it came from elsewhere (a flag or an option), so a flag and
 * its variable accept the same inputs; errors name `label` (e.g. "--backend").
 */
export function parseVar<N extends VarName>(name: N, given: string, label: string = name): VarValue<N> {
  const s = specOf(name);
  const r = v.safeParse(s.schema, given);
  if (!r.success) {
    const shown = s.secret ? "" : r.issues[0].message.includes("got ") ? "" : `, got ${JSON.stringify(given)}`;
    throw new AppError("config", `${label} ${r.issues[0].message}${shown}.`);
  }
  return (s.path ? fromRepo(r.output as string) : r.output) as VarValue<N>;
}

/** Where a variable's value comes from, for messages and log lines: its name when set, else "default". */
export const varSource = (name: string, env: Env = processEnv()): string => (env[specOf(name).name] ? name : "default");

/**
 * A valibot object schema of the named variables (each optional with its declared default), for an
 * entry point that reports every problem at once in its own form (the setup job). Paths are not resolved.
 */
export function envSchemaOf(names: readonly string[]) {
  return v.object(Object.fromEntries(names.map((n) => [n, v.optional(specOf(n).schema, specOf(n).default)])));
}

/** Every declared variable of the given groups (default: all), each problem named; all problems at once. */
export function loadConfig(env: Env = processEnv(), groups?: Group[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const s of VARS) {
    if (groups && !groups.includes(s.group)) continue;
    try {
      out[s.name] = readVar(s.name, env);
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  if (problems.length) throw new AppError("config", problems.join(" "));
  return out;
}

/** README's environment table, rendered from the declarations (a test keeps the README equal to it). */
export function renderEnvTable(): string {
  const rows = VARS.map(
    (s) => `| \`${s.name}\` | ${s.default === undefined ? "—" : `\`${s.default}\``} | ${s.description} |`,
  );
  return ["| variable | default | meaning |", "|---|---|---|", ...rows].join("\n");
}
