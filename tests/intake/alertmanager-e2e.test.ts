/**
 * End to end on loopback with the real prometheus-alertmanager: the real server.ts (JSONL store, a policy
 * with alert_intake.auto_resolve on) is Alertmanager's webhook receiver, authenticated with the
 * alertmanager agent's key from a credentials_file. Alerts are pushed into Alertmanager's own API:
 * one fires → its item appears; it resolves → the item is done; it fires again → the same item is
 * reopened, never a second one. Every process is stopped and every temp dir removed at the end.
 */
import { afterAll, expect, test } from "bun:test";
import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import YAML from "yaml";
import { ALERTMANAGER, requireBinary, until } from "../alerting/tools.ts";
import { freePort } from "../helpers/pg-cluster.ts";
import { REPO } from "../helpers/run.ts";
import { tempDir } from "../helpers/tmp.ts";
import { startServer, type SpawnedServer } from "../http/server-spawn.ts";

const AM_KEY = "e2e-alertmanager-key-0123456789";
const READER_KEY = "e2e-intake-reader-key-0123456789";
let server: SpawnedServer | undefined;
let am: { proc: ChildProcess; out: () => string } | undefined;

afterAll(async () => {
  for (const p of [am?.proc, server?.child]) {
    if (!p || p.exitCode !== null || p.signalCode !== null) continue;
    const gone = new Promise((r) => p.once("close", r));
    p.kill("SIGTERM");
    await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
    if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
  }
});

test("a real Alertmanager files, resolves and reopens ONE backlog item for an alert group", async () => {
  requireBinary(ALERTMANAGER);
  const dir = tempDir("bb-intake-e2e-");
  writeFileSync(join(dir, "policy.yml"), "alert_intake:\n  auto_resolve: true\n  reopen_within_days: 7\n");
  server = await startServer({
    PORT: "0",
    BACKLOG_BACKEND: "jsonl",
    BACKLOG_JSONL_DIR: join(dir, "store"),
    BACKLOG_POLICY_FILE: join(dir, "policy.yml"),
    BACKLOG_ALERTMANAGER_API_KEY: AM_KEY,
    BACKLOG_READER_API_KEY: READER_KEY,
  });

  writeFileSync(join(dir, "backlog.key"), AM_KEY);
  writeFileSync(
    join(dir, "alertmanager.yml"),
    YAML.stringify({
      route: { receiver: "backlog", group_by: ["alertname", "env"], group_wait: "1s", group_interval: "1s", repeat_interval: "1h" },
      receivers: [
        {
          name: "backlog",
          webhook_configs: [{ url: `${server.url}/v1/alerts/alertmanager`, send_resolved: true, max_alerts: 200, http_config: { authorization: { type: "Bearer", credentials_file: join(dir, "backlog.key") } } }],
        },
      ],
    }),
  );
  const amPort = await freePort();
  let amOut = "";
  const proc = spawn(ALERTMANAGER, [`--config.file=${join(dir, "alertmanager.yml")}`, `--storage.path=${join(dir, "am-data")}`, `--web.listen-address=127.0.0.1:${amPort}`, "--cluster.listen-address="], {
    cwd: REPO,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp" },
  });
  proc.stdout!.on("data", (d) => (amOut += d));
  proc.stderr!.on("data", (d) => (amOut += d));
  am = { proc, out: () => amOut };
  const logs = () => `--- alertmanager ---\n${amOut.slice(-3000)}\n--- server ---\n${server!.output().slice(-3000)}`;
  const amUrl = `http://127.0.0.1:${amPort}`;
  await until("Alertmanager ready", async () => ((await fetch(`${amUrl}/-/ready`)).ok ? true : undefined), 60_000, logs);

  const labels = { alertname: "HighErrorRate", env: "prod", service: "gateway", team: "team-edge", severity: "critical" };
  const push = async (endsAt: Date) => {
    const res = await fetch(`${amUrl}/api/v2/alerts`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify([{ labels, annotations: { summary: "5xx above 5%" }, startsAt: firedAt.toISOString(), endsAt: endsAt.toISOString(), generatorURL: "http://prometheus.local/graph" }]),
    });
    expect(res.status).toBe(200);
  };
  const items = async () => {
    const res = await fetch(`${server!.url}/v1/backlog/items?env=prod`, { headers: { authorization: `Bearer ${READER_KEY}` } });
    return ((await res.json()) as { items: { id: string; status: string; title: string; owner: string; priority: string; dedupe_key: string; source: string }[] }).items;
  };
  const events = async (id: string) => {
    const res = await fetch(`${server!.url}/v1/backlog/items/${id}`, { headers: { authorization: `Bearer ${READER_KEY}` } });
    return ((await res.json()) as { events: { type: string; actor: string }[] }).events;
  };

  // 1. fires → the item appears
  let firedAt = new Date();
  await push(new Date(firedAt.getTime() + 3_600_000));
  const created = await until("the item filed by Alertmanager", async () => (await items()).find((i) => i.source === "alertmanager"), 60_000, logs);
  expect(created).toMatchObject({ status: "open", title: "HighErrorRate: gateway in prod", owner: "team-edge", priority: "P0" });
  expect(created.dedupe_key).toMatch(/^alertmanager:[0-9a-f]{24}:1$/);

  // 2. resolves → the item is done, by the alertmanager agent, with the event saying why
  await push(new Date());
  await until("the item resolved", async () => ((await items()).find((i) => i.id === created.id)?.status === "done" ? true : undefined), 60_000, logs);
  expect((await events(created.id)).find((e) => e.type === "auto_resolved")).toMatchObject({ actor: "alertmanager" });

  // 3. fires again → the same item reopened, not a second one
  firedAt = new Date();
  await push(new Date(firedAt.getTime() + 3_600_000));
  await until("the item reopened", async () => ((await items()).find((i) => i.id === created.id)?.status === "open" ? true : undefined), 60_000, logs);
  const all = (await items()).filter((i) => i.source === "alertmanager");
  expect(all.map((i) => i.id)).toEqual([created.id]);
  const types = (await events(created.id)).map((e) => e.type);
  expect(types.filter((t) => t === "created")).toHaveLength(1);
  expect(types).toContain("reopened");
  // The key is in no log line of either process.
  expect(amOut + server.output()).not.toContain(AM_KEY);
}, 120_000);
