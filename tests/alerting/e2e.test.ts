/**
 * End to end on loopback with the real binaries: the real server.ts process serves /metrics over a JSONL
 * store holding an overdue P0 item; a real Prometheus scrapes it every second and evaluates the rules
 * (rendered from lib/alerting/rules.ts with `for: 0s`, the only difference from the shipped file); a real
 * Alertmanager routes the page by its team label to a webhook receiver in this test, where it must
 * arrive with the expected labels. Every process is stopped and every temp dir removed at the end.
 */
import { afterAll, expect, test } from "bun:test";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import YAML from "yaml";
import { alertRules, renderRulesFile } from "../../lib/alerting/rules.ts";
import { silentLogger } from "../../lib/core/log.ts";
import { loadPolicy } from "../../lib/generation/policy.ts";
import { loadRegistry } from "../../lib/scheduler/registry.ts";
import { addDays, todayUtc } from "../../lib/store/dates.ts";
import { JsonlBacklogStore } from "../../lib/store/jsonl/store.ts";
import { REPO } from "../helpers/run.ts";
import { freePorts } from "../helpers/pg-cluster.ts";
import { ALERTMANAGER, PROMETHEUS, requireBinary, until } from "./tools.ts";

const READER_KEY = "e2e-reader-key-0123456789";
const children: { name: string; proc: ChildProcess; out: () => string }[] = [];
const dirs: string[] = [];
let receiver: Server | undefined;

afterAll(async () => {
  for (const c of children) {
    if (c.proc.exitCode === null && c.proc.signalCode === null) {
      const gone = new Promise((r) => c.proc.once("close", r));
      c.proc.kill("SIGTERM");
      await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
      if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill("SIGKILL");
    }
  }
  await new Promise((r) => (receiver ? receiver.close(r) : r(null)));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tmp(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

function start(name: string, cmd: string, args: string[], env: Record<string, string> = {}) {
  let out = "";
  const proc = spawn(cmd, args, { cwd: REPO, env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env } });
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (out += d));
  const entry = { name, proc, out: () => out };
  children.push(entry);
  return entry;
}

test("a real Prometheus scrapes the real server, a real Alertmanager delivers the P0 page to a webhook", async () => {
  requireBinary(PROMETHEUS);
  requireBinary(ALERTMANAGER);
  const policy = loadPolicy();

  // The store: one overdue P0 in prod (due yesterday), one overdue P2 in staging (no page).
  const storeDir = tmp("bb-e2e-store-");
  const store = new JsonlBacklogStore({ dir: storeDir, log: silentLogger });
  const yesterday = addDays(todayUtc(new Date()), -1);
  await store.upsert({ env: "prod", service: "gateway", category: "security", title: "Rotate keys", priority: "P0", dedupe_key: "e2e:p0", owner: "team-edge", due_date: yesterday }, { actor: "e2e" });
  await store.upsert({ env: "staging", service: "billing", category: "refactor", title: "Refactor", priority: "P2", dedupe_key: "e2e:p2", owner: "team-pay", due_date: yesterday }, { actor: "e2e" });
  await store.close();

  // The webhook receiver Alertmanager posts to.
  const pages: { body: any; at: number }[] = [];
  receiver = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      pages.push({ body: JSON.parse(body), at: performance.now() });
      res.writeHead(200).end("ok");
    });
  });
  await new Promise<void>((r) => receiver!.listen(0, "127.0.0.1", r));
  const hookPort = (receiver.address() as AddressInfo).port;

  const [appPort, promPort, amPort] = await freePorts(3);
  const started = performance.now();
  start("server", process.execPath, ["run", "server.ts"], {
    PORT: String(appPort),
    HOST: "127.0.0.1",
    BACKLOG_BACKEND: "jsonl",
    BACKLOG_JSONL_DIR: storeDir,
    BACKLOG_READER_API_KEY: READER_KEY,
  });

  const amDir = tmp("bb-e2e-am-");
  writeFileSync(
    join(amDir, "alertmanager.yml"),
    YAML.stringify({
      route: {
        receiver: "oncall",
        group_by: ["alertname", "env"],
        group_wait: "1s",
        group_interval: "1s",
        repeat_interval: "1h",
        routes: [{ matchers: [`team="${policy.alerts.page_target}"`, 'action="page"'], receiver: "cto-pager" }],
      },
      receivers: [
        { name: "oncall", webhook_configs: [{ url: `http://127.0.0.1:${hookPort}/oncall`, send_resolved: false }] },
        { name: "cto-pager", webhook_configs: [{ url: `http://127.0.0.1:${hookPort}/cto`, send_resolved: false }] },
      ],
    }),
  );
  start("alertmanager", ALERTMANAGER, [
    `--config.file=${join(amDir, "alertmanager.yml")}`,
    `--storage.path=${join(amDir, "data")}`,
    `--web.listen-address=127.0.0.1:${amPort}`,
    "--cluster.listen-address=",
  ]);

  const promDir = tmp("bb-e2e-prom-");
  writeFileSync(join(promDir, "rules.yml"), renderRulesFile(alertRules(policy, { retrySeconds: 300, forOverride: "0s" })));
  writeFileSync(join(promDir, "reader.key"), READER_KEY);
  writeFileSync(
    join(promDir, "prometheus.yml"),
    YAML.stringify({
      global: { scrape_interval: "1s", evaluation_interval: "1s" },
      rule_files: [join(promDir, "rules.yml")],
      alerting: { alertmanagers: [{ static_configs: [{ targets: [`127.0.0.1:${amPort}`] }] }] },
      scrape_configs: [
        {
          job_name: "backlog-bridge",
          authorization: { credentials_file: join(promDir, "reader.key") },
          static_configs: [{ targets: [`127.0.0.1:${appPort}`] }],
        },
      ],
    }),
  );
  start("prometheus", PROMETHEUS, [
    `--config.file=${join(promDir, "prometheus.yml")}`,
    `--storage.tsdb.path=${join(promDir, "data")}`,
    `--web.listen-address=127.0.0.1:${promPort}`,
  ]);
  const logs = () => children.map((c) => `--- ${c.name} ---\n${c.out().slice(-3000)}`).join("\n");

  const page = await until(
    "the P0 page reaching the cto-pager webhook",
    async () => pages.find((p) => p.body.receiver === "cto-pager"),
    90_000,
    logs,
  );
  const latencyMs = Math.round(page.at - started);
  const alert = page.body.alerts.find((a: any) => a.labels.alertname === "BacklogOverdueP0");
  expect(page.body.status).toBe("firing");
  expect(alert.labels).toMatchObject({ alertname: "BacklogOverdueP0", env: "prod", severity: "critical", team: policy.alerts.page_target, action: "page" });
  expect(alert.annotations.runbook_url).toBe("docs/alerting.md#backlogoverduep0");
  expect(alert.annotations.summary).toBe("prod: 1 overdue P0 backlog item(s)");
  // Only prod pages: the staging item is a P2.
  expect(pages.filter((p) => p.body.receiver === "cto-pager").flatMap((p) => p.body.alerts.map((a: any) => a.labels.env))).not.toContain("staging");
  // The series Prometheus stored carry the labels the rules use (scrape job and our `task` do not collide).
  const q = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent("backlog_job_next_fire_timestamp_seconds")}`).then((r) => r.json());
  expect(q.data.result.map((r: any) => r.metric.task).sort()).toEqual(loadRegistry().map((j) => j.id).sort());
  expect(q.data.result.every((r: any) => r.metric.job === "backlog-bridge")).toBe(true);
  // The key is never in what Prometheus or Alertmanager kept.
  expect(JSON.stringify(page.body)).not.toContain(READER_KEY);
  process.stderr.write(`e2e: server start → P0 page at the webhook in ${latencyMs} ms\n`);
}, 120_000);
