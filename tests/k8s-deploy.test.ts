/**
 * Every manifest under ops/k8s validates against the Kubernetes schemas (kubernetes-models), the
 * kustomization lists them, and the server Deployment / governance CronJobs agree with the code: env
 * names the code reads, ConfigMap keys that are real files, mount paths the env points into, pinned
 * images. The bundled server is then run exactly as the Deployment lays it out.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import process from "node:process";
import { parseAllDocuments } from "yaml";
import { Deployment } from "kubernetes-models/apps/v1";
import { CronJob, Job } from "kubernetes-models/batch/v1";
import { ConfigMap, Namespace, PersistentVolumeClaim, Secret, Service } from "kubernetes-models/v1";
import { REPO, runScript } from "./helpers/run.ts";

// deno-lint-ignore no-explicit-any
type Any = any;
const K8S = join(REPO, "ops/k8s");
const MODELS: Record<string, new (o: Any) => { validate(): void }> = {
  "apps/v1/Deployment": Deployment,
  "batch/v1/CronJob": CronJob,
  "batch/v1/Job": Job,
  "v1/ConfigMap": ConfigMap,
  "v1/Namespace": Namespace,
  "v1/PersistentVolumeClaim": PersistentVolumeClaim,
  "v1/Secret": Secret,
  "v1/Service": Service,
};
const manifests = readdirSync(K8S).filter((f) => /\.ya?ml$/.test(f) && f !== "kustomization.yaml");
const load = (file: string): Any[] =>
  parseAllDocuments(readFileSync(join(K8S, file), "utf8"))
    .map((d) => {
      if (d.errors.length) throw new Error(`${file}: ${d.errors[0]!.message}`);
      return d.toJS();
    })
    .filter(Boolean);
const all = manifests.flatMap((f) => load(f).map((doc) => ({ file: f, doc })));
const bunVersion = JSON.parse(readFileSync(join(REPO, "node_modules/bun/package.json"), "utf8")).version as string;

/** Every source file of the code that runs in the containers. */
const code = [join(REPO, "server.ts"), ...["lib", "scripts", "ops/scripts"].flatMap(function walk(dir: string): string[] {
  const abs = dir.startsWith("/") ? dir : join(REPO, dir);
  return readdirSync(abs, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(abs, e.name)) : e.name.endsWith(".ts") || e.name.endsWith(".tsx") ? [join(abs, e.name)] : []));
}), join(REPO, "config/access.yml") /* API key variables are named there (key_env) */].map((f) => readFileSync(f, "utf8")).join("\n");
const RUNTIME_ENV = ["TMPDIR", "HOME", "BUN_RUNTIME_TRANSPILER_CACHE_PATH"];

describe("Kubernetes manifests", () => {
  test("every object validates against the Kubernetes schema", () => {
    expect(all.length).toBeGreaterThanOrEqual(12);
    for (const { file, doc } of all) {
      const Model = MODELS[`${doc.apiVersion}/${doc.kind}`];
      expect({ file, kind: doc.kind, known: Boolean(Model) }).toEqual({ file, kind: doc.kind, known: true });
      expect(() => new Model!(doc).validate()).not.toThrow();
    }
  });

  test("the validation really rejects a broken object", () => {
    const dep = all.find((a) => a.doc.kind === "Deployment")!.doc;
    const broken = structuredClone(dep);
    broken.spec.template.spec.containers[0].ports[0].containerPort = "eight thousand";
    expect(() => new Deployment(broken).validate()).toThrow();
  });

  test("the kustomization lists every manifest but the examples, in namespace dsm", () => {
    const [k] = parseAllDocuments(readFileSync(join(K8S, "kustomization.yaml"), "utf8")).map((d) => d.toJS());
    expect(k.namespace).toBe("dsm");
    expect([...k.resources].sort()).toEqual(manifests.filter((f) => !f.includes(".example.")).sort());
  });

  test("images are pinned to the bun the bundles are built and tested with", () => {
    for (const { doc } of all) {
      const pod = doc.kind === "CronJob" ? doc.spec.jobTemplate.spec.template.spec : doc.spec?.template?.spec;
      for (const c of pod?.containers ?? []) expect(c.image).toBe(`oven/bun:${bunVersion}`);
    }
  });

  test("env var names are ones the code reads; path env vars point into mounted ConfigMap items of real files", () => {
    const pods = all.flatMap(({ doc }) => {
      const pod = doc.kind === "CronJob" ? doc.spec.jobTemplate.spec.template.spec : doc.spec?.template?.spec;
      return pod ? [pod] : [];
    });
    expect(pods.length).toBeGreaterThanOrEqual(9);
    for (const pod of pods) {
      for (const c of pod.containers) {
        for (const e of c.env ?? []) {
          if (RUNTIME_ENV.includes(e.name)) continue;
          expect({ env: e.name, readByCode: new RegExp(`\\b${e.name}\\b`).test(code) }).toEqual({ env: e.name, readByCode: true });
          // values that are paths must be inside a mount, and a file path must be a mounted item
          if (typeof e.value === "string" && e.value.startsWith("/")) {
            const mount = c.volumeMounts.find((m: Any) => e.value === m.mountPath || e.value.startsWith(m.mountPath + "/"));
            expect({ env: e.name, mounted: Boolean(mount) }).toEqual({ env: e.name, mounted: true });
            const vol = pod.volumes.find((v: Any) => v.name === mount.name);
            if (vol.configMap && e.value !== mount.mountPath) {
              expect(vol.configMap.items.map((i: Any) => i.path)).toContain(e.value.slice(mount.mountPath.length + 1));
            }
          }
        }
        // the command's script is a mounted item
        const script = c.command.find((w: string) => w.endsWith(".js"));
        if (script) {
          const mount = c.volumeMounts.find((m: Any) => script.startsWith(m.mountPath + "/"));
          const vol = pod.volumes.find((v: Any) => v.name === mount.name);
          expect(vol.configMap.items.map((i: Any) => i.path)).toContain(basename(script));
        }
      }
    }
  });

  test("ConfigMap keys are files the repo produces", () => {
    const sources: Record<string, string> = {
      "backlog_policy.yml": "config/backlog_policy.yml",
      "risk_policy.yml": "config/risk_policy.yml",
      "access.yml": "config/access.yml",
      "task_registry.yml": "ops/task_registry.yml",
      "jobs.cron": "ops/cron/jobs.cron",
    };
    const bundles = new Set(["server", ...readdirSync(join(REPO, "scripts")), ...readdirSync(join(REPO, "ops/scripts"))].map((f) => f.replace(/\.ts$/, "") + ".js"));
    for (const { doc } of all) {
      const pod = doc.kind === "CronJob" ? doc.spec.jobTemplate.spec.template.spec : doc.spec?.template?.spec;
      for (const v of pod?.volumes ?? []) {
        if (!v.configMap) continue;
        for (const item of v.configMap.items ?? []) {
          if (v.configMap.name.endsWith("-scripts")) expect(bundles).toContain(item.key);
          else if (v.configMap.name === "backlog-bridge-config") expect(existsSync(join(REPO, sources[item.key] ?? "missing"))).toBe(true);
        }
      }
    }
  });
});

describe("the server as the Deployment runs it", () => {
  let child: ChildProcess | undefined;
  afterAll(() => child?.kill("SIGKILL"));

  test("dist/server.js from an empty dir with /config and /data laid out like the pod", async () => {
    const out = mkdtempSync(join(tmpdir(), "bb-srv-bundle-"));
    const b = await runScript("scripts/bundle.ts", ["--only", "server", "--out-dir", out]);
    expect(b.code).toBe(0);
    const pod = mkdtempSync(join(tmpdir(), "bb-pod-"));
    for (const d of ["scripts", "config", "data"]) mkdirSync(join(pod, d));
    copyFileSync(join(out, "server.js"), join(pod, "scripts/server.js"));
    const dep = all.find((a) => a.doc.kind === "Deployment")!.doc;
    const c = dep.spec.template.spec.containers[0];
    const env: Record<string, string> = { PATH: process.env.PATH ?? "" };
    for (const e of c.env) if (typeof e.value === "string") env[e.name] = e.value.startsWith("/") ? join(pod, e.value) : e.value;
    for (const [key, src] of Object.entries({ "backlog_policy.yml": "config/backlog_policy.yml", "risk_policy.yml": "config/risk_policy.yml", "access.yml": "config/access.yml", "task_registry.yml": "ops/task_registry.yml", "jobs.cron": "ops/cron/jobs.cron" })) {
      copyFileSync(join(REPO, src), join(pod, "config", key));
    }
    Object.assign(env, { HOST: "127.0.0.1", PORT: "0", BACKLOG_BACKEND: "jsonl", SCHEDULER_ENABLED: "true", BACKLOG_READER_API_KEY: "pod-reader" });
    child = spawn(process.execPath, [join(pod, "scripts/server.js")], { cwd: join(pod, "data"), env });
    let log = "";
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no start:\n${log}`)), 20_000);
      const on = (d: Buffer) => {
        log += d;
        const m = /"event":"server listening".*?"url":"(http:[^"]+)"/.exec(log);
        if (m) clearTimeout(timer), resolve(m[1]!);
      };
      child!.stdout!.on("data", on);
      child!.stderr!.on("data", on);
      child!.on("close", () => reject(new Error(`exited:\n${log}`)));
    });
    expect(await (await fetch(`${url}/readyz`)).json()).toMatchObject({ ready: true, backend: "JsonlBacklogStore" });
    const jobs = await (await fetch(`${url}/v1/scheduler/jobs`, { headers: { authorization: "Bearer pod-reader" } })).json();
    expect(jobs).toMatchObject({ enabled: true });
    expect(jobs.jobs).toHaveLength(6);
    expect(existsSync(join(pod, "data/backlog"))).toBe(true);
  }, 60_000);
});
