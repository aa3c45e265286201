/**
 * risk_history_tool: per-service health signals in, hourly risk score snapshots, the daily risk digest,
 * retention cleanup (docs/governance.md). All actions need tools.risk.write (the scheduler's
 * entitlement, runbook 9); all take `dry_run: true` and then write nothing and return what they would.
 * Storage follows the backlog store's backend (lib/risk/storage.ts).
 */
import * as v from "valibot";
import { AppError } from "../core/errors.ts";
import { riskDigestSchema } from "../generation/digest-schema.ts";
import { DateString } from "../domain/schemas.ts";
import { parseDate } from "../core/isoweek.ts";
import type { Policy } from "../generation/policy.ts";
import { checkDigest, reportPaths, writeReport } from "../generation/reports.ts";
import { buildRiskDigest, DIGEST_LOOKBACK_MS, renderRiskMarkdown } from "../risk/daily.ts";
import type { HistoryRow } from "../risk/history-store.ts";
import type { RiskPolicy } from "../risk/policy.ts";
import { MAX_BATCH, parseBatch } from "../risk/record.ts";
import { DAY_MS, hourStart, latestSignals, scoreSignals, topSignals } from "../risk/score.ts";
import { Instant, MAX_FUTURE_SKEW_MS, ServiceName, SignalsSchema } from "../risk/signals.ts";
import { riskHistoryFor } from "../risk/storage.ts";
import { todayUtc } from "../store/dates.ts";
import { refuseWhileDegraded } from "../store/index.ts";
import { strictObject } from "../core/strict.ts";
import { defineAction, type Tool, type ToolContext } from "./types.ts";

export const RISK_TOOL = "risk_history_tool";
export const NO_RISK_HISTORY = "No risk history found";

const params = <E extends v.ObjectEntries>(entries: E) => strictObject(entries, "parameter");
const DryRun = v.optional(v.boolean(), false);

/** A caller-given instant may not lie in the future: history is about what happened. */
function pastInstant(field: string, value: string | undefined, now: Date): Date {
  if (value === undefined) return now;
  const at = new Date(value);
  if (at.getTime() > now.getTime() + MAX_FUTURE_SKEW_MS) {
    throw new AppError("invalid_input", `${field}: must not be in the future (now is ${now.toISOString()}), got ${JSON.stringify(value)}`);
  }
  return at;
}

export function createRiskTool(policy: Policy, risk: RiskPolicy) {
  const envs = policy.envs as [string, ...string[]];
  const Env = v.optional(v.picklist(envs, `must be one of ${envs.join("|")} (config/backlog_policy.yml envs)`), envs[0]);
  const storage = (ctx: ToolContext) => riskHistoryFor(ctx.store, ctx.log);

  return {
    name: RISK_TOOL,
    description: "Risk signals per service, hourly risk score snapshots, the daily risk digest and retention cleanup.",
    actions: {
      record: defineAction({
        description:
          "Records health signals: {env, service, signals, ts?, source?} for one service, or {records: [...]} for a batch " +
          "(validated entirely before anything is written). Returns {recorded, storage}.",
        params: params({
          env: v.optional(v.unknown()),
          service: v.optional(ServiceName),
          signals: v.optional(SignalsSchema),
          ts: v.optional(Instant),
          source: v.optional(v.string()),
          records: v.optional(v.pipe(v.array(v.unknown()), v.maxLength(MAX_BATCH, `at most ${MAX_BATCH} records per call`))),
          dry_run: DryRun,
        }),
        entitlement: "tools.risk.write",
        writes: true,
        run: async (p, ctx) => {
          const now = ctx.now();
          const { records: batch, dry_run, ...single } = p;
          let entries: unknown[];
          let label: (i: number) => string;
          if (batch !== undefined) {
            const extra = Object.entries(single).filter(([, x]) => x !== undefined).map(([k]) => k);
            if (extra.length) throw new AppError("invalid_input", `Invalid params for ${RISK_TOOL}.record:\n  ${extra.join(", ")}: give them inside each of records, not next to it`);
            [entries, label] = [batch, (i) => `records.${i}.`];
          } else {
            const missing = (["service", "signals"] as const).filter((k) => single[k] === undefined);
            if (missing.length) throw new AppError("invalid_input", `Invalid params for ${RISK_TOOL}.record:\n  ${missing.map((k) => `${k}: is required (or pass records: [...])`).join("\n  ")}`);
            const one = Object.fromEntries(Object.entries({ env: envs[0], ...single }).filter(([, x]) => x !== undefined));
            [entries, label] = [[one], () => ""];
          }
          const records = parseBatch(entries, label, envs, ctx.agent, now, `Invalid params for ${RISK_TOOL}.record`);
          const store = storage(ctx);
          if (!dry_run) await store.addSignals(records);
          return { dry_run, recorded: dry_run ? 0 : records.length, would_record: dry_run ? records.length : undefined, storage: store.name, records: records.slice(0, 100) };
        },
      }),

      snapshot: defineAction({
        description:
          "Scores every service of the env from its latest signals (config/risk_policy.yml) and stores one history row per " +
          "service for the UTC hour of `at` (default now). Idempotent per hour: a second run inserts nothing.",
        params: params({ env: Env, at: v.optional(Instant), dry_run: DryRun }),
        entitlement: "tools.risk.write",
        writes: true,
        needs_full_view: true,
        run: async (p, ctx) => {
          // Before the reads, and again after them: a switch to the fallback mid-read is refused too.
          const refuse = () => refuseOnFallback(ctx, "snapshot");
          refuse();
          const now = ctx.now();
          const at = pastInstant("at", p.at, now);
          const hour = hourStart(at);
          const store = storage(ctx);
          const from = new Date(at.getTime() - risk.stale_after_days * DAY_MS).toISOString();
          const latest = latestSignals(await store.signals(p.env, from, at.toISOString()), from, at.toISOString());
          refuse();
          const rows: HistoryRow[] = [...latest.values()].map((l) => ({
            env: p.env,
            service: l.service,
            hour,
            ...scoreSignals(l.signals, risk),
            signals: l.signals,
            created_at: now.toISOString(),
          }));
          const base = { env: p.env, hour, dry_run: p.dry_run, storage: store.name };
          if (!rows.length) {
            const skipped = `no signals recorded for ${p.env} between ${from} and ${at.toISOString()} (stale_after_days ${risk.stale_after_days}): nothing to snapshot; record signals with ${RISK_TOOL}.record`;
            ctx.log.warn("risk_snapshot_skipped", { env: p.env, hour, reason: skipped });
            return { ...base, inserted: 0, existing: 0, skipped, services: [] };
          }
          let inserted: Set<string>;
          if (p.dry_run) {
            const have = new Set((await store.history(p.env, hour, hour)).map((r) => r.service));
            inserted = new Set(rows.map((r) => r.service).filter((s) => !have.has(s)));
          } else {
            inserted = new Set((await store.addSnapshots(rows)).map((r) => r.service));
          }
          return {
            ...base,
            inserted: inserted.size,
            existing: rows.length - inserted.size,
            services: rows
              .sort((a, b) => b.score - a.score || (a.service < b.service ? -1 : 1))
              .map((r) => ({ service: r.service, score: r.score, band: r.band, new: inserted.has(r.service), top_signals: topSignals(r.signals, r.contributions, risk.top_signals) })),
          };
        },
      }),

      digest: defineAction({
        description:
          "Writes the daily risk digest ops/reports/risk/YYYY-MM-DD.json and .md (per service: score, band, change over 24 h " +
          "and 7 days, top signals). `date` defaults to today (UTC). No history in the last 24 h → error, nothing written.",
        params: params({ env: Env, date: v.optional(DateString), dry_run: DryRun }),
        entitlement: "tools.risk.write",
        writes: true,
        needs_full_view: true,
        run: async (p, ctx) => {
          const refuse = () => refuseOnFallback(ctx, "digest");
          refuse();
          const now = ctx.now();
          const date = p.date ?? todayUtc(now);
          const endOfDate = parseDate(date).getTime() + DAY_MS - 1;
          if (endOfDate - DAY_MS + 1 > now.getTime()) throw new AppError("invalid_input", `date: must not be after today (${todayUtc(now)}), got ${JSON.stringify(date)}`);
          const asOf = new Date(Math.min(endOfDate, now.getTime())).toISOString();
          const store = storage(ctx);
          const history = await store.history(p.env, new Date(Date.parse(asOf) - DIGEST_LOOKBACK_MS).toISOString(), asOf);
          refuse(); // after the read: from the fallback after a switch mid-read, it is no "no history"
          const digest = checkDigest(
            riskDigestSchema(Object.keys(policy.categories)),
            buildRiskDigest({ env: p.env, date, asOf, generatedAt: now.toISOString(), history, policy: risk }),
            `The risk digest for ${p.env} ${date}`,
          );
          if (!digest.services.length) {
            throw new AppError(
              "not_found",
              `${NO_RISK_HISTORY} for ${p.env} in the 24 hours before ${asOf}. Run ${RISK_TOOL}.snapshot first (after recording signals with ${RISK_TOOL}.record). No risk digest was written.`,
            );
          }
          const paths = reportPaths(ctx.paths.reportsDir, "risk", p.env, date, envs[0]);
          if (!p.dry_run) await writeReport(paths, digest, renderRiskMarkdown(digest));
          return { dry_run: p.dry_run, env: p.env, date, files: paths, written: !p.dry_run, services: digest.services.length, digest };
        },
      }),

      cleanup: defineAction({
        description:
          "Drops recorded signals and history rows older than retention_days (default: config/risk_policy.yml retention_days), " +
          "of `env` when given, else of every env.",
        params: params({
          env: v.optional(v.picklist(envs, `must be one of ${envs.join("|")} (config/backlog_policy.yml envs)`)),
          retention_days: v.optional(v.pipe(v.number(), v.check((n) => Number.isInteger(n) && n >= 1 && n <= 3650, "must be a whole number of days from 1 to 3650"))),
          dry_run: DryRun,
        }),
        entitlement: "tools.risk.write",
        writes: true,
        run: async (p, ctx) => {
          const days = p.retention_days ?? risk.retention_days;
          const cutoff = new Date(ctx.now().getTime() - days * DAY_MS).toISOString();
          const store = storage(ctx);
          const removed = await store.cleanup(cutoff, p.dry_run, p.env);
          ctx.log.info("risk_cleanup", { env: p.env ?? "all", retention_days: days, cutoff, dry_run: p.dry_run, ...removed });
          return { dry_run: p.dry_run, env: p.env ?? "all", retention_days: days, cutoff, storage: store.name, [p.dry_run ? "would_remove" : "removed"]: removed };
        },
      }),
    },
  } satisfies Tool;
}

/** What the fallback cannot know for each deciding risk action (needs_full_view). */
const FULL_VIEW_WHY = {
  snapshot:
    "each service is scored from its latest signals, most of them recorded there (the fallback holds only those of the outage): a wrong score would stay as the hour's history row",
  digest: "the digest reads 7 days of risk history held there: written from the fallback it would list only the services snapshotted during the outage, and the daily generation would act on it",
} as const;

function refuseOnFallback(ctx: ToolContext, action: keyof typeof FULL_VIEW_WHY): void {
  refuseWhileDegraded(ctx.store, FULL_VIEW_WHY[action], `The scheduler asks again within the job's catch-up window; or run ${RISK_TOOL}.${action} again once readyz reports ready.`);
}
