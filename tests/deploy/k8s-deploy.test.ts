/**
 * Every manifest under ops/k8s validates against the Kubernetes schemas (kubernetes-models), the
 * kustomization lists them, and the server Deployment / governance CronJobs agree with the code: env
 * names the program each container runs reads (derived from its source and imports), ConfigMap keys that are real files, mount paths the env points into, pinned
 * images. The bundled server is then run exactly as the Deployment lays it out.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import process from "node:process";
import { parseAllDocuments } from "yaml";
import { Deployment } from "kubernetes-models/apps/v1";
import { CronJob, Job } from "kubernetes-models/batch/v1";
import { ConfigMap, Namespace, PersistentVolumeClaim, Secret, Service } from "kubernetes-models/v1";
import { envNamesRead } from "../helpers/env-names.ts";
import { REPO, runScript } from "../helpers/run.ts";
import { loadRegistry } from "../../lib/scheduler/registry.ts";
import { VARS } from "../../lib/config/vars.ts";
import { tempDir } from "../helpers/tmp.ts";
import { expectExit } from "../helpers/exit.ts";

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

/** ConfigMap backlog-bridge-config is created from these repo files (docs/deployment.md). */
const CONFIG_SOURCES: Record<string, string> = {
  "backlog_policy.yml": "config/backlog_policy.yml",
  "risk_policy.yml": "config/risk_policy.yml",
  "access.yml": "config/access.yml",
  "task_registry.yml": "ops/task_registry.yml",
  "jobs.cron": "ops/cron/jobs.cron",
};
/** Read by bun itself, not by our code. */
const RUNTIME_ENV = ["TMPDIR", "HOME", "BUN_RUNTIME_TRANSPILER_CACHE_PATH"];
const podOf = (doc: Any): Any => (doc.kind === "CronJob" ? doc.spec.jobTemplate.spec.template.spec : doc.spec?.template?.spec);
const server = (): Any => all.find((a) => a.doc.kind === "Deployment")!.doc.spec.template.spec.containers[0];

/** The source a container runs: /scripts/X.js is the bundle of server.ts, scripts/X.ts or ops/scripts/X.ts. */
function sourceOf(script: string): string {
  const name = basename(script, ".js");
  const src = (name === "server" ? ["server.ts"] : [`scripts/${name}.ts`, `ops/scripts/${name}.ts`]).find((f) => existsSync(join(REPO, f)));
  if (!src) throw new Error(`${script}: no source file for this bundle`);
  return src;
}

describe("Kubernetes manifests", () => {
  test("every object validates against the Kubernetes schema", () => {
    expect(all.length).toBeGreaterThanOrEqual(12);
    for (const { file, doc } of all) {
      if (doc.kind === "PrometheusRule") continue; // a CRD: its groups are checked by promtool (tests/alerting/rules.test.ts)
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
      const pod = podOf(doc);
      for (const c of pod?.containers ?? []) expect(c.image).toBe(`oven/bun:${bunVersion}`);
    }
  });

  test("env var names are ones the container's program reads; path env vars point into mounted ConfigMap items of real files", () => {
    const pods = all.flatMap(({ doc }) => {
      const pod = podOf(doc);
      return pod ? [pod] : [];
    });
    expect(pods.length).toBeGreaterThanOrEqual(9);
    for (const pod of pods) {
      for (const c of pod.containers) {
        const script = c.command.find((w: string) => w.endsWith(".js"));
        const reads = envNamesRead(sourceOf(script));
        for (const e of c.env ?? []) {
          if (RUNTIME_ENV.includes(e.name)) continue;
          expect({ script, env: e.name, read: reads.has(e.name) }).toEqual({ script, env: e.name, read: true });
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
        const mount = c.volumeMounts.find((m: Any) => script.startsWith(m.mountPath + "/"));
        const vol = pod.volumes.find((v: Any) => v.name === mount.name);
        expect(vol.configMap.items.map((i: Any) => i.path)).toContain(basename(script));
      }
    }
  });

  test("the Deployment sets every file and folder the server reads to an absolute path (its defaults are repo paths)", () => {
    const reads = envNamesRead("server.ts");
    // the extraction itself works: names read in different styles (env.X, env[name] over a list, key_env)
    for (const n of ["PORT", "HOST", "BACKLOG_POSTGRES_DSN", "POSTGRES_HOST", "BACKLOG_READER_API_KEY"]) expect(reads).toContain(n);
    const paths = [...reads].filter((n) => /_(FILE|DIR)$/.test(n)).sort();
    expect(paths.length).toBeGreaterThanOrEqual(7);
    const env = new Map(server().env.map((e: Any) => [e.name, e.value]));
    for (const n of paths) expect({ n, value: env.get(n) }).toEqual({ n, value: expect.stringMatching(/^\//) });
  });

  test("the server listens on 0.0.0.0 at the containerPort the probes and the Service use; in-cluster URLs name a real Service port", () => {
    const c = server();
    const env = new Map(c.env.map((e: Any) => [e.name, e.value]));
    expect(env.get("HOST")).toBe("0.0.0.0");
    const http = c.ports.find((p: Any) => p.name === "http");
    expect(env.get("PORT")).toBe(String(http.containerPort));
    expect(c.livenessProbe.httpGet).toMatchObject({ path: "/healthz", port: "http" });
    expect(c.readinessProbe.httpGet).toMatchObject({ path: "/readyz", port: "http" });
    const services = all.filter((a) => a.doc.kind === "Service").map((a) => a.doc);
    const svc = services.find((s) => s.metadata.name === "backlog-bridge")!;
    expect(svc.spec.ports.map((p: Any) => p.targetPort)).toContain("http");
    const dep = all.find((a) => a.doc.kind === "Deployment")!.doc;
    expect(dep.spec.template.metadata.labels).toMatchObject(svc.spec.selector);
    // e.g. the CronJobs' ROUTER_URL=http://backlog-bridge:8000 (hosts without a dot are Services in this namespace)
    const urls = all.flatMap(({ doc }) => (podOf(doc)?.containers ?? []).flatMap((x: Any) => (x.env ?? []).map((e: Any) => e.value)));
    const local = urls.filter((u): u is string => typeof u === "string" && /^https?:\/\/[a-z0-9-]+(:\d+)?(\/|$)/.test(u));
    expect(local.length).toBeGreaterThan(0);
    for (const u of local) {
      const { hostname, port } = new URL(u);
      const s = services.find((x) => x.metadata.name === hostname);
      expect({ u, service: Boolean(s) }).toEqual({ u, service: true });
      expect(s.spec.ports.map((p: Any) => String(p.port))).toContain(port || "80");
    }
  });

  test("every secretKeyRef and configMapKeyRef names a key of the example Secret / ConfigMap", () => {
    const keysOf = (kind: string, name: string) => {
      const d = all.find((a) => a.doc.kind === kind && a.doc.metadata.name === name)?.doc;
      return d ? Object.keys({ ...d.data, ...d.stringData }) : [];
    };
    let refs = 0;
    for (const { file, doc } of all) {
      for (const c of podOf(doc)?.containers ?? []) {
        for (const e of c.env ?? []) {
          const s = e.valueFrom?.secretKeyRef;
          const m = e.valueFrom?.configMapKeyRef;
          if (s) expect({ file, secret: s.name, keys: keysOf("Secret", s.name) }).toEqual({ file, secret: s.name, keys: expect.arrayContaining([s.key]) });
          if (m) expect({ file, configMap: m.name, keys: keysOf("ConfigMap", m.name) }).toEqual({ file, configMap: m.name, keys: expect.arrayContaining([m.key]) });
          if (s || m) refs++;
        }
      }
    }
    expect(refs).toBeGreaterThan(10);
  });

  // docs/dashboard.md: "Set it in production (the Kubernetes Secret, …)": a secret the server reads for the
  // API keys and the browser UI reaches the pod only when the Deployment passes it from the Secret
  test("the Deployment passes every API key and UI secret the server reads from Secret backlog-bridge-secrets", () => {
    const wanted = VARS.filter((s) => s.secret && (s.group === "keys" || s.group === "ui")).map((s) => s.name).sort();
    expect(wanted).toContain("BACKLOG_SESSION_SECRET");
    const fromSecret = (server().env as Any[]).filter((e) => e.valueFrom?.secretKeyRef?.name === "backlog-bridge-secrets" && e.valueFrom.secretKeyRef.key === e.name).map((e) => e.name);
    expect(wanted.filter((n) => !fromSecret.includes(n))).toEqual([]);
  });

  test("ConfigMap keys are files the repo produces", () => {
    const bundles = new Set(["server", ...readdirSync(join(REPO, "scripts")), ...readdirSync(join(REPO, "ops/scripts"))].map((f) => f.replace(/\.ts$/, "") + ".js"));
    for (const { doc } of all) {
      const pod = podOf(doc);
      for (const v of pod?.volumes ?? []) {
        if (!v.configMap) continue;
        for (const item of v.configMap.items ?? []) {
          if (v.configMap.name.endsWith("-scripts")) expect(bundles).toContain(item.key);
          else if (v.configMap.name === "backlog-bridge-config") expect(existsSync(join(REPO, CONFIG_SOURCES[item.key] ?? "missing"))).toBe(true);
        }
      }
    }
  });
});

/** The ConfigMaps and Secrets the kubectl steps in docs/*.md create, with their keys. */
function createdByDocs(): Map<string, Set<string>> {
  const created = new Map<string, Set<string>>();
  for (const f of readdirSync(join(REPO, "docs")).filter((x) => x.endsWith(".md"))) {
    const text = readFileSync(join(REPO, "docs", f), "utf8").replace(/\\\n\s*/g, " ");
    for (const m of text.matchAll(/kubectl -n dsm create (?:configmap|secret generic) ([a-z0-9-]+)([^\n`]*)/g)) {
      const keys = created.get(m[1]!) ?? new Set<string>();
      for (const a of m[2]!.matchAll(/--from-(file|literal)=([^\s=]+)/g)) {
        if (a[1] === "literal") keys.add(a[2]!);
        else if (statSync(join(REPO, a[2]!), { throwIfNoEntry: false })?.isDirectory()) readdirSync(join(REPO, a[2]!)).forEach((k) => keys.add(k));
        else keys.add(basename(a[2]!));
      }
      created.set(m[1]!, keys);
    }
  }
  return created;
}

describe("the documented kubectl steps", () => {
  test("create every ConfigMap the pods mount with the items they mount, and every required Secret key", () => {
    const created = createdByDocs();
    expect(created.get("backlog-bridge-config")).toEqual(new Set(Object.keys(CONFIG_SOURCES)));
    for (const { file, doc } of all) {
      const pod = podOf(doc);
      for (const v of pod?.volumes ?? []) {
        if (!v.configMap) continue;
        const keys = [...(created.get(v.configMap.name) ?? [])];
        expect({ file, configMap: v.configMap.name, documented: keys.length > 0 }).toEqual({ file, configMap: v.configMap.name, documented: true });
        for (const item of v.configMap.items ?? []) expect({ configMap: v.configMap.name, keys }).toEqual({ configMap: v.configMap.name, keys: expect.arrayContaining([item.key]) });
      }
      for (const c of pod?.containers ?? []) {
        for (const e of c.env ?? []) {
          const ref = e.valueFrom?.secretKeyRef;
          if (!ref || ref.optional || !created.has(ref.name)) continue;
          expect({ secret: ref.name, keys: [...created.get(ref.name)!] }).toEqual({ secret: ref.name, keys: expect.arrayContaining([ref.key]) });
        }
      }
    }
    expect(created.get("backlog-bridge-secrets")).toContain("BACKLOG_POSTGRES_DSN");
  });
});

describe("the server as the Deployment runs it", () => {
  let child: ChildProcess | undefined;
  afterAll(() => child?.kill("SIGKILL"));

  test("dist/server.js from an empty dir with /config and /data laid out like the pod", async () => {
    const out = tempDir("bb-srv-bundle-");
    const b = await runScript("scripts/bundle.ts", ["--only", "server", "--out-dir", out]);
    expectExit(b, 0);
    const pod = tempDir("bb-pod-");
    // every mount of the pod, plus the image's working directory (read-only there: nothing may land in it)
    const mounts = server().volumeMounts.map((m: Any) => m.mountPath.slice(1));
    for (const d of [...mounts, "workdir"]) mkdirSync(join(pod, d));
    copyFileSync(join(out, "server.js"), join(pod, "scripts/server.js"));
    const dep = all.find((a) => a.doc.kind === "Deployment")!.doc;
    const c = dep.spec.template.spec.containers[0];
    const env: Record<string, string> = { PATH: process.env.PATH ?? "" };
    for (const e of c.env) if (typeof e.value === "string") env[e.name] = e.value.startsWith("/") ? join(pod, e.value) : e.value;
    const config = dep.spec.template.spec.volumes.find((v: Any) => v.configMap?.name === "backlog-bridge-config").configMap;
    for (const item of config.items) copyFileSync(join(REPO, CONFIG_SOURCES[item.key]!), join(pod, "config", item.path));
    Object.assign(env, { HOST: "127.0.0.1", PORT: "0", BACKLOG_BACKEND: "jsonl", SCHEDULER_ENABLED: "true", BACKLOG_READER_API_KEY: "pod-reader" });
    child = spawn(process.execPath, [join(pod, "scripts/server.js")], { cwd: join(pod, "workdir"), env });
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
    expect(jobs.jobs).toHaveLength(loadRegistry().length);
    expect(existsSync(join(pod, "data/backlog"))).toBe(true);
    // the root filesystem is read-only in the pod: the server wrote only into its writable volumes
    expect(readdirSync(pod).sort()).toEqual([...mounts, "workdir"].sort());
    expect(readdirSync(join(pod, "workdir"))).toEqual([]);
    expect(readdirSync(join(pod, "scripts"))).toEqual(["server.js"]);
  }, 60_000);
});
