/**
 * Issue 15 item 4/7: every script (scripts/*.ts, ops/scripts/*.ts) and the server, driven through
 * failures with a known password in every DSN shape a user types and known API keys; ALL output
 * (stdout, stderr, JSON logs at LOG_LEVEL=debug with stacks, HTTP bodies, /metrics) is grepped for them.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO, runScript } from "../helpers/run.ts";
import { ACCESS_ENV, KEYS } from "../http/harness.ts";
import { startServer } from "../http/server-spawn.ts";

const PW = "Zq7vPw0rdXk2";
const SECRETS = [PW, ...Object.values(KEYS)];
const ROUTER_PW = "RouterPw9Lm3";

// Every shape of DSN, each carrying the password; hosts fail fast (refused port, unresolvable name).
export const DSN_SHAPES = [
  `postgresql://bb:${PW}@127.0.0.1:1/db`,
  `postgres://bb:${PW}@127.0.0.1:1/db?sslmode=disable`,
  `bb:${PW}@127.0.0.1:1/db`,
  `postgresql:/bb:${PW}@127.0.0.1:1/db`,
  `postgresql://bb:x@${PW}@127.0.0.1:1/db`,
  `postgresql://bb:${PW}:a/b@127.0.0.1:1/db`,
  `postgresql://127.0.0.1:1/db?user=bb&password=${PW}`,
  `postgresql://bb:${PW}@no-such-host.invalid/db`,
];

const tmp = mkdtempSync(join(tmpdir(), "bb-secrets-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const baseEnv = (dsn: string, backend = "postgres") => ({
  ...ACCESS_ENV,
  BACKLOG_BACKEND: backend,
  BACKLOG_POSTGRES_DSN: dsn,
  BACKLOG_PG_CONNECT_TIMEOUT: "1",
  BACKLOG_JSONL_DIR: join(tmp, "jsonl"),
  BACKLOG_REPORTS_DIR: join(tmp, "reports"),
  LOG_LEVEL: "debug",
});

const upsert = JSON.stringify({ env: "prod", service: "gateway", category: "security", title: "t", priority: "P1", dedupe_key: "k" });
const DB_COMMANDS: [string, string[]][] = [
  ["scripts/migrate.ts", []],
  ["scripts/migrate.ts", ["--status"]],
  ["scripts/tool.ts", ["backlog_tool", "list"]],
  ["scripts/tool.ts", ["backlog_tool", "upsert", "--params-json", upsert]],
  ["scripts/cleanup.ts", ["--dry-run"]],
  ["scripts/generate.ts", ["--env", "prod", "--dry-run"]],
  ["scripts/risk.ts", ["--from-file", "ops/samples/risk_signals.sample.json", "--dry-run"]],
  ["scripts/seed.ts", []],
];

const found: string[] = [];
function scan(where: string, text: string) {
  for (const s of SECRETS) if (text.includes(s)) found.push(`${where}: contains ${s === PW ? "the DB password" : "an API key"}\n${text.slice(Math.max(0, text.indexOf(s) - 200), text.indexOf(s) + 50)}`);
  if (text.includes(ROUTER_PW)) found.push(`${where}: contains the router URL password`);
}

async function pool<T>(items: T[], n: number, fn: (item: T) => Promise<void>) {
  const queue = [...items];
  await Promise.all(Array.from({ length: n }, async () => {
    for (let it = queue.shift(); it !== undefined; it = queue.shift()) await fn(it);
  }));
}

test("every script and the server: no password or key in any output", async () => {
  const runs: { script: string; args: string[]; env: Record<string, string> }[] = [];
  // Every shape through the one config path (lib/pg/db.ts) from env, --dsn and the auto fallback; every
  // DB command with a well-formed DSN that is refused and one whose host does not resolve.
  for (const dsn of DSN_SHAPES) {
    runs.push({ script: "scripts/tool.ts", args: ["backlog_tool", "list"], env: baseEnv(dsn) });
    runs.push({ script: "scripts/tool.ts", args: ["backlog_tool", "list"], env: baseEnv(dsn, "auto") });
    runs.push({ script: "scripts/migrate.ts", args: ["--dsn", dsn], env: baseEnv("") });
  }
  for (const dsn of [DSN_SHAPES[0]!, DSN_SHAPES.at(-1)!]) for (const [script, args] of DB_COMMANDS) runs.push({ script, args, env: baseEnv(dsn) });
  // The parts form (Kubernetes Jobs) with a password that would be mangled if it were ever put in a URL.
  runs.push({ script: "scripts/migrate.ts", args: [], env: { ...baseEnv(""), POSTGRES_HOST: "127.0.0.1", POSTGRES_PORT: "1", POSTGRES_USER: "bb", POSTGRES_PASSWORD: PW } });
  // Every other script, with the secrets in its environment and a failure of its own.
  const scripts = [...readdirSync(join(REPO, "scripts")).map((f) => `scripts/${f}`), ...readdirSync(join(REPO, "ops/scripts")).map((f) => `ops/scripts/${f}`)].filter((f) => f.endsWith(".ts"));
  for (const script of scripts) {
    runs.push({ script, args: ["--no-such-flag"], env: baseEnv(DSN_SHAPES[0]!) });
  }
  runs.push({ script: "ops/scripts/run_governance_job.ts", args: ["--tool", "backlog_tool", "--action", "dashboard"], env: { ...baseEnv(DSN_SHAPES[0]!), ROUTER_URL: `http://runner:${ROUTER_PW}@127.0.0.1:1` } });
  runs.push({ script: "ops/scripts/run_governance_job.ts", args: ["--tool", "backlog_tool", "--action", "dashboard"], env: { ...baseEnv(DSN_SHAPES[0]!), ROUTER_URL: "http://127.0.0.1:1", SCHEDULER_API_KEY: KEYS.scheduler } });
  runs.push({ script: "scripts/check.ts", args: [], env: baseEnv(DSN_SHAPES[0]!) });
  runs.push({ script: "scripts/demo.ts", args: ["--no-serve", "--data-dir", join(tmp, "demo")], env: baseEnv(DSN_SHAPES[0]!) });
  const covered = new Set(runs.map((r) => r.script));
  for (const s of scripts) expect(covered.has(s)).toBe(true);

  let failures = 0;
  await pool(runs, 4, async (r) => {
    const res = await runScript(r.script, r.args, { env: r.env, timeoutMs: 60_000 });
    if (res.code !== 0) failures++;
    scan(`${r.script} ${r.args.join(" ")} [${r.env.BACKLOG_POSTGRES_DSN || r.env.POSTGRES_HOST || ""}]`, res.stdout + res.stderr);
  });

  // The server: on auto it starts on the JSONL fallback and logs why; then wrong keys, /readyz, /metrics.
  let served = 0;
  for (const dsn of DSN_SHAPES) {
    const srv = await startServer({ ...baseEnv(dsn, "auto"), PORT: "0" }).catch((err: Error) => err);
    if (srv instanceof Error) {
      scan(`server.ts auto [${dsn}] start failure`, srv.message);
      continue;
    }
    served++;
    try {
      const bodies: string[] = [];
      for (const [path, headers] of [
        ["/readyz", {}],
        ["/healthz", {}],
        ["/metrics", { authorization: `Bearer ${KEYS.admin}` }],
        ["/v1/backlog/dashboard?env=prod", { authorization: `Bearer ${KEYS.reader}x` }],
        ["/v1/backlog/dashboard?env=prod", { "x-api-key": KEYS.reader.slice(0, -1) }],
        ["/v1/backlog/dashboard?env=prod", { authorization: `Bearer ${KEYS.reader}` }],
        ["/dashboard?env=prod", { authorization: `Bearer ${KEYS.reader}` }],
      ] as [string, Record<string, string>][]) {
        const res = await fetch(srv.url + path, { headers });
        bodies.push(`${res.status} ${JSON.stringify([...res.headers])} ${await res.text()}`);
      }
      const res = await fetch(srv.url + "/v1/tools/execute", { method: "POST", headers: { authorization: `Bearer ${KEYS.writer}`, "content-type": "application/json" }, body: JSON.stringify({ tool: "backlog_tool", action: "upsert", params: JSON.parse(upsert) }) });
      bodies.push(await res.text());
      srv.child.kill("SIGTERM");
      await srv.exited;
      scan(`server.ts [${dsn}] HTTP bodies`, bodies.join("\n"));
      scan(`server.ts [${dsn}] output`, srv.output());
    } finally {
      srv.child.kill("SIGKILL");
    }
  }
  // A server that cannot start (postgres backend, unreachable) must not print the DSN either.
  for (const dsn of DSN_SHAPES) {
    const failed = await startServer({ ...baseEnv(dsn, "postgres"), PORT: "0" }).then(
      (s) => (s.child.kill("SIGKILL"), "started"),
      (err: Error) => err.message,
    );
    scan(`server.ts postgres [${dsn}] start failure`, failed);
  }
  expect(served).toBeGreaterThan(0);
  console.log(`secrets scan: ${runs.length} script runs (${failures} failed as intended or not), ${DSN_SHAPES.length * 2} server starts (${served} served on the auto fallback); occurrences found: ${found.length}`);
  expect(found).toEqual([]);
}, 600_000);
