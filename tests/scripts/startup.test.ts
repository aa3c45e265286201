/**
 * Script start-up without timing (issue 17 item 4; the times are in bench/startup.ts): what a module
 * loads before its first line runs is its static import closure, read from Bun's bundler metafile
 * (`import` statements are followed, `import()` is not). `--help` runs no `import()` (lib/core/cli.ts answers
 * it before main), so the closure of a script is all that its --help loads.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { REPO } from "../helpers/run.ts";

/** The packages that cost start-up: YAML parser, validation, Postgres driver, lock library, web stack. */
const HEAVY = ["yaml", "valibot", "postgres", "proper-lockfile", "hono", "prom-client", "croner"];

/** Every module each entry loads before its first line runs, as paths relative to the repo. */
async function staticClosures(entries: string[]): Promise<Map<string, string[]>> {
  const built = await Bun.build({ entrypoints: entries.map((e) => join(REPO, e)), target: "bun", metafile: true, root: REPO });
  if (!built.success || !built.metafile) throw new Error(`bun build failed: ${built.logs.join("\n")}`);
  const inputs = built.metafile.inputs;
  // Metafile paths are relative to the working directory; key them by their absolute form.
  const abs = (p: string) => join(process.cwd(), p);
  const graph = new Map(Object.entries(inputs).map(([path, input]) => [abs(path), input.imports.filter((i) => i.kind !== "dynamic-import" && !i.external).map((i) => abs(i.path))]));
  const out = new Map<string, string[]>();
  for (const entry of entries) {
    const seen = new Set<string>([join(REPO, entry)]);
    for (const m of seen) for (const next of graph.get(m) ?? []) seen.add(next);
    out.set(entry, [...seen].map((p) => (p.includes("/node_modules/") ? p.slice(p.lastIndexOf("/node_modules/") + 1) : p.slice(REPO.length))));
  }
  return out;
}

const packagesIn = (closure: string[]) => [...new Set(closure.filter((p) => p.startsWith("node_modules/")).map((p) => p.split("/")[1]!))].sort();

/** Every entry script: the scripts/ and ops/scripts/ folders, as bundle.ts finds them. */
const SCRIPTS = ["scripts", "ops/scripts"].flatMap((dir) => readdirSync(join(REPO, dir)).filter((f) => f.endsWith(".ts")).map((f) => `${dir}/${f}`));

/** Modules a script may load besides lib/core/cli.ts and app-error.ts: a spec shared with lib (no imports of its own). */
const OWN_SPEC: Record<string, string[]> = { "scripts/seed.ts": ["lib/seed/cli-spec.ts"] };

describe("script start-up: what loads before --help is answered", () => {
  test("every script loads lib/core/cli.ts and its own file, none of the heavy packages", async () => {
    expect(SCRIPTS).toEqual(expect.arrayContaining(["scripts/cleanup.ts", "scripts/seed.ts", "scripts/demo.ts", "scripts/bundle.ts", "ops/scripts/run_governance_job.ts"]));
    const closures = await staticClosures(SCRIPTS);
    for (const script of SCRIPTS) {
      const closure = closures.get(script)!;
      expect({ script, heavy: packagesIn(closure).filter((p) => HEAVY.includes(p)) }).toEqual({ script, heavy: [] });
      expect({ script, modules: closure.filter((p) => !p.startsWith("node_modules/")).sort() }).toEqual({ script, modules: ["lib/core/app-error.ts", "lib/core/cli.ts", script, ...(OWN_SPEC[script] ?? [])].sort() });
    }
  });

  test("choosing a store loads no backend, the tool list loads no tool, a lock loads no lock library until used", async () => {
    const entries = ["lib/store/index.ts", "lib/tools/index.ts", "lib/fs/file-lock.ts"];
    const closures = await staticClosures(entries);
    expect(packagesIn(closures.get("lib/store/index.ts")!)).not.toContain("postgres");
    expect(closures.get("lib/store/index.ts")!.filter((p) => /^lib\/store\/(jsonl\/store|postgres\/store|auto\/store|memory)\.ts$/.test(p))).toEqual([]);
    const toolModules = readdirSync(join(REPO, "lib/tools")).filter((f) => !["index.ts", "dispatch.ts", "types.ts", "context.ts", "local.ts"].includes(f));
    expect(closures.get("lib/tools/index.ts")!.filter((p) => toolModules.some((f) => p === `lib/tools/${f}`))).toEqual([]);
    expect(packagesIn(closures.get("lib/fs/file-lock.ts")!)).not.toContain("proper-lockfile");
  });

  test("backlog_tool loads generation, the catalog and the notifier only in the actions that use them (cleanup does not)", async () => {
    const closure = (await staticClosures(["lib/tools/backlog.ts"])).get("lib/tools/backlog.ts")!;
    expect(closure.filter((p) => ["lib/tools/backlog-generate.ts", "lib/catalog/backstage.ts", "lib/notify/dispatch.ts"].includes(p))).toEqual([]);
  });
});
