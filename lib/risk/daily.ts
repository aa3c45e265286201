/**
 * The daily risk digest (ops/reports/risk/YYYY-MM-DD.json, schema: lib/generation/digest-schema.ts riskDigestSchema)
 * built from history rows, PURE. Per service with a snapshot in the 24 h before `asOf`:
 *   risk_score, band     from its latest snapshot
 *   delta_24h / delta_7d latest score minus the score of the newest snapshot at least 24 h / 7 days
 *                        older (and at most twice that), 0 when there is none — the reasons say so
 *   top_signals          the signals adding the most points
 *   recommended_categories  the categories their points map to (same rules as the weekly digest)
 */
import type { RiskDigest, RiskService } from "../generation/digest-schema.ts";
import { categoryPoints, recommend } from "../pressure/categories.ts";
import type { HistoryRow } from "./history-store.ts";
import type { RiskPolicy } from "./policy.ts";
import { DAY_MS, round1, topSignals } from "./score.ts";

/** History the digest needs: the latest day plus the 7-day baseline's window. */
export const DIGEST_LOOKBACK_MS = 15 * DAY_MS;

const shift = (iso: string, ms: number) => new Date(Date.parse(iso) + ms).toISOString();

/** Newest row with older ≤ hour ≤ newer. `rows` sorted by hour. */
function newestBetween(rows: readonly HistoryRow[], older: string, newer: string): HistoryRow | null {
  for (let i = rows.length - 1; i >= 0; i--) {
    const r = rows[i]!;
    if (r.hour <= newer && r.hour >= older) return r;
    if (r.hour < older) break;
  }
  return null;
}

function delta(rows: readonly HistoryRow[], latest: HistoryRow, periodMs: number, label: string, reasons: string[]): number {
  const base = newestBetween(rows, shift(latest.hour, -2 * periodMs), shift(latest.hour, -periodMs));
  if (!base) {
    reasons.push(`no snapshot from ${label} earlier: change over ${label} shown as 0`);
    return 0;
  }
  return round1(latest.score - base.score);
}

const signed = (n: number) => (n > 0 ? `+${n}` : String(n));

export function buildServiceEntry(rows: readonly HistoryRow[], policy: RiskPolicy): RiskService {
  const latest = rows[rows.length - 1]!;
  const reasons: string[] = [];
  const d24 = delta(rows, latest, DAY_MS, "24 h", reasons);
  const d7 = delta(rows, latest, 7 * DAY_MS, "7 days", reasons);
  const top = topSignals(latest.signals, latest.contributions, policy.top_signals);
  const ranked = categoryPoints(latest.contributions, policy.pressure.categories);
  const recommended = recommend(latest.band, ranked, policy.pressure);
  reasons.unshift(
    `risk ${latest.score} (${latest.band}) at ${latest.hour}; ${signed(d24)} over 24 h, ${signed(d7)} over 7 days`,
    ...top.map((t) => `${t.signal} = ${t.value} adds ${t.points} points`),
    ...recommended.map((c) => `${c.category}: ${c.causes.join(", ")} add ${c.points} of ${latest.score} points`),
  );
  return {
    service: latest.service,
    risk_score: latest.score,
    band: latest.band,
    delta_24h: d24,
    delta_7d: d7,
    top_signals: top.map((t) => ({ signal: t.signal, value: t.value, contribution: t.points })),
    recommended_categories: recommended.map((c) => c.category),
    reasons,
  };
}

/**
 * `history`: the env's rows of the DIGEST_LOOKBACK_MS before `asOf` (any order). Services without a
 * snapshot in the last 24 h are left out (they stopped reporting). Riskiest first.
 */
export function buildRiskDigest(o: { env: string; date: string; asOf: string; generatedAt: string; history: readonly HistoryRow[]; policy: RiskPolicy }): RiskDigest {
  const byService = new Map<string, HistoryRow[]>();
  for (const r of o.history) {
    if (r.hour > o.asOf) continue;
    const list = byService.get(r.service) ?? [];
    list.push(r);
    byService.set(r.service, list);
  }
  const dayAgo = shift(o.asOf, -DAY_MS);
  const services: RiskService[] = [];
  for (const rows of byService.values()) {
    rows.sort((a, b) => (a.hour < b.hour ? -1 : a.hour > b.hour ? 1 : 0));
    if (rows[rows.length - 1]!.hour < dayAgo) continue;
    services.push(buildServiceEntry(rows, o.policy));
  }
  services.sort((a, b) => b.risk_score - a.risk_score || (a.service < b.service ? -1 : 1));
  return { date: o.date, env: o.env, generated_at: o.generatedAt, services };
}

export function renderRiskMarkdown(d: RiskDigest): string {
  const out = [
    `# Risk digest — ${d.env}, ${d.date}`,
    "",
    `Generated ${d.generated_at} by risk_history_tool.digest. Scores 0–100 (config/risk_policy.yml); riskiest first.`,
    "",
    "| Service | Risk | Band | Δ 24 h | Δ 7 d | Top signals | Recommended |",
    "|---|---:|---|---:|---:|---|---|",
  ];
  for (const s of d.services) {
    const top = s.top_signals.map((t) => `${t.signal}=${t.value} (${t.contribution} pts)`).join(", ") || "—";
    out.push(`| ${s.service} | ${s.risk_score} | ${s.band} | ${signed(s.delta_24h)} | ${signed(s.delta_7d)} | ${top} | ${(s.recommended_categories ?? []).join(", ") || "—"} |`);
  }
  if (!d.services.length) out.push("| — | | | | | | |");
  return out.join("\n") + "\n";
}
