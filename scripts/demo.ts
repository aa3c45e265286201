/**
 * The quick-start main job (`npm run demo`): the whole governance chain on one machine, then the
 * dashboard. On the embedded JSONL backend unless BACKLOG_BACKEND says otherwise:
 *   sample signals (shifted so the newest day is now) → risk_history_tool.record
 *   → .snapshot for every hour in the sample → .digest (today) → architecture_pressure_tool.digest
 *   → backlog_tool.auto_generate_weekly → server with the dashboard, readable on loopback without a key.
 * Every step goes through the tool dispatcher, exactly like the scheduler's calls.
 */
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import process from "node:process";
import { AppError } from "../lib/core/app-error.ts";
import { type ParsedCli, runCli } from "../lib/core/cli.ts";
import type { ActionName, ToolName } from "../lib/tools/index.ts";

export const DEFAULT_SAMPLE = "ops/samples/risk_signals.sample.json";
/** Not ops/backlog/: the auto store's JSONL fallback reads that folder and would replay demo items into Postgres. */
export const DEFAULT_DATA_DIR = "ops/demo";
export const DEFAULT_PORT = 8100;

/**
 * The demo writes SAMPLE data and serves it without a key on loopback, so its folder must never hold the
 * real backlog or digests (README: never ops/backlog/ or ops/reports/): neither the defaults nor what
 * BACKLOG_JSONL_DIR / BACKLOG_REPORTS_DIR name.
 */
async function refuseRealDirs(dataDir: string, given: string): Promise<void> {
  const { displayPath, readVar } = await import("../lib/config/index.ts");
  for (const [sub, name] of [["backlog", "BACKLOG_JSONL_DIR"], ["reports", "BACKLOG_REPORTS_DIR"]] as const) {
    const mine = resolve(dataDir, sub);
    const real = [readVar(name, {}), readVar(name)].filter((d): d is string => typeof d === "string").map((d) => resolve(d));
    if (real.includes(mine)) {
      throw new AppError("invalid_input", `--data-dir ${given}: the demo would put its sample data into ${displayPath(mine)}, the real ${sub} folder (${name}), and serve it without a key; choose a folder of its own (default ${DEFAULT_DATA_DIR}).`);
    }
  }
}

/** Variables that would point the demo at real data or a real listener; the demo sets its own. */
const REAL_STORE_VARS = /^(BACKLOG_BACKEND|BACKLOG_POSTGRES_DSN|POSTGRES_[A-Z_]+|BACKLOG_JSONL_DIR|BACKLOG_REPORTS_DIR|PORT|HOST|SCHEDULER_ENABLED)$/;

const spec = {
  name: "demo",
  usage: `Usage: npm run demo [-- OPTIONS]   (or: npx bun run scripts/demo.ts [OPTIONS])

Runs the governance chain end to end on SAMPLE data and serves the resulting backlog:
  1. records ${DEFAULT_SAMPLE} (invented signals of five services over 8 days; timestamps
     shifted so the newest day is now)            risk_history_tool.record
  2. one risk snapshot per recorded hour           risk_history_tool.snapshot
  3. today's risk digest                           risk_history_tool.digest       → DIR/reports/risk/
  4. this week's platform digest                   architecture_pressure_tool.digest → DIR/reports/platform/
  5. this week's backlog items                     backlog_tool.auto_generate_weekly
  6. the dashboard at http://127.0.0.1:${DEFAULT_PORT}/dashboard (no key needed: demo mode, loopback only)
Re-running is safe: snapshots are per hour, generation upserts by dedupe key.

The demo keeps to itself: JSONL files under DIR only (never ops/backlog/, ops/reports/ or a Postgres,
whatever BACKLOG_BACKEND, BACKLOG_JSONL_DIR, BACKLOG_REPORTS_DIR or a DSN say), its own port (not PORT),
and no in-process scheduler. Delete DIR to start over.

Options:
  --data-dir DIR  where the demo's backlog, risk history and digests go (default ${DEFAULT_DATA_DIR}/).
  --port N        dashboard port on 127.0.0.1 (default ${DEFAULT_PORT}; 0 picks a free one).
  --sample FILE   another signal file (JSONL, JSON array or {"records": [...]}; see scripts/risk.ts --help).
  --no-serve      stop after step 5.
  -h, --help      this text.

Env: BACKLOG_POLICY_FILE, BACKLOG_RISK_POLICY_FILE, LOG_LEVEL, LOG_FORMAT.
Logs go to stderr; the summary and the URL to stdout. Ctrl-C, or SIGTERM to the npm process, stops the
server; so does the end of the process that started it.`,
  flags: {
    "data-dir": { type: "string" },
    port: { type: "string" },
    sample: { type: "string" },
    "no-serve": { type: "boolean" },
  },
} as const;

const say = (line = "") => process.stdout.write(line + "\n");

async function main({ values }: ParsedCli<typeof spec.flags>): Promise<number> {
  // Imported here, not at the top: --help is answered before the config, tools, store and server load.
  const [{ displayPath, fromRepo }, { log, logToStderr }, { hourStart }, { parseBatchText, shiftToNow }, { openStore }, tools, { startServer }] = await Promise.all([
    import("../lib/config/index.ts"),
    import("../lib/core/log.ts"),
    import("../lib/risk/score.ts"),
    import("../lib/risk/record.ts"),
    import("../lib/store/index.ts"),
    import("../lib/tools/index.ts"),
    import("../server.ts"),
  ]);
  const { CLI_ENTITLEMENTS, createToolContext, dispatch, loadToolConfig, loadToolRegistry } = tools;
  logToStderr();
  // Config: the demo's own JSONL folder and port, whatever the environment says about the real store.
  const dataDir = fromRepo(values["data-dir"] ?? DEFAULT_DATA_DIR);
  await refuseRealDirs(dataDir, values["data-dir"] ?? DEFAULT_DATA_DIR);
  const portText = values.port ?? String(DEFAULT_PORT);
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) throw new AppError("invalid_input", `--port: expected a port number 0-65535 (0 = any free port), got "${portText}"`);
  const env: Record<string, string | undefined> = Object.fromEntries(Object.entries(process.env).filter(([k]) => !REAL_STORE_VARS.test(k)));
  Object.assign(env, { BACKLOG_BACKEND: "jsonl", BACKLOG_JSONL_DIR: join(dataDir, "backlog"), BACKLOG_REPORTS_DIR: join(dataDir, "reports"), SCHEDULER_ENABLED: "false" });
  const { paths, policy } = loadToolConfig(env);
  const samplePath = fromRepo(values.sample ?? DEFAULT_SAMPLE);
  let text: string;
  try {
    text = await readFile(samplePath, "utf8");
  } catch (err) {
    throw new AppError("config", `Cannot read the sample signals ${displayPath(samplePath)}: ${(err as Error).message}`, { cause: err });
  }
  const registry = await loadToolRegistry({ policy });

  const store = await openStore({ log }, env);
  try {
    const ctx = createToolContext({ store, paths, agent: "demo", entitlements: CLI_ENTITLEMENTS, log });
    const call = <T extends ToolName, A extends ActionName<T>>(tool: T, action: A, params: Record<string, unknown> = {}) => dispatch(registry, { tool, action, params }, ctx);
    const now = new Date();
    const records = shiftToNow(parseBatchText(text, displayPath(samplePath)).entries, now);

    say(`backlog-bridge demo — SAMPLE data from ${displayPath(samplePath)} on ${store.name}`);
    const recorded = await call("risk_history_tool", "record", { records });
    say(`1. recorded ${recorded.recorded} signal records (${recorded.storage})`);

    const byEnv = new Map<string, Set<string>>();
    for (const r of records as { env?: string; ts: string }[]) {
      const e = r.env ?? policy.envs[0]!;
      if (!byEnv.has(e)) byEnv.set(e, new Set());
      byEnv.get(e)!.add(hourStart(new Date(r.ts)));
    }
    let inserted = 0;
    for (const [e, hours] of byEnv) {
      for (const at of [...hours].sort()) inserted += (await call("risk_history_tool", "snapshot", { env: e, at })).inserted;
      inserted += (await call("risk_history_tool", "snapshot", { env: e })).inserted;
    }
    say(`2. ${inserted} new hourly risk snapshots`);

    for (const e of byEnv.keys()) {
      const risk = await call("risk_history_tool", "digest", { env: e });
      say(`3. risk digest ${e} ${risk.date}: ${risk.services} services → ${displayPath(risk.files.json)}`);
      const platform = await call("architecture_pressure_tool", "digest", { env: e });
      say(`4. platform digest ${e} ${platform.week} → ${displayPath(platform.files.json)}`);
      for (const s of platform.digest.services) {
        say(`     ${s.service.padEnd(16)} pressure ${String(s.pressure_score).padStart(5)} ${s.band.padEnd(8)} ${s.recommended_categories.join(", ") || "—"}`);
      }
      const gen = await call("backlog_tool", "auto_generate_weekly", { env: e });
      say(gen.skipped ? `5. generation skipped: ${gen.reason}` : `5. backlog ${e} ${gen.week}: ${gen.created} created, ${gen.updated} updated, ${gen.unchanged} unchanged`);
    }

    if (values["no-serve"]) return 0;
    const server = await startServer({ store, demo: true, env, log, port, host: "127.0.0.1", schedulerEnabled: false });
    say("");
    say(`Dashboard: ${server.url}/dashboard?env=${policy.envs[0]}   (JSON: ${server.url}/v1/backlog/dashboard?env=${policy.envs[0]})`);
    say("Press Ctrl-C to stop.");
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      // Started through npx, the demo runs under a shell that dies on SIGTERM without passing it on:
      // once our parent is gone, stop as if signalled rather than keep the port as an orphan.
      const parent = process.ppid;
      setInterval(() => process.ppid !== parent && stop(), 500).unref();
    });
    await server.stop();
    return 0;
  } finally {
    // The server was given our store, so closing it is ours to do.
    await store.close();
  }
}

runCli(spec, main);
