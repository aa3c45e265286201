/**
 * Owners from a Backstage catalog: a fixture file with 3 documents (2 Components, 1 API) and a second
 * file found by the glob; precedence overrides → catalog → default_owner, recorded in meta.owner_source;
 * an existing item keeps its owner when the catalog changes (runbook 7).
 */
import { afterEach, describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { catalogFiles, loadCatalog, ownerName, parseCatalogText } from "../../lib/catalog/backstage.ts";
import { resolveOwner } from "../../lib/lifecycle/owner.ts";
import { silentLogger } from "../../lib/core/log.ts";
import { parsePolicyText } from "../../lib/generation/policy.ts";
import { MemoryBacklogStore } from "../../lib/store/memory.ts";
import { createToolContext, loadToolRegistry, dispatch } from "../../lib/tools/index.ts";

const DIR = new URL("../fixtures/catalog/", import.meta.url).pathname;
const MAIN = join(DIR, "catalog-info.yaml");
const GLOB = `${DIR}**/catalog-info.yaml`;

let tmp: string | null = null;
afterEach(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  tmp = null;
});

describe("Backstage catalog reader", () => {
  test("3 documents: Components map metadata.name → spec.owner (entity refs by name), other kinds are skipped", () => {
    const text = readFileSync(MAIN, "utf8");
    expect([...parseCatalogText(text, "catalog-info.yaml")]).toEqual([
      ["gateway", "team-platform"],
      ["billing", "team-money"],
    ]);
    expect(ownerName("group:default/team-edge")).toBe("team-edge");
    expect(ownerName("user:jane")).toBe("jane");
    expect(ownerName("team-money")).toBe("team-money");
  });

  test("files then glob matches, each file once; owners of all of them", () => {
    const cfg = { files: [MAIN], glob: GLOB };
    expect(catalogFiles(cfg)).toEqual([MAIN, join(DIR, "payments/catalog-info.yaml")]);
    expect(Object.fromEntries(loadCatalog(cfg).owners)).toEqual({ gateway: "team-platform", billing: "team-money", search: "jane" });
    expect(loadCatalog(undefined).owners.size).toBe(0);
  });

  test("precedence: overrides → catalog → default_owner, with the source", () => {
    const policy = parsePolicyText("ownership:\n  default_owner: oncall\n  overrides:\n    gateway: team-edge\n", "p.yml");
    const catalog = loadCatalog({ files: [], glob: GLOB }).owners;
    expect(resolveOwner(policy, catalog, "gateway")).toEqual({ owner: "team-edge", source: "override" });
    expect(resolveOwner(policy, catalog, "billing")).toEqual({ owner: "team-money", source: "catalog" });
    expect(resolveOwner(policy, catalog, "search")).toEqual({ owner: "jane", source: "catalog" });
    expect(resolveOwner(policy, catalog, "ledger")).toEqual({ owner: "oncall", source: "default" }); // ledger is an API there, not a Component
  });

  test("errors name the file, the document and the fix", () => {
    expect(() => parseCatalogText("kind: Component\nmetadata:\n  name: x\nspec: {owner: t}\n---\nkind: Component\nmetadata: {}\nspec: {owner: t}\n", "c.yaml")).toThrow(
      "c.yaml (document 2): a Component needs metadata.name (the service), got null.",
    );
    expect(() => parseCatalogText("kind: Component\nmetadata:\n  name: x\n", "c.yaml")).toThrow("c.yaml (document 1): Component x needs spec.owner (a team or user), got null.");
    expect(() => parseCatalogText("kind: [\n", "c.yaml")).toThrow("c.yaml (document 1): invalid YAML");
    const dir = (tmp = mkdtempSync(join(tmpdir(), "bb-cat-")));
    writeFileSync(join(dir, "a.yaml"), "kind: Component\nmetadata: {name: gateway}\nspec: {owner: team-b}\n");
    expect(() => loadCatalog({ files: [MAIN, join(dir, "a.yaml")], glob: null })).toThrow(/Service gateway has two owners in the catalog: team-platform \(.*catalog-info.yaml\) and team-b/);
    expect(() => loadCatalog({ files: [join(dir, "missing.yaml")], glob: null })).toThrow(/Cannot read the service catalog file .*missing.yaml \(ownership.catalog\)/);
    expect(() => loadCatalog({ files: [], glob: join(dir, "*.yml") })).toThrow(/matches no file/);
    expect(() => parsePolicyText("ownership:\n  catalog: {}\n", "p.yml")).toThrow("ownership.catalog: must name files or a glob (or be left out)");
  });

  test("generation: new items take the catalog owner with meta.owner_source; existing items keep theirs when the catalog changes", async () => {
    tmp = mkdtempSync(join(tmpdir(), "bb-cat-gen-"));
    mkdirSync(join(tmp, "platform"));
    copyFileSync(new URL("../fixtures/platform-2026-W47.json", import.meta.url).pathname, join(tmp, "platform/2026-W47.json"));
    const catalogFile = join(tmp, "catalog-info.yaml");
    copyFileSync(MAIN, catalogFile);
    const policy = parsePolicyText(`ownership:\n  overrides:\n    gateway: team-edge\n  catalog:\n    files: [${JSON.stringify(catalogFile)}]\n`, "p.yml");
    const now = new Date("2026-11-16T06:20:00Z");
    const store = new MemoryBacklogStore({ clock: () => now });
    const run = async () =>
      dispatch(await loadToolRegistry({ policy }), { tool: "backlog_tool", action: "auto_generate_weekly", params: { env: "prod", week: "2026-W47" } }, createToolContext({
        store, agent: "scheduler", entitlements: ["tools.backlog.admin"], now: () => now, log: silentLogger, paths: { root: tmp!, reportsDir: tmp!, policyFile: "p.yml" },
      })) as Promise<any>;
    await run();
    const owners = async () => Object.fromEntries((await store.list({ limit: 100 })).items.map((i) => [`${i.service}/${i.category}`, [i.owner, i.meta.owner_source]]));
    const first = await owners();
    expect(first["gateway/security"]).toEqual(["team-edge", "override"]);
    expect(first["billing/refactor"]).toEqual(["team-money", "catalog"]);
    expect(first["ledger/refactor"]).toEqual(["oncall", "default"]);
    writeFileSync(catalogFile, "kind: Component\nmetadata: {name: billing}\nspec: {owner: team-new}\n");
    const again = await run();
    expect(again.created).toBe(0);
    expect(await owners()).toEqual(first);
  });
});
