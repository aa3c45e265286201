/**
 * PURE mapping of one Alertmanager notification to the fields of its group's backlog item: identity
 * (a hash of the group key, never the label text), env, service, owner label, priority, title,
 * description and the alert meta. Only what changes when the group's alerts change goes into the item:
 * `endsAt` (Prometheus moves it forward on every evaluation) stays out, so a repeated notification
 * (repeat_interval) maps to exactly the same fields.
 */
import { createHash } from "node:crypto";
import { AppError } from "../core/errors.ts";
import { redactFields, redactText } from "../core/redact.ts";
import { PRIORITIES, type Priority } from "../domain/schemas.ts";
import { clipText } from "../domain/text.ts";
import type { Alert, AlertmanagerPayload, AlertStatus } from "./payload.ts";
import type { AlertIntakePolicy } from "./policy-schema.ts";

/** Source of every intake item; its items' dedupe keys start `alertmanager:`. */
export const INTAKE_SOURCE = "alertmanager";
/** Fingerprints kept in meta per item (a larger group lists the first ones and the count). */
const MAX_FINGERPRINTS = 100;
const MAX_DESCRIPTION = 20_000;

export interface IntakePolicyView {
  envs: readonly string[];
  intake: AlertIntakePolicy;
  /** The intake category's priority and due_days. */
  category: { name: string; priority: Priority; due_days: number };
}

export interface MappedGroup {
  /** sha256 of the groupKey, 24 hex characters: the group's identity in dedupe keys and lineage. */
  key_hash: string;
  lineage_key: string;
  status: AlertStatus;
  env: string;
  service: string;
  /** From owner_labels; null = resolve from the policy (overrides → catalog → default). */
  owner_label: string | null;
  priority: Priority;
  category: string;
  due_days: number;
  title: string;
  description: string;
  /** The alert part of the item's meta (merged into meta on every refresh). */
  meta: Record<string, unknown>;
  firing: number;
  resolved: number;
}

export const groupHash = (groupKey: string): string => createHash("sha256").update(groupKey, "utf8").digest("hex").slice(0, 24);
export const lineageKeyOf = (hash: string): string => `${INTAKE_SOURCE}:${hash}`;
/** Item n (1, 2, …) of a group: `alertmanager:<hash>:<n>`; a group firing again after its reopen window gets the next n. */
export const dedupeKeyOf = (hash: string, seq: number): string => `${lineageKeyOf(hash)}:${seq}`;

// Own properties only: a label or severity named `constructor` or `toString` must not find Object's.
const own = <T>(map: Record<string, T>, key: string): T | undefined => (Object.hasOwn(map, key) ? map[key] : undefined);

const first = (labels: Record<string, string>, names: readonly string[]): { name: string; value: string } | null => {
  for (const name of names) {
    const value = own(labels, name)?.trim();
    if (value) return { name, value };
  }
  return null;
};


/** The most urgent mapped severity over the alerts (firing ones when any fire), else the common labels, else null. */
export function mappedPriority(payload: AlertmanagerPayload, intake: AlertIntakePolicy): Priority | null {
  const firing = payload.alerts.filter((a) => a.status === "firing");
  const pool = [...(firing.length ? firing : payload.alerts).map((a) => a.labels), payload.commonLabels];
  let best: Priority | null = null;
  for (const labels of pool) {
    const sev = first(labels, intake.severity_labels)?.value.toLowerCase();
    const p = sev === undefined ? undefined : own(intake.priorities, sev);
    if (p && (best === null || PRIORITIES.indexOf(p) < PRIORITIES.indexOf(best))) best = p;
  }
  return best;
}

function alertLine(a: Alert): string {
  const name = a.labels.alertname ?? "alert";
  const summary = a.annotations.summary ?? a.annotations.description ?? a.annotations.message ?? "";
  return `- ${name} (${a.fingerprint}) since ${a.startsAt}${summary ? `: ${summary}` : ""}`;
}

function describe(p: AlertmanagerPayload, groupLabels: Record<string, string>, firing: Alert[], resolved: Alert[]): string {
  const lines = [
    `Alertmanager alert group, status ${p.status}${p.receiver ? `, receiver ${p.receiver}` : ""}.`,
    `Group labels: ${Object.entries(groupLabels).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(", ") || "none"}`,
  ];
  const summary = p.commonAnnotations.summary ?? p.commonAnnotations.description;
  if (summary) lines.push("", summary);
  const runbook = p.commonAnnotations.runbook_url;
  if (runbook) lines.push(`Runbook: ${runbook}`);
  if (firing.length) lines.push("", `Firing (${firing.length}):`, ...firing.map(alertLine));
  if (p.truncatedAlerts) lines.push(`… and ${p.truncatedAlerts} more alerts left out by the receiver's max_alerts`);
  if (resolved.length) lines.push("", `Resolved (${resolved.length}):`, ...resolved.map(alertLine));
  if (p.externalURL) lines.push("", `Alertmanager: ${p.externalURL}`);
  // Cut before redacting (a 1,000-alert group is ~250k characters), with room for a whole 4096-character
  // URL, so the final cut never splits an unredacted password.
  return clipText(redactText(clipText(lines.join("\n"), MAX_DESCRIPTION + 4096)), MAX_DESCRIPTION);
}

/**
 * The item fields of one notification. An env label naming no env of the policy is refused (400 naming
 * the label), like any item of an unknown env; a missing one takes default_env (null: the first env).
 */
export function mapGroup(payload: AlertmanagerPayload, policy: IntakePolicyView): MappedGroup {
  const { intake } = policy;
  const labels = payload.commonLabels;
  const envLabel = first(labels, intake.env_labels);
  // Env names are lowercase slugs: `Prod` and `PROD` mean prod.
  const env = envLabel?.value.toLowerCase() ?? intake.default_env ?? policy.envs[0]!;
  if (!policy.envs.includes(env)) {
    const problem = `commonLabels.${envLabel!.name}: ${JSON.stringify(env)} is not an env of the backlog policy (envs: ${policy.envs.join(", ")}); relabel the alert or add the env to envs`;
    throw new AppError("invalid_input", `Invalid Alertmanager payload:\n  ${problem}`, { details: [problem] });
  }
  const serviceLabel = first(labels, intake.service_labels);
  const ownerLabel = first(labels, intake.owner_labels);
  for (const [what, l] of [["service", serviceLabel], ["owner", ownerLabel]] as const) {
    if (l && l.value.length > 200) {
      const problem = `commonLabels.${l.name}: a ${what} is at most 200 characters, got ${l.value.length}`;
      throw new AppError("invalid_input", `Invalid Alertmanager payload:\n  ${problem}`, { details: [problem] });
    }
  }
  const service = serviceLabel?.value ?? intake.default_service;
  const firing = payload.alerts.filter((a) => a.status === "firing");
  const resolved = payload.alerts.filter((a) => a.status === "resolved");
  const alertname = labels.alertname ?? payload.groupLabels.alertname ?? "alert group";
  const hash = groupHash(payload.groupKey);
  const fingerprints = [...new Set(firing.map((a) => a.fingerprint))].sort();
  // What is stored goes through the one redactor: externalURL and annotations may hold a URL's
  // user:password@ or a ?token=, a group label may be named like a secret. Only the text as a whole (one
  // pass, not one per alert field); the identity hashes the group key as sent.
  const groupLabels = redactFields(payload.groupLabels) as Record<string, string>;
  return {
    key_hash: hash,
    lineage_key: lineageKeyOf(hash),
    status: payload.status,
    env,
    service,
    owner_label: ownerLabel?.value ?? null,
    priority: mappedPriority(payload, intake) ?? policy.category.priority,
    category: policy.category.name,
    due_days: policy.category.due_days,
    title: clipText(`${alertname}: ${service} in ${env}`, 500),
    description: describe(payload, groupLabels, firing, resolved),
    meta: {
      lineage_key: lineageKeyOf(hash),
      alert_group: { key: clipText(redactText(payload.groupKey), 1000), key_hash: hash, receiver: payload.receiver, labels: groupLabels },
      alert_status: payload.status,
      alerts_firing: fingerprints.slice(0, MAX_FINGERPRINTS),
      alerts_firing_count: fingerprints.length,
    },
    firing: firing.length,
    resolved: resolved.length,
  };
}
