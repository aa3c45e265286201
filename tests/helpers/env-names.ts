/**
 * Which environment variables a program reads, derived from its source (the entry file and every
 * repo file it imports), so deployment manifests and env files are checked against the code instead
 * of a hand-kept list.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { REPO } from "./run.ts";

/** The entry and every repo .ts/.tsx file reachable from it through relative imports. */
export function importClosure(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const src = readFileSync(file, "utf8");
    for (const m of src.matchAll(/(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)) {
      const target = resolve(dirname(file), m[1]!);
      if (!existsSync(target)) throw new Error(`${file} imports ${m[1]}, which does not exist`);
      if (/\.tsx?$/.test(target)) visit(target);
    }
  };
  visit(resolve(REPO, entry));
  return [...seen].sort();
}

export const stripComments = (src: string) => src.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`\\])\/\/.*$/gm, "$1");
const NAME = "[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*";
/** env.X / e.X (a validated env object), "X_Y" literals (names looked up as env[name]), X_Y: v.… (env schemas). */
const READS = [
  new RegExp(`\\b(?:env|e)\\??\\.(${NAME})\\b`, "g"),
  new RegExp(`(?<!name:\\s*)["'](${NAME}_[A-Z0-9]+)["']`, "g"), // not { name: "X" }: that sets X for a child
  new RegExp(`^\\s*(${NAME}_[A-Z0-9]+):\\s*v\\.`, "gm"),
];

/**
 * Environment variable names the entry's code reads. API key variables are named by data, not code:
 * when the program loads the access config, the key_env names of `accessFile` count too.
 */
export function envNamesRead(entry: string, accessFile = join(REPO, "config/access.yml")): Set<string> {
  const names = new Set<string>();
  const files = importClosure(entry);
  for (const f of files) {
    const code = stripComments(readFileSync(f, "utf8"));
    for (const re of READS) for (const m of code.matchAll(re)) names.add(m[1]!);
  }
  if (files.some((f) => f.endsWith("/lib/access-config.ts"))) {
    for (const m of readFileSync(accessFile, "utf8").matchAll(/^\s*key_env:\s*([A-Z0-9_]+)\s*$/gm)) names.add(m[1]!);
  }
  return names;
}
