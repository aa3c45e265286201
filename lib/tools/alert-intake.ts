/**
 * alert_intake: Alertmanager notifications in, backlog items out (lib/intake/, docs/alerting.md).
 *   ingest  one webhook payload (version 4) → the alert group's ONE item: created, refreshed, reopened or
 *           resolved; idempotent, so Alertmanager's retries and repeat notifications change nothing twice
 * Called by POST /v1/alerts/alertmanager (the receiver Alertmanager posts to), /v1/tools/execute and the CLI.
 */
import * as v from "valibot";
import type { Policy } from "../generation/policy.ts";
import { ingestAlertmanager } from "../intake/ingest.ts";
import { AlertmanagerPayloadEntries } from "../intake/payload.ts";
import { defineAction, type Tool } from "./types.ts";

export const ALERT_INTAKE_TOOL = "alert_intake";
/** Posting alerts, and nothing else (agent alertmanager); the receiver endpoint checks it before reading the body. */
export const ALERT_INTAKE_ENTITLEMENT = "tools.alerts.write";

export function createAlertIntakeTool(policy: Policy) {
  return {
    name: ALERT_INTAKE_TOOL,
    description: "Turns Alertmanager webhook notifications into backlog items, one per alert group.",
    actions: {
      ingest: defineAction({
        description: "One Alertmanager webhook payload (version 4): creates, refreshes, reopens or resolves the alert group's item.",
        // Not strict: Alertmanager may add fields to its payload; unknown keys are ignored.
        params: v.object({ ...AlertmanagerPayloadEntries, dry_run: v.optional(v.boolean(), false) }),
        entitlement: ALERT_INTAKE_ENTITLEMENT,
        writes: true,
        run: ({ dry_run, ...payload }, ctx) => ingestAlertmanager(payload, { store: ctx.store, policy, agent: ctx.agent, now: ctx.now(), log: ctx.log }, dry_run),
      }),
    },
  } satisfies Tool;
}
