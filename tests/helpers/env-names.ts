/**
 * Which environment variables a program reads, from the declarations in lib/config/vars.ts (PROGRAMS),
 * so deployment manifests and env files are checked against the one list, not a regex scan of source.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { namesReadBy } from "../../lib/config/index.ts";
import { REPO } from "./run.ts";

export const stripComments = (src: string) => src.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`\\])\/\/.*$/gm, "$1");

/**
 * Environment variable names the entry reads. API key variables are named by data, not code: the
 * server also reads the key_env names of `accessFile`.
 */
export function envNamesRead(entry: string, accessFile = join(REPO, "config/access.yml")): Set<string> {
  const names = namesReadBy(entry);
  if (entry === "server.ts") {
    for (const m of readFileSync(accessFile, "utf8").matchAll(/^\s*key_env:\s*([A-Z0-9_]+)\s*$/gm)) names.add(m[1]!);
  }
  return names;
}
