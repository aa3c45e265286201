/**
 * ops/k8s manifests agree with the code they run: env names the scripts read, ConfigMap keys that match
 * the command paths, a pinned image, and the hardening the Jobs promise.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { ENV_DOCS, SEED_ENV_VARS } from "../../lib/seed/config.ts";
import { REPO } from "../helpers/run.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

/** Set only for the bun runtime under a read-only root filesystem, not read by our code. */
const RUNTIME_ENV = ["TMPDIR", "HOME", "BUN_RUNTIME_TRANSPILER_CACHE_PATH"];
/** The seed's section 7 table. */
const SEED_TABLE = ["POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB", "PROJECT_SERVICE_URL", "PROJECT_ID", "SPRINT_ID"];

function docs(file: string): Any[] {
  const parsed = parseAllDocuments(readFileSync(join(REPO, "ops/k8s", file), "utf8"));
  for (const d of parsed) if (d.errors.length) throw new Error(`${file}: ${d.errors[0]!.message}`);
  return parsed.map((d) => d.toJS());
}

function job(file: string) {
  const [j] = docs(file);
  const pod = j.spec.template.spec;
  const c = pod.containers[0];
  const env = new Map<string, Any>(c.env.map((e: Any) => [e.name, e]));
  return { j, pod, c, env };
}

const bunVersion = JSON.parse(readFileSync(join(REPO, "node_modules/bun/package.json"), "utf8")).version as string;

/** The file a command path resolves to: the mount's ConfigMap and the item's key. */
function scriptSource(pod: Any, c: Any, path: string): { configMap: string; key: string } {
  const mount = c.volumeMounts.find((m: Any) => path.startsWith(m.mountPath + "/"));
  expect(mount).toBeDefined();
  const vol = pod.volumes.find((v: Any) => v.name === mount.name);
  const rel = path.slice(mount.mountPath.length + 1);
  const item = (vol.configMap.items ?? []).find((i: Any) => i.path === rel);
  return { configMap: vol.configMap.name, key: item?.key ?? rel };
}

function expectHardened(j: Any, pod: Any, c: Any) {
  expect(j.apiVersion).toBe("batch/v1");
  expect(j.kind).toBe("Job");
  expect(j.metadata.namespace).toBe("dsm");
  for (const k of ["backoffLimit", "ttlSecondsAfterFinished", "activeDeadlineSeconds"]) expect(j.spec[k]).toBeGreaterThan(0);
  expect(pod.restartPolicy).toBe("Never");
  expect(pod.securityContext).toMatchObject({ runAsNonRoot: true });
  expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
  expect(c.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
  expect(Object.keys(c.resources.requests).sort()).toEqual(["cpu", "memory"]);
  expect(Object.keys(c.resources.limits).sort()).toEqual(["cpu", "memory"]);
  // read-only root: /tmp is a writable emptyDir and bun is pointed at it
  const tmpMount = c.volumeMounts.find((m: Any) => m.mountPath === "/tmp");
  expect(pod.volumes.find((v: Any) => v.name === tmpMount.name).emptyDir).toBeDefined();
  // ConfigMap volumes read-only (0444 written in decimal, which YAML 1.1 and 1.2 read alike)
  for (const v of pod.volumes) if (v.configMap) expect(v.configMap.defaultMode).toBe(0o444);
  // pinned, and the same bun that builds and tests the bundle
  expect(c.image).toMatch(/^oven\/bun:1\.\d+\.\d+$/);
  expect(c.image).toBe(`oven/bun:${bunVersion}`);
}

function expectDbEnv(env: Map<string, Any>) {
  expect(env.get("POSTGRES_HOST").value).toBe("backlog-db");
  expect(env.get("POSTGRES_PORT").value).toBe("5432");
  for (const k of ["POSTGRES_USER", "POSTGRES_DB"]) {
    expect(env.get(k).valueFrom).toEqual({ configMapKeyRef: { name: "backlog-db-config", key: k } });
  }
  expect(env.get("POSTGRES_PASSWORD").valueFrom).toEqual({ secretKeyRef: { name: "backlog-db-secret", key: "POSTGRES_PASSWORD" } });
  // every env value is a string: a bare number is rejected by the API server
  for (const e of env.values()) if ("value" in e) expect(typeof e.value).toBe("string");
}

describe("ops/k8s/backlog-setup-job.yml", () => {
  const { j, pod, c, env } = job("backlog-setup-job.yml");

  test("Job setup-backlog in dsm runs `bun /scripts/seed.js` from ConfigMap backlog-setup-scripts, key seed.js", () => {
    expect(j.metadata.name).toBe("setup-backlog");
    expect(c.command).toEqual(["bun", "/scripts/seed.js"]);
    expect(scriptSource(pod, c, "/scripts/seed.js")).toEqual({ configMap: "backlog-setup-scripts", key: "seed.js" });
  });

  test("sets the seed's env table, sourced as the seed says; every name it sets is one seed.ts reads", () => {
    for (const k of SEED_TABLE) expect(env.has(k)).toBe(true);
    expectDbEnv(env);
    expect(env.get("PROJECT_SERVICE_URL").value).toMatch(/^http:\/\/project-service[.:/]/);
    expect(env.get("PROJECT_ID").value).toBe("TEST-001");
    expect(env.get("SPRINT_ID").value).toMatch(/\S/);
    const unknown = [...env.keys()].filter((k) => !SEED_ENV_VARS.includes(k) && !RUNTIME_ENV.includes(k));
    expect(unknown).toEqual([]);
    expect(env.has("SEED_FAIL_AFTER_DELETE")).toBe(false); // test-only switch
    expect(ENV_DOCS.SEED_FAIL_AFTER_DELETE).toContain("TEST-ONLY");
  });

  test("hardened and bounded", () => expectHardened(j, pod, c));
});

describe("ops/k8s/backlog-migrate-job.yml", () => {
  const { j, pod, c, env } = job("backlog-migrate-job.yml");
  const dbSource = readFileSync(join(REPO, "lib/pg/db.ts"), "utf8");

  test("runs the bundled migrate.js with --dir pointing at the migrations ConfigMap", () => {
    expect(j.metadata.name).toBe("migrate-backlog");
    expect(c.command).toEqual(["bun", "/scripts/migrate.js", "--dir", "/migrations"]);
    expect(scriptSource(pod, c, "/scripts/migrate.js")).toEqual({ configMap: "backlog-migrate-scripts", key: "migrate.js" });
    const mount = c.volumeMounts.find((m: Any) => m.mountPath === "/migrations");
    const vol = pod.volumes.find((v: Any) => v.name === mount.name);
    // no items list: every migrations/*.sql key becomes a file
    expect(vol.configMap).toMatchObject({ name: "backlog-migrations" });
    expect(vol.configMap.items).toBeUndefined();
  });

  test("the migrations fit one ConfigMap and their names are valid keys", () => {
    const files = readdirSync(join(REPO, "migrations"));
    for (const f of files) expect(f).toMatch(/^[-._a-zA-Z0-9]+$/);
    const total = files.reduce((n, f) => n + statSync(join(REPO, "migrations", f)).size, 0);
    expect(total).toBeLessThan(1024 * 1024);
  });

  test("same database env as the setup job; every name is one lib/pg/db.ts reads", () => {
    expectDbEnv(env);
    for (const k of env.keys()) if (!RUNTIME_ENV.includes(k)) expect(dbSource).toContain(k);
  });

  test("hardened and bounded", () => expectHardened(j, pod, c));
});

describe("ops/k8s/backlog-db-config.example.yml", () => {
  test("provides exactly the keys the Jobs reference", () => {
    const [cm, secret] = docs("backlog-db-config.example.yml");
    expect(cm).toMatchObject({ kind: "ConfigMap", metadata: { name: "backlog-db-config", namespace: "dsm" } });
    expect(Object.keys(cm.data).sort()).toEqual(["POSTGRES_DB", "POSTGRES_USER"]);
    expect(secret).toMatchObject({ kind: "Secret", metadata: { name: "backlog-db-secret", namespace: "dsm" } });
    expect(Object.keys(secret.stringData)).toEqual(["POSTGRES_PASSWORD"]);
  });
});
