/**
 * The `alert_intake:` section of config/backlog_policy.yml: how an Alertmanager notification becomes a
 * backlog item (docs/alerting.md#alertmanager-to-backlog). Label lists are tried in order, on the
 * group's commonLabels; the first one present wins.
 */
import * as v from "valibot";
import { strictObject } from "../core/strict.ts";
import { EnvName, PRIORITIES } from "../domain/schemas.ts";

const Int = (min: number, max: number) =>
  v.pipe(v.number(`must be a whole number from ${min} to ${max}`), v.integer(`must be a whole number from ${min} to ${max}`), v.minValue(min, `must be at least ${min}`), v.maxValue(max, `must be at most ${max}`));
const LabelName = v.pipe(v.string(), v.regex(/^[A-Za-z_][A-Za-z0-9_]{0,199}$/, "must be a Prometheus label name like team"));
const LabelList = v.pipe(v.array(LabelName), v.maxLength(20, "must list at most 20 labels"));
const Slug = v.pipe(v.string(), v.regex(/^[a-z][a-z0-9_]{0,63}$/, "must be a lowercase name like incident_followup (a-z, 0-9, _)"));

export const DEFAULT_SEVERITY_PRIORITIES = { critical: "P0", page: "P0", error: "P1", high: "P1", warning: "P2", medium: "P2", info: "P3", low: "P3" } as const;

export const AlertIntakeSchema = strictObject({
  /** Category of the items (a category of this policy): its due_days set the due date, its priority the fallback. */
  category: v.optional(Slug, "incident_followup"),
  env_labels: v.optional(LabelList, () => ["env", "environment"]),
  /** Env when no env label is present; null = the first of `envs`. A label naming an env not in `envs` is refused (400). */
  default_env: v.optional(v.nullable(EnvName), null),
  service_labels: v.optional(LabelList, () => ["service", "job", "app"]),
  default_service: v.optional(v.pipe(v.string(), v.trim(), v.minLength(1, "must not be empty"), v.maxLength(200, "must be at most 200 characters")), "unknown"),
  /** Owner of a NEW item; without one: ownership.overrides → catalog → default_owner, as for generated items. */
  owner_labels: v.optional(LabelList, () => ["team", "owner"]),
  severity_labels: v.optional(LabelList, () => ["severity"]),
  /** Severity value (lowercased) → priority; the most urgent over the group's alerts wins. */
  priorities: v.optional(v.record(v.pipe(v.string(), v.minLength(1), v.maxLength(100)), v.picklist(PRIORITIES, `must be one of ${PRIORITIES.join("|")}`)), () => ({ ...DEFAULT_SEVERITY_PRIORITIES })),
  /** A group firing again within this many days of its item's close reopens that item; later: a new item linked to it. 0 = always new. */
  reopen_within_days: v.optional(Int(0, 3650), 7),
  /** A resolved notification closes the item (done, `auto_resolved` event) unless a person changed it. */
  auto_resolve: v.optional(v.boolean(), false),
});

export type AlertIntakePolicy = v.InferOutput<typeof AlertIntakeSchema>;
