/**
 * The weekly platform digest (ops/reports/platform/YYYY-WW.json, schema: lib/generation/digest-schema.ts
 * platformDigestSchema) from a week of risk history and the backlog's counts, PURE; plus its .md.
 * Services are those with risk snapshots in the window; highest pressure first.
 */
import type { PlatformDigest, PlatformService } from "../generation/digest-schema.ts";
import type { HistoryRow } from "../risk/history-store.ts";
import { BANDS, type RiskPolicy } from "../risk/policy.ts";
import { categoryPoints, recommend } from "./categories.ts";
import { pressureScore, summariseWeek } from "./score.ts";

export interface BacklogCounts {
  /** Items in open, in_progress or blocked. */
  open: number;
  /** Of those, due before today. */
  overdue: number;
}

const signed = (n: number) => (n > 0 ? `+${n}` : String(n));

export function buildPlatformEntry(service: string, rows: readonly HistoryRow[], counts: BacklogCounts, policy: RiskPolicy): PlatformService {
  const week = summariseWeek(rows)!;
  const p = pressureScore({ level: week.level, trend: week.trend, open: counts.open, overdue: counts.overdue, contributions: week.contributions }, policy.pressure);
  const ranked = categoryPoints(p.causes, policy.pressure.categories);
  const recommended = recommend(p.band, ranked, policy.pressure);
  const reasons = [
    `pressure ${p.score} (${p.band}) = risk level ${week.level} over ${week.snapshots} snapshot(s) (${p.parts.risk_level} pts)` +
      ` + trend ${signed(week.trend)} (${p.parts.risk_trend} pts) + ${counts.open} open item(s) (${p.parts.open_items} pts)` +
      ` + ${counts.overdue} overdue (${p.parts.overdue_items} pts)`,
    ...recommended.map((c) => `${c.category}: ${c.causes.join(", ")} add ${c.points} pressure points`),
  ];
  if (!recommended.length) {
    reasons.push(
      BANDS.indexOf(p.band) < BANDS.indexOf(policy.pressure.min_band_for_recommendations)
        ? `no categories recommended: band ${p.band} is below ${policy.pressure.min_band_for_recommendations}`
        : `no categories recommended: no cause adds ${policy.pressure.min_cause_points} pressure points`,
    );
  }
  return {
    service,
    pressure_score: p.score,
    band: p.band,
    signals: {
      ...week.signals,
      risk_level: week.level,
      risk_latest: week.latest,
      risk_trend: week.trend,
      snapshots: week.snapshots,
      open_items: counts.open,
      overdue_items: counts.overdue,
    },
    recommended_categories: recommended.map((c) => c.category),
    reasons,
  };
}

export function groupByService(rows: readonly HistoryRow[]): Map<string, HistoryRow[]> {
  const by = new Map<string, HistoryRow[]>();
  for (const r of rows) {
    const list = by.get(r.service) ?? [];
    list.push(r);
    by.set(r.service, list);
  }
  return by;
}

export function buildPlatformDigest(o: {
  env: string;
  week: string;
  generatedAt: string;
  history: readonly HistoryRow[];
  counts: ReadonlyMap<string, BacklogCounts>;
  policy: RiskPolicy;
}): PlatformDigest {
  const services = [...groupByService(o.history)].map(([service, rows]) => buildPlatformEntry(service, rows, o.counts.get(service) ?? { open: 0, overdue: 0 }, o.policy));
  services.sort((a, b) => b.pressure_score - a.pressure_score || (a.service < b.service ? -1 : 1));
  return { week: o.week, env: o.env, generated_at: o.generatedAt, services };
}

/** One table per band, critical first; empty bands are listed as such so the reader sees all four. */
export function renderPlatformMarkdown(d: PlatformDigest, window: { from: string; to: string }): string {
  const out = [
    `# Platform priority digest — ${d.env}, ${d.week}`,
    "",
    `Generated ${d.generated_at} by architecture_pressure_tool.digest from risk history ${window.from} … ${window.to}` +
      ` and the backlog's open/overdue items. Pressure 0–100 (config/risk_policy.yml).`,
  ];
  for (const band of [...BANDS].reverse()) {
    const rows = d.services.filter((s) => s.band === band);
    out.push("", `## ${band[0]!.toUpperCase()}${band.slice(1)} (${rows.length})`, "");
    if (!rows.length) {
      out.push("_none_");
      continue;
    }
    out.push("| Service | Pressure | Risk level | Trend | Open | Overdue | Recommended | Why |", "|---|---:|---:|---:|---:|---:|---|---|");
    for (const s of rows) {
      const g = s.signals;
      const why = s.reasons.slice(1).join("; ").replace(/\|/g, "\\|") || "—";
      out.push(`| ${s.service} | ${s.pressure_score} | ${g.risk_level} | ${signed(g.risk_trend ?? 0)} | ${g.open_items} | ${g.overdue_items} | ${s.recommended_categories.join(", ") || "—"} | ${why} |`);
    }
  }
  return out.join("\n") + "\n";
}
