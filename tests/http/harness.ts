/** Builds the real Hono app over a given store, with the shipped policy and known API keys. */
import { cpSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { buildAccess } from "../../lib/access/config.ts";
import { createApp, type RunClaims, type SchedulerView } from "../../lib/http/app.ts";
import { quarantineOf, takeSnapshot } from "../../lib/alerting/snapshot.ts";
import { attentionSource } from "../../lib/alerting/source.ts";
import { createMetrics } from "../../lib/http/metrics.ts";
import type { RunLedger } from "../../lib/scheduler/ledger.ts";
import { MemoryRunLedger } from "../../lib/scheduler/ledger-open.ts";
import { loadRegistry } from "../../lib/scheduler/registry.ts";
import { evaluateAlerts, loadPolicy } from "../../lib/generation/policy.ts";
import { silentLogger } from "../../lib/core/log.ts";
import { servingBackend } from "../../lib/store/index.ts";
import type { BacklogStore } from "../../lib/store/types.ts";
import { createToolContext, loadToolRegistry, resolveToolPaths } from "../../lib/tools/index.ts";
import { REPO } from "../helpers/run.ts";
import { tempDir } from "../helpers/tmp.ts";

export const KEYS = {
  reader: "reader-key-0123456789",
  writer: "writer-key-0123456789",
  admin: "admin-key-0123456789",
  scheduler: "scheduler-key-0123456789",
  alertmanager: "alertmanager-key-0123456789",
} as const;

export const ACCESS_ENV = {
  SCHEDULER_API_KEY: KEYS.scheduler,
  BACKLOG_ADMIN_API_KEY: KEYS.admin,
  BACKLOG_WRITER_API_KEY: KEYS.writer,
  BACKLOG_READER_API_KEY: KEYS.reader,
  BACKLOG_ALERTMANAGER_API_KEY: KEYS.alertmanager,
};

/** A reports dir holding the fixture platform digest for prod, week 2026-W47. */
export function reportsWithFixture(): string {
  const dir = tempDir("bb-reports-");
  mkdirSync(join(dir, "platform"), { recursive: true });
  cpSync(join(REPO, "tests/fixtures/platform-2026-W47.json"), join(dir, "platform/2026-W47.json"));
  return dir;
}

/** The shipped policy's tools, loaded once (loading is async: each tool is behind an import()). */
const SHIPPED_POLICY = loadPolicy();
const SHIPPED_TOOLS = await loadToolRegistry({ policy: SHIPPED_POLICY });

export function buildTestApp(store: BacklogStore, opts: { anonymousRead?: boolean; now?: Date; clock?: () => Date; reportsDir?: string; bodyLimitBytes?: number; ledger?: RunClaims; scheduler?: SchedulerView } = {}) {
  const policy = SHIPPED_POLICY;
  const reportsDir = opts.reportsDir ?? reportsWithFixture();
  const paths = { ...resolveToolPaths({}), reportsDir };
  const rawAccess = {
    agents: {
      scheduler: { key_env: "SCHEDULER_API_KEY", entitlements: ["tools.backlog.admin", "tools.pressure.write", "tools.risk.write"] },
      admin: { key_env: "BACKLOG_ADMIN_API_KEY", entitlements: ["tools.backlog.admin"] },
      writer: { key_env: "BACKLOG_WRITER_API_KEY", entitlements: ["tools.backlog.write"] },
      reader: { key_env: "BACKLOG_READER_API_KEY", entitlements: ["tools.backlog.read"] },
      alertmanager: { key_env: "BACKLOG_ALERTMANAGER_API_KEY", entitlements: ["tools.alerts.write"] },
    },
    anonymous: { entitlements: opts.anonymousRead ? ["tools.backlog.read"] : [] },
  };
  const access = buildAccess(rawAccess, ACCESS_ENV);
  const clock = opts.clock ?? (() => opts.now ?? new Date("2026-11-23T10:00:00.000Z"));
  const registry = SHIPPED_TOOLS;
  const stats: Pick<RunLedger, "stats"> = opts.ledger && "stats" in opts.ledger ? (opts.ledger as RunLedger) : new MemoryRunLedger();
  const jobs = loadRegistry().map((j) => ({ id: j.id, schedule: j.schedule, catchUpMs: j.catchUpMs }));
  const metrics = createMetrics(
    (now) => takeSnapshot({ source: attentionSource(store), health: () => store.health(), quarantined: () => quarantineOf(store), ledger: stats, jobs, envs: policy.envs, warnDays: policy.notify.warn_days }, now),
    { clock, cacheMs: 0 },
  );
  const app = createApp({
    registry,
    access,
    toolContext: (id) => createToolContext({ store, paths, agent: id.agent, entitlements: id.entitlements, now: clock, log: silentLogger }),
    health: () => store.health(),
    backend: () => servingBackend(store),
    // As server.ts wires it: every HTTP test runs with the read cache on (conditional.ts).
    version: store.version ? (scope) => store.version!(scope) : undefined,
    alerts: (d) => evaluateAlerts(d, policy),
    metrics,
    log: silentLogger,
    clock,
    bodyLimitBytes: opts.bodyLimitBytes,
    ledger: opts.ledger,
    scheduler: opts.scheduler,
  });
  return { app, reportsDir, policy };
}

export const auth = (who: keyof typeof KEYS | "bad" | "none", style: "bearer" | "x-api-key" = "bearer"): Record<string, string> =>
  who === "none" ? {} : style === "bearer" ? { authorization: `Bearer ${who === "bad" ? "wrong-key" : KEYS[who]}` } : { "x-api-key": who === "bad" ? "wrong-key" : KEYS[who] };
