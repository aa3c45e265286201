/**
 * Entitlements are `tools.<domain>.<level>` with levels read ⊂ write ⊂ admin
 * (runbook 9: the scheduler holds tools.backlog.admin, tools.pressure.write, tools.risk.write).
 */
export const LEVELS = ["read", "write", "admin"] as const;
export type Level = (typeof LEVELS)[number];

const ENTITLEMENT = /^tools\.([a-z_]+)\.(read|write|admin)$/;

export function parseEntitlement(e: string): { domain: string; level: Level } | null {
  const m = ENTITLEMENT.exec(e);
  return m ? { domain: m[1]!, level: m[2] as Level } : null;
}

/** True when any granted entitlement covers `required` (same domain, level at least as high). */
export function hasEntitlement(granted: Iterable<string>, required: string): boolean {
  const need = parseEntitlement(required);
  if (!need) return false;
  for (const g of granted) {
    const have = parseEntitlement(g);
    if (have && have.domain === need.domain && LEVELS.indexOf(have.level) >= LEVELS.indexOf(need.level)) return true;
  }
  return false;
}
