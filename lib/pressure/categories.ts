/**
 * Dominant causes → backlog categories (PURE). Each cause (a risk signal, open_items, overdue_items)
 * carries points; points of causes mapped to the same category add up (config/risk_policy.yml
 * pressure.categories). A category is recommended when its points reach min_cause_points, strongest
 * first, at most max_categories — and only for services at or above min_band_for_recommendations.
 */
import { AppError } from "../core/errors.ts";
import { BANDS, CAUSES, type Band, type Cause, type PressurePolicy } from "../risk/policy.ts";
import { round1 } from "../risk/score.ts";

export interface CategoryPoints {
  category: string;
  points: number;
  /** The causes behind it, strongest first. */
  causes: Cause[];
}

/** Points per category, strongest first (ties by name, so output is stable). */
export function categoryPoints(causes: Partial<Record<Cause, number>>, mapping: PressurePolicy["categories"]): CategoryPoints[] {
  const by = new Map<string, { points: number; causes: [Cause, number][] }>();
  for (const cause of CAUSES) {
    const points = causes[cause] ?? 0;
    if (!(points > 0)) continue;
    const category = mapping[cause];
    const entry = by.get(category) ?? { points: 0, causes: [] };
    entry.points += points;
    entry.causes.push([cause, points]);
    by.set(category, entry);
  }
  return [...by]
    .map(([category, e]) => ({ category, points: round1(e.points), causes: e.causes.sort((a, b) => b[1] - a[1]).map(([c]) => c) }))
    .sort((a, b) => b.points - a.points || (a.category < b.category ? -1 : 1));
}

export function recommend(band: Band, ranked: CategoryPoints[], policy: Pick<PressurePolicy, "min_band_for_recommendations" | "min_cause_points" | "max_categories">): CategoryPoints[] {
  if (BANDS.indexOf(band) < BANDS.indexOf(policy.min_band_for_recommendations)) return [];
  return ranked.filter((c) => c.points >= policy.min_cause_points).slice(0, policy.max_categories);
}

/** Every mapped category must exist in the backlog policy, or generation would reject the digest. */
export function checkCategories(mapping: PressurePolicy["categories"], known: readonly string[], riskPolicyFile: string, backlogPolicyFile: string): void {
  const missing = CAUSES.filter((c) => !known.includes(mapping[c]));
  if (missing.length) {
    throw new AppError(
      "config",
      `${riskPolicyFile}: pressure.categories maps to categories that ${backlogPolicyFile} does not define:\n  ` +
        missing.map((c) => `pressure.categories.${c}: ${JSON.stringify(mapping[c])} (known: ${known.join(", ")})`).join("\n  "),
    );
  }
}
