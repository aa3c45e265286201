/**
 * Reads owners from a Backstage service catalog (ownership.catalog in the backlog policy): every
 * `catalog-info.yaml` named by `files` or matched by `glob` (relative to the repository root), each
 * possibly holding several YAML documents. `kind: Component` documents map `metadata.name` (the service)
 * to `spec.owner`; other kinds are skipped. An entity ref owner (`group:default/team-edge`) becomes its
 * name (`team-edge`), as owners are written everywhere else in the backlog.
 * Errors name the file, the document and what to fix; a service with two different owners is an error.
 */
import { globSync, readFileSync } from "node:fs";
import YAML from "yaml";
import { AppError } from "../core/errors.ts";
import { displayPath, fromRepo, REPO_ROOT } from "../config/index.ts";
import type { PolicyData } from "../generation/policy-schema.ts";

export type CatalogConfig = NonNullable<PolicyData["ownership"]["catalog"]>;

/** Service → owner, and where each came from (for messages). */
export interface Catalog {
  owners: Map<string, string>;
  files: string[];
}

export const EMPTY_CATALOG: Catalog = { owners: new Map(), files: [] };

/** `group:default/team-edge` → `team-edge`; `team-edge` stays. */
export function ownerName(ref: string): string {
  return ref.replace(/^[a-z][a-z0-9_-]*:/i, "").replace(/^[^/]+\//, "");
}

/** Pure: the Component owners of one file's text. */
export function parseCatalogText(text: string, file: string): Map<string, string> {
  const out = new Map<string, string>();
  const docs = YAML.parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [docs];
  list.forEach((doc, i) => {
    const where = `${file} (document ${i + 1})`;
    if (doc.errors.length) throw new AppError("config", `${where}: invalid YAML: ${doc.errors[0]!.message.split("\n")[0]}`);
    const e = doc.toJS() as { kind?: unknown; metadata?: { name?: unknown }; spec?: { owner?: unknown } } | null;
    if (e === null || typeof e !== "object" || e.kind !== "Component") return;
    const name = e.metadata?.name;
    const owner = e.spec?.owner;
    if (typeof name !== "string" || !name.trim()) throw new AppError("config", `${where}: a Component needs metadata.name (the service), got ${JSON.stringify(name ?? null)}.`);
    if (typeof owner !== "string" || !ownerName(owner.trim())) {
      throw new AppError("config", `${where}: Component ${name} needs spec.owner (a team or user), got ${JSON.stringify(owner ?? null)}.`);
    }
    const prev = out.get(name);
    const mine = ownerName(owner.trim());
    if (prev !== undefined && prev !== mine) throw new AppError("config", `${where}: Component ${name} is listed twice with different owners (${prev}, ${mine}).`);
    out.set(name, mine);
  });
  return out;
}

/** The files a catalog config names: `files` in order, then the glob's matches sorted, each once. */
export function catalogFiles(cfg: CatalogConfig): string[] {
  const files = cfg.files.map(fromRepo);
  if (cfg.glob) files.push(...globSync(cfg.glob, { cwd: REPO_ROOT }).map((f) => fromRepo(String(f))).sort());
  return [...new Set(files)];
}

export function loadCatalog(cfg: CatalogConfig | undefined): Catalog {
  if (!cfg) return EMPTY_CATALOG;
  const files = catalogFiles(cfg);
  if (cfg.glob && files.length === cfg.files.length && cfg.files.length === 0) {
    throw new AppError("config", `ownership.catalog.glob ${JSON.stringify(cfg.glob)} matches no file (from ${REPO_ROOT}); fix the pattern or remove ownership.catalog.`);
  }
  const owners = new Map<string, string>();
  const seen = new Map<string, string>();
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      throw new AppError("config", `Cannot read the service catalog file ${displayPath(file)} (ownership.catalog): ${(err as Error).message}.`, { cause: err });
    }
    for (const [service, owner] of parseCatalogText(text, displayPath(file))) {
      const prev = owners.get(service);
      if (prev !== undefined && prev !== owner) {
        throw new AppError("config", `Service ${service} has two owners in the catalog: ${prev} (${seen.get(service)}) and ${owner} (${displayPath(file)}).`);
      }
      owners.set(service, owner);
      seen.set(service, displayPath(file));
    }
  }
  return { owners, files };
}
