/**
 * Issue 16, item 1: every command the README documents works as written right after `npm ci`, where bun
 * is node_modules/.bin/bun and not on PATH. Runs from a fresh copy of the working tree with a PATH that
 * has node and npm but no bun; commands that need a database or would serve forever run with --help or
 * --dry-run, the rest for real.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type Clone, freshClone, type ShResult } from "../helpers/fresh-clone.ts";
import { expectExit } from "../helpers/exit.ts";
import { REPO, runScript } from "../helpers/run.ts";

const README = readFileSync(join(REPO, "README.md"), "utf8");
const section = (md: string, heading: string) => {
  const start = md.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`README has no "## ${heading}" section`);
  const end = md.indexOf("\n## ", start + 1);
  return md.slice(start, end < 0 ? undefined : end);
};
const codeBlocks = (md: string) => [...md.matchAll(/```(?:bash|sh)\n([\s\S]*?)```/g)].map((m) => m[1]!);

/** The commands in the first column of the README's command table, as written. */
export function tableCommands(md = README): string[] {
  return section(md, "Commands")
    .split("\n")
    .filter((l) => l.startsWith("| `"))
    .flatMap((l) => [...l.split("|")[1]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!));
}
/** A documented command without its placeholders and optional parts: what this test knows how to run. */
const base = (cmd: string) => cmd.replace(/\s+(\[|<|--|').*$/, "").trim();

/** The demo's data, which the tool-call examples below read. */
const DEMO = { BACKLOG_JSONL_DIR: "ops/demo/backlog", BACKLOG_REPORTS_DIR: "ops/demo/reports" };

/** How each documented command runs here: shell lines, in order, each expected to exit 0. */
const HOW: Record<string, { run: string[]; usage?: string; env?: Record<string, string>; check?: (r: ShResult) => void }> = {
  "npm run demo": { run: ["npm run demo -- --no-serve"] },
  "npm start": { run: ["npm start -- --help"], usage: "Usage: npx bun run server.ts" },
  "npx bun run server.ts": { run: ["npx bun run server.ts --help"], usage: "Usage: npx bun run server.ts" },
  "npx bun run scripts/migrate.ts": { run: ["npx bun run scripts/migrate.ts --help"] },
  "npx bun run scripts/generate.ts": { run: ["npx bun run scripts/generate.ts --help", "npx bun run scripts/generate.ts --env prod --dry-run"], env: DEMO },
  "npx bun run scripts/cleanup.ts": { run: ["npx bun run scripts/cleanup.ts --help", "npx bun run scripts/cleanup.ts --retention-days 30 --dry-run"], env: DEMO },
  "npx bun run scripts/tool.ts": { run: ["npx bun run scripts/tool.ts --help", `npx bun run scripts/tool.ts backlog_tool dashboard --params-json '{"env":"prod"}'`], env: DEMO },
  "npx bun run scripts/risk.ts": { run: ["npx bun run scripts/risk.ts --help", "npx bun run scripts/risk.ts --from-file ops/samples/risk_signals.sample.json --dry-run"], env: DEMO },
  "npx bun run scripts/seed.ts": { run: ["npx bun run scripts/seed.ts --help", "npx bun run scripts/seed.ts --dry-run"] },
  "npx bun run bundle": { run: ["npx bun run bundle --help", "npx bun run bundle --only migrate --out-dir .dist-readme"], usage: "Usage: npx bun run scripts/bundle.ts" },
  "npx bun run check": { run: ["npx bun run check"] },
  "npx bun run ops/scripts/render_alerts.ts": { run: ["npx bun run ops/scripts/render_alerts.ts --help", "npx bun run ops/scripts/render_alerts.ts --stdout"] },
  "npm test": { run: ["npm test -- --help"], usage: "Usage: bun test" }, // the suite itself is what is running this file
  // a real nested run of two files: the deploy suite (deno) is left out, the other runs
  "npm run test:fast": { run: ["npm run test:fast -- tests/core/isoweek.test.ts tests/deploy/deno.test.ts"], check: (r) => expect([r.stderr.includes("tests/core/isoweek.test.ts:"), r.stderr.includes("tests/deploy/deno.test.ts:")]).toEqual([true, false]) },
  "npm run bench": { run: ["npm run bench -- --help"], usage: "Usage: npx bun run bench" },
  "npm run typecheck": { run: ["npm run typecheck"] },
};

/** Runs fn over items, at most `limit` at a time (each command is a separate bun start-up). */
async function pool<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

let clone: Clone;
beforeAll(() => {
  clone = freshClone("bb-readme-");
});
afterAll(() => clone?.remove());

const run = async (command: string, env?: Record<string, string>): Promise<ShResult> => {
  const r = await clone.sh(command, { env });
  expectExit(r, 0, `\`${command}\` in a fresh clone without bun on PATH`);
  return r;
};

describe("README commands from a fresh clone, no bun on PATH", () => {
  test("bun is not on the clone's PATH, node_modules/.bin/bun is there", async () => {
    const r = await clone.sh("command -v bun; echo exit=$?; test -x node_modules/.bin/bun && echo has-local-bun");
    expect(r.stdout).toBe("exit=1\nhas-local-bun\n");
  });

  test("the quick start's demo, then the command table, each as written", async () => {
    const table = tableCommands();
    expect(table.length).toBeGreaterThanOrEqual(10);
    const unknown = table.filter((c) => !HOW[base(c)]);
    expect(unknown).toEqual([]); // a new README command needs an entry in HOW
    // the demo first: the generate/cleanup/tool rows read its data
    const demo = await run("npm run demo -- --no-serve");
    expect(demo.stdout).toContain("backlog-bridge demo — SAMPLE data");
    const lines = [...new Set(table.map(base))].flatMap((b) => HOW[b]!.run.map((line) => ({ b, line, ...HOW[b]! })));
    await pool(lines, 4, async ({ b, line, env, usage, check }) => {
      const r = await run(line, env);
      check?.(r);
      if (line.endsWith("--help")) expect({ line, usage: r.stdout.includes(usage ?? `Usage: ${b}`) }).toEqual({ line, usage: true });
    });
    expect(existsSync(join(clone.dir, ".dist-readme", "migrate.js"))).toBe(true);
  }, 240_000);

  test("the runbook's tool-call examples in the README run on the demo's data, block as written", async () => {
    const block = codeBlocks(section(README, "Commands")).find((b) => b.includes("scripts/tool.ts"))!;
    const calls = block.split("\n").filter((l) => l.startsWith("npx bun run scripts/tool.ts"));
    expect(calls.length).toBeGreaterThanOrEqual(3);
    expect(block).toContain("export BACKLOG_JSONL_DIR=ops/demo/backlog"); // the demo's data, not a real store
    if (!existsSync(join(clone.dir, "ops/demo/reports"))) await run("npm run demo -- --no-serve");
    const r = await run(`set -e\n${block}`);
    expect(r.stdout.match(/^\{$/gm)?.length).toBe(calls.length); // one JSON result per call
  }, 120_000);

  test("the From-the-runbook table covers runbook sections 1–9 and its tool calls run as written", async () => {
    const rows = section(README, "From the runbook").split("\n").filter((l) => /^\| \d/.test(l));
    expect([...new Set(rows.map((l) => l.split("|")[1]!.trim().split(".")[0]))]).toEqual(["1", "2", "3", "4", "5", "6", "7", "8", "9"]);
    const symptoms = section(README, "From the runbook").split("\n").filter((l) => /\((7|9)\) \|/.test(l));
    expect(symptoms.length).toBe(8); // the runbook's 4 troubleshooting entries (7) and 4 table rows (9)
    const calls = rows.flatMap((l) => [...l.matchAll(/`(npx bun run scripts\/tool\.ts --call-json '[^']+')`/g)].map((m) => m[1]!));
    expect(calls.length).toBe(3);
    if (!existsSync(join(clone.dir, "ops/demo/reports"))) await run("npm run demo -- --no-serve");
    for (const call of calls) expect(JSON.parse((await run(call, DEMO)).stdout)).toBeObject();
    // the table's other local commands without placeholders (generate, cleanup): as written, one JSON result each
    const scripts = [...new Set(rows.flatMap((l) => [...l.matchAll(/`(npx bun run scripts\/(?:generate|cleanup)\.ts[^`…]*)`/g)].map((m) => m[1]!.trim())))];
    expect(scripts.length).toBeGreaterThanOrEqual(3);
    for (const cmd of scripts) expect({ cmd, result: JSON.parse((await run(cmd, DEMO)).stdout) }).toEqual({ cmd, result: expect.any(Object) });
  }, 120_000);

  // the launcher is proven above for each table row; here the text: every usage line names the one form
  test("every script's --help starts with the command that runs it after npm ci", async () => {
    const scripts = [
      ...readdirSync(join(REPO, "scripts")).filter((f) => f.endsWith(".ts")).map((f) => `scripts/${f}`),
      ...readdirSync(join(REPO, "ops/scripts")).filter((f) => f.endsWith(".ts")).map((f) => `ops/scripts/${f}`),
      "server.ts",
    ];
    await pool(scripts, 4, async (s) => {
      const r = await runScript(s, ["--help"]);
      expectExit(r, 0, `${s} --help`);
      const want = s === "scripts/demo.ts" ? "Usage: npm run demo [-- OPTIONS]   (or: npx bun run scripts/demo.ts" : `Usage: npx bun run ${s}`;
      expect({ script: s, usage: r.stdout.slice(0, want.length) }).toEqual({ script: s, usage: want });
    });
  }, 120_000);
});

describe("documented commands use the one form", () => {
  const docs = ["README.md", "bench/README.md", ...readdirSync(join(REPO, "docs")).map((f) => `docs/${f}`)].filter((f) => f.endsWith(".md"));

  test("no README or docs/ command needs a global bun (npx bun …, npm …; container lines excepted)", () => {
    const bare: string[] = [];
    for (const f of docs) {
      const md = readFileSync(join(REPO, f), "utf8");
      // what a reader types: code-block lines and inline code spans; `bun /scripts/x.js` (the oven/bun
      // image) and bench labels such as `bun -e 'void 0'` are not `bun run`/`bun test`
      const typed = [...codeBlocks(md).flatMap((b) => b.split("\n")), ...[...md.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!)];
      for (const l of typed) if (/^(\S+=\S+\s+)*bun (run|test)\b/.test(l.trim())) bare.push(`${f}: ${l.trim()}`);
    }
    expect(bare).toEqual([]);
  });

  test("every `npx bun run <file>` in README and docs/ names a file that exists", () => {
    const missing: string[] = [];
    for (const f of docs) {
      for (const m of readFileSync(join(REPO, f), "utf8").matchAll(/npx bun run ([a-z0-9_./-]+\.ts)\b/g)) {
        if (!existsSync(join(REPO, m[1]!))) missing.push(`${f}: ${m[1]}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
