/**
 * Dashboard alert rules (runbook section 6), thresholds from the policy's `alerts` section:
 *   overdue_count > alerts.overdue_notify_above (5)  → notify alerts.notify_target (oncall)
 *   any overdue P0 (when alerts.page_on_overdue_p0)  → page alerts.page_target (cto)
 * Pure: the HTTP layer and the dashboard action show the result; something else delivers it.
 */
import type { PolicyData } from "./policy-schema.ts";
import type { Dashboard } from "../store/types.ts";

export interface Alert {
  level: "notify" | "page";
  target: string;
  reason: string;
}

/**
 * `overdueP0Count` is the full count when the caller knows it: `dashboard.overdue` lists at most 50
 * entries (most overdue first), so a recently overdue P0 can be missing from it.
 */
export function evaluateAlerts(dashboard: Pick<Dashboard, "overdue_count" | "overdue">, policy: Pick<PolicyData, "alerts">, overdueP0Count?: number): Alert[] {
  const a = policy.alerts;
  const alerts: Alert[] = [];
  if (dashboard.overdue_count > a.overdue_notify_above) {
    alerts.push({
      level: "notify",
      target: a.notify_target,
      reason: `${dashboard.overdue_count} overdue items (threshold: more than ${a.overdue_notify_above})`,
    });
  }
  if (a.page_on_overdue_p0) {
    const listed = dashboard.overdue.filter((o) => o.priority === "P0");
    const count = Math.max(overdueP0Count ?? 0, listed.length);
    if (count > 0) {
      const names = listed.slice(0, 5).map((o) => `${o.id} (${o.service}, due ${o.due_date})`);
      const more = count > names.length ? `${names.length ? ", " : ""}${count - names.length} more` : "";
      alerts.push({ level: "page", target: a.page_target, reason: `${count} overdue P0 item${count === 1 ? "" : "s"}: ${names.join(", ")}${more}` });
    }
  }
  return alerts;
}
