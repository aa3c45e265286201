/**
 * The quick-start main job (`npm run demo`): the whole governance chain on one machine, then the
 * dashboard. On the embedded JSONL backend unless BACKLOG_BACKEND says otherwise:
 *   sample signals (shifted so the newest day is now) → risk_history_tool.record
 *   → .snapshot for every hour in the sample → .digest (today) → architecture_pressure_tool.digest
 *   → backlog_tool.auto_generate_weekly → server with the dashboard, readable on loopback without a key.
 * Every step goes through the tool dispatcher, exactly like the scheduler's calls.
 */
import { readFile } from "node:fs/promises";
import process from "node:process";
import { parseCli, runMain } from "../lib/cli.ts";
import { AppError } from "../lib/errors.ts";
import { log, logToStderr } from "../lib/log.ts";
import { displayPath, fromRepoRoot } from "../lib/policy.ts";
import { hourStart } from "../lib/risk/score.ts";
import { parseBatchText, shiftToNow } from "../lib/risk/record.ts";
import { openStore } from "../lib/store/index.ts";
import { CLI_ENTITLEMENTS, createToolContext, createToolRegistry, dispatch, loadToolConfig } from "../lib/tools/index.ts";
import { startServer } from "../server.ts";

export const DEFAULT_SAMPLE = "ops/samples/risk_signals.sample.json";

const spec = {
  name: "demo",
  usage: `Usage: npm run demo   (npx bun run scripts/demo.ts [--sample FILE] [--no-serve])

Runs the governance chain end to end on SAMPLE data and serves the resulting backlog:
  1. records ${DEFAULT_SAMPLE} (invented signals of five services over 8 days; timestamps
     shifted so the newest day is now)            risk_history_tool.record
  2. one risk snapshot per recorded hour           risk_history_tool.snapshot
  3. today's risk digest                           risk_history_tool.digest       → <reports>/risk/
  4. this week's platform digest                   architecture_pressure_tool.digest → <reports>/platform/
  5. this week's backlog items                     backlog_tool.auto_generate_weekly
  6. the dashboard at http://127.0.0.1:$PORT/dashboard (no key needed: demo mode, loopback only)
Re-running is safe: snapshots are per hour, generation upserts by dedupe key.

Options:
  --sample FILE  another signal file (JSONL, JSON array or {"records": [...]}; see scripts/risk.ts --help).
  --no-serve     stop after step 5.
  -h, --help     this text.

Env: BACKLOG_BACKEND (default here: jsonl), BACKLOG_JSONL_DIR (default ops/backlog), BACKLOG_REPORTS_DIR
(default ops/reports), PORT (default 8000), BACKLOG_POLICY_FILE, BACKLOG_RISK_POLICY_FILE, LOG_LEVEL.
Logs go to stderr; the summary and the URL to stdout. Ctrl-C stops the server.`,
  flags: {
    sample: { type: "string" },
    "no-serve": { type: "boolean" },
  },
} as const;

const say = (line = "") => process.stdout.write(line + "\n");

async function main(): Promise<number> {
  const { values, help } = parseCli(spec);
  if (help) {
    say(spec.usage);
    return 0;
  }
  logToStderr();
  // Config: the embedded default unless the operator chose a backend.
  const env = { ...process.env, BACKLOG_BACKEND: process.env.BACKLOG_BACKEND || "jsonl" };
  const { paths, policy } = loadToolConfig(env);
  const samplePath = fromRepoRoot((values.sample as string | undefined) ?? DEFAULT_SAMPLE);
  let text: string;
  try {
    text = await readFile(samplePath, "utf8");
  } catch (err) {
    throw new AppError("config", `Cannot read the sample signals ${displayPath(samplePath)}: ${(err as Error).message}`, { cause: err });
  }
  const registry = createToolRegistry({ policy });

  const store = await openStore({ log }, env);
  try {
    const ctx = createToolContext({ store, paths, agent: "demo", entitlements: CLI_ENTITLEMENTS, log });
    const call = (tool: string, action: string, params: Record<string, unknown> = {}) => dispatch(registry, { tool, action, params }, ctx) as Promise<any>;
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
    const server = await startServer({ store, demo: true, env, log });
    say("");
    say(`Dashboard: ${server.url}/dashboard?env=${policy.envs[0]}   (JSON: ${server.url}/v1/backlog/dashboard?env=${policy.envs[0]})`);
    say("Press Ctrl-C to stop.");
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
    await server.stop();
    return 0;
  } finally {
    // The server was given our store, so closing it is ours to do.
    await store.close();
  }
}

runMain("demo", main);
