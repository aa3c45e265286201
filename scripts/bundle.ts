/**
 * Bundles every entry script into one self-contained file, so a Kubernetes Job can run it from a
 * ConfigMap on a stock oven/bun image without node_modules:
 *
 *   npx bun run scripts/bundle.ts [--only seed,migrate] [--out-dir dist] [--max-bytes 1048576] [--no-minify]
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { basename, join, relative, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { AppError } from "../lib/core/app-error.ts";
import { type CliValues, type ParsedCli, printJson, runCli } from "../lib/core/cli.ts";

const REPO = fileURLToPath(new URL("../", import.meta.url));
/** A ConfigMap holds at most 1 MiB in total (etcd's object size limit). */
const CONFIGMAP_LIMIT = 1024 * 1024;
const ENTRY_DIRS = ["scripts", "ops/scripts"];
/** Single entry files outside those folders (the server runs from a ConfigMap-mounted bundle on Kubernetes). */
const ENTRY_FILES = ["server.ts"];

const spec = {
  name: "bundle",
  usage: `Usage: npx bun run scripts/bundle.ts [--only NAME,...] [--out-dir DIR] [--max-bytes N] [--no-minify]

Builds one self-contained file per entry script (scripts/*.ts except bundle.ts, ops/scripts/*.ts and server.ts
when that folder exists) into DIR/<name>.js with \`bun build --target=bun --minify\`, checks each is small
enough for a ConfigMap and prints a JSON summary. Files are built in a temp folder and moved into DIR
only when every build succeeded and fits, so a failed run leaves DIR as it was.

Options:
  --only NAMES    comma-separated entry names (e.g. seed,migrate); default: every entry.
  --out-dir DIR   output folder (default: dist/ of the repo).
  --max-bytes N   each file must be under N bytes (default ${CONFIGMAP_LIMIT} = 1 MiB, the ConfigMap limit).
  --no-minify     keep the output readable.
  -h, --help      this text.

Runs \`bun build\` with this process's bun when run by bun, else node_modules/.bin/bun, else \`bun\` from PATH.
Note: a bundled migrate.js cannot find migrations/ next to itself; pass --dir (the Job mounts
them from a ConfigMap at /migrations).
Exit: 0 when every file was built and fits, 1 otherwise (naming the file, its size and the limit).`,
  flags: {
    only: { type: "string" },
    "out-dir": { type: "string" },
    "max-bytes": { type: "string" },
    "no-minify": { type: "boolean" },
  },
} as const;

interface BundleConfig {
  only: string[] | null;
  outDir: string;
  maxBytes: number;
  minify: boolean;
  bun: string;
}

/** Flags → config, validated (valibot, imported here so that --help never loads it). */
async function loadConfig(values: CliValues<typeof spec.flags>): Promise<BundleConfig> {
  const [v, { parseOrThrow }] = await Promise.all([import("valibot"), import("../lib/core/errors.ts")]);
  const FlagSchema = v.object({
    only: v.optional(
      v.pipe(
        v.string(),
        v.transform((s) => s.split(",").map((x) => x.trim()).filter(Boolean)),
        v.minLength(1, () => "--only: must name at least one entry, e.g. --only seed,migrate"),
      ),
    ),
    "max-bytes": v.optional(
      v.pipe(
        v.string(),
        v.regex(/^[1-9]\d*$/, (i) => `--max-bytes: must be a positive whole number of bytes, got ${JSON.stringify(i.input)}`),
        v.transform(Number),
      ),
    ),
  });
  const f = parseOrThrow(FlagSchema, { only: values.only, "max-bytes": values["max-bytes"] }, "bundle: invalid options");
  const outDir = values["out-dir"];
  return {
    only: f.only ?? null,
    outDir: outDir === undefined ? join(REPO, "dist") : resolve(process.cwd(), outDir),
    maxBytes: f["max-bytes"] ?? CONFIGMAP_LIMIT,
    minify: !values["no-minify"],
    // Under Deno: the repository's bun from npm ci (not on PATH), else a global one.
    bun: process.versions.bun ? process.execPath : existsSync(join(REPO, "node_modules/.bin/bun")) ? join(REPO, "node_modules/.bin/bun") : "bun",
  };
}

interface Entry {
  name: string;
  /** Relative to the repo. */
  path: string;
}

function findEntries(repo = REPO): Entry[] {
  const entries: Entry[] = [];
  for (const dir of ENTRY_DIRS) {
    const abs = join(repo, dir);
    if (!existsSync(abs)) continue;
    for (const file of readdirSync(abs).sort()) {
      if (!file.endsWith(".ts") || file.endsWith(".d.ts") || (dir === "scripts" && file === "bundle.ts")) continue;
      const name = basename(file, ".ts");
      const clash = entries.find((e) => e.name === name);
      if (clash) {
        throw new AppError("config", `${clash.path} and ${dir}/${file} would both become ${name}.js; rename one of them.`);
      }
      entries.push({ name, path: `${dir}/${file}` });
    }
  }
  for (const file of ENTRY_FILES) if (existsSync(join(repo, file))) entries.push({ name: basename(file, ".ts"), path: file });
  return entries;
}

function select(entries: Entry[], only: string[] | null): Entry[] {
  if (!only) return entries;
  const unknown = only.filter((n) => !entries.some((e) => e.name === n));
  if (unknown.length) {
    throw new AppError("invalid_input", `--only: no entry named ${unknown.join(", ")}; entries are: ${entries.map((e) => e.name).join(", ")}.`);
  }
  return entries.filter((e) => only.includes(e.name));
}

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(2)} MiB`;
const shown = (p: string) => (p.startsWith(REPO) ? relative(REPO, p) : p);

async function main({ values }: ParsedCli<typeof spec.flags>): Promise<number> {
  const cfg = await loadConfig(values);
  const { log, logToStderr } = await import("../lib/core/log.ts");
  logToStderr(); // stdout carries the JSON summary
  const entries = select(findEntries(), cfg.only);
  mkdirSync(cfg.outDir, { recursive: true });
  const staging = mkdtempSync(join(cfg.outDir, ".bundle-"));
  try {
    const files: { entry: string; output: string; bytes: number }[] = [];
    const tooBig: string[] = [];
    for (const e of entries) {
      const out = join(staging, `${e.name}.js`);
      const args = ["build", "--target=bun", ...(cfg.minify ? ["--minify"] : []), "--outfile", out, e.path];
      const res = spawnSync(cfg.bun, args, { cwd: REPO, encoding: "utf8", timeout: 120_000 });
      if (res.error) {
        throw new AppError("unavailable", `Cannot run ${cfg.bun} build for ${e.path}: ${res.error.message}. Is bun installed and on PATH?`, {
          cause: res.error,
        });
      }
      if (res.status !== 0) {
        const output = (res.stderr || res.stdout || "").trim().split("\n").slice(-15).join("\n");
        throw new AppError("invalid_input", `bun build failed for ${e.path} (exit ${res.status}):\n${output}`);
      }
      const bytes = statSync(out).size;
      const final = join(cfg.outDir, `${e.name}.js`);
      // Under, not at: the ConfigMap's own metadata counts against the same 1 MiB.
      if (bytes >= cfg.maxBytes) tooBig.push(`${shown(final)} is ${bytes} bytes (${mib(bytes)}), over the limit: must be under ${cfg.maxBytes} bytes`);
      files.push({ entry: e.path, output: shown(final), bytes });
      log.info("bundle: built", { entry: e.path, bytes });
    }
    if (tooBig.length) {
      throw new AppError(
        "invalid_input",
        `Bundle too large for a ConfigMap:\n  ${tooBig.join("\n  ")}\nNothing was written to ${shown(cfg.outDir)}. ` +
          `Trim the script's imports (or drop --no-minify).`,
      );
    }
    for (const f of files) renameSync(join(staging, basename(f.output)), join(cfg.outDir, basename(f.output)));
    printJson({
      out_dir: shown(cfg.outDir),
      minify: cfg.minify,
      limit_bytes: cfg.maxBytes,
      total_bytes: files.reduce((n, f) => n + f.bytes, 0),
      files,
    });
    return 0;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

runCli(spec, main);
