/**
 * The schema of config/backlog_policy.yml (runbook section 8 plus our keys), as valibot data with every
 * default. The defaults here ARE the shipped file: tests/generation/policy.test.ts checks they agree, so an empty
 * file and the shipped file mean the same policy.
 */
import * as v from "valibot";
import { EnvName, PRIORITIES } from "../store/types.ts";
import { strictObject } from "../core/strict.ts";
import { NotifySchema } from "../notify/policy-schema.ts";
import { AlertIntakeSchema } from "../intake/policy-schema.ts";

export const BANDS = ["low", "medium", "high", "critical"] as const;
export type Band = (typeof BANDS)[number];

/** Placeholders a category title may use; anything else in braces is a load error, not literal text. */
export const TITLE_PLACEHOLDERS = ["service", "env", "category", "period", "band", "score"] as const;

/** Category names, dedupe prefixes: they are segments of `prefix:period:env:service:category` keys. */
const Slug = v.pipe(v.string(), v.regex(/^[a-z][a-z0-9_]{0,63}$/, "must be a lowercase name like tech_debt (a-z, 0-9, _; no colons)"));
const Who = v.pipe(v.string(), v.trim(), v.minLength(1, "must not be empty"), v.maxLength(200, "must be at most 200 characters"));
const Int = (min: number, max: number) =>
  v.pipe(v.number(`must be a whole number from ${min} to ${max}`), v.integer(`must be a whole number from ${min} to ${max}`), v.minValue(min, `must be at least ${min}`), v.maxValue(max, `must be at most ${max}`));

const Template = v.pipe(
  v.string(),
  v.minLength(1, "must not be empty"),
  v.maxLength(300, "must be at most 300 characters"),
  v.check(
    (t) => [...t.matchAll(/\{([^}]*)\}/g)].every((m) => (TITLE_PLACEHOLDERS as readonly string[]).includes(m[1]!)),
    `may only use the placeholders ${TITLE_PLACEHOLDERS.map((p) => `{${p}}`).join(" ")}`,
  ),
);

export const LIFECYCLE_MODES = ["weekly", "rolling"] as const;
const PathText = v.pipe(v.string(), v.trim(), v.minLength(1, "must not be empty"), v.maxLength(1000, "must be at most 1000 characters"));

export const DEFAULT_TITLE = "{service}: {category} ({period})";

const CategorySchema = strictObject({
  priority: v.optional(v.picklist(PRIORITIES), "P2"),
  due_days: v.optional(Int(1, 3650), 30),
  title: v.optional(Template, DEFAULT_TITLE),
});

export const DEFAULT_CATEGORIES = {
  arch_review: { priority: "P1", due_days: 14, title: "{service}: architecture review ({period}, pressure {score}/{band})" },
  refactor: { priority: "P2", due_days: 30, title: "{service}: refactor hot spots ({period})" },
  slo_hardening: { priority: "P1", due_days: 14, title: "{service}: harden SLOs in {env} ({period})" },
  security: { priority: "P0", due_days: 7, title: "{service}: fix security findings in {env} ({period})" },
  tech_debt: { priority: "P3", due_days: 60, title: "{service}: pay down tech debt ({period})" },
  capacity: { priority: "P1", due_days: 14, title: "{service}: capacity plan for {env} ({period})" },
  incident_followup: { priority: "P1", due_days: 7, title: "{service}: incident follow-ups in {env} ({period})" },
} as const satisfies Record<string, v.InferOutput<typeof CategorySchema>>;

export const DEFAULT_ENVS = ["prod", "staging", "dev"];

export const PolicySchema = strictObject({
  defaults: v.optional(
    strictObject({
      retention_days: v.optional(Int(1, 36_500), 180),
      max_items_per_run: v.optional(Int(1, 10_000), 50),
    }),
    {},
  ),
  dedupe: v.optional(strictObject({ key_prefix: v.optional(Slug, "platform_backlog") }), {}),
  envs: v.optional(
    v.pipe(
      v.array(EnvName),
      v.minLength(1, "must list at least one env"),
      v.check((a) => new Set(a).size === a.length, "must not list an env twice"),
    ),
    () => [...DEFAULT_ENVS],
  ),
  categories: v.optional(
    v.pipe(v.record(Slug, CategorySchema), v.check((r) => Object.keys(r).length > 0, "must define at least one category")),
    () => structuredClone(DEFAULT_CATEGORIES) as Record<string, v.InferOutput<typeof CategorySchema>>,
  ),
  generation: v.optional(
    strictObject({
      weekly_from_pressure_digest: v.optional(v.boolean(), true),
      daily_from_risk_digest: v.optional(v.boolean(), false),
      /** Daily: services whose risk band is below this make no items (the risk digest lists every service). */
      daily_min_band: v.optional(v.picklist(BANDS), "high"),
      /** Daily: categories for a service whose risk entry recommends none. */
      daily_default_categories: v.optional(v.pipe(v.array(Slug), v.minLength(1, "must name at least one category")), () => ["slo_hardening"]),
    }),
    {},
  ),
  ownership: v.optional(
    strictObject({
      default_owner: v.optional(Who, "oncall"),
      overrides: v.optional(v.record(v.pipe(v.string(), v.minLength(1, "service names must not be empty")), Who), {}),
      /** Backstage catalog-info.yaml files (paths and/or one glob, relative to the repository root). Absent: no catalog. */
      catalog: v.optional(
        v.pipe(
          strictObject({
            files: v.optional(v.pipe(v.array(PathText), v.maxLength(1000, "must list at most 1000 files")), () => []),
            glob: v.optional(v.nullable(PathText), null),
          }),
          v.check((c) => c.files.length > 0 || c.glob !== null, "must name files or a glob (or be left out)"),
        ),
      ),
    }),
    {},
  ),
  /** Item lifecycle (docs/generation.md). The defaults reproduce the behaviour before it existed. */
  lifecycle: v.optional(
    strictObject({
      /** weekly: a new item per period (runbook); rolling: at most one open item per lineage. */
      mode: v.optional(v.picklist(LIFECYCLE_MODES), "weekly"),
      /** Open generated items are closed after this many consecutive digests without their lineage; 0 = never. */
      auto_resolve_after: v.optional(Int(0, 520), 0),
      /** A lineage returning within this many days of its auto-resolve reopens that item; 0 = never. */
      reopen_within_days: v.optional(Int(0, 3650), 0),
      /** backlog_tool.snooze: `until` at most this many days ahead. */
      max_snooze_days: v.optional(Int(1, 3650), 90),
    }),
    {},
  ),
  sla: v.optional(
    strictObject({
      /** Every this many days overdue: one priority step up (never above P0), each step once; 0 = never. */
      escalate_after_days_overdue: v.optional(Int(0, 3650), 0),
    }),
    {},
  ),
  alerts: v.optional(
    strictObject({
      /** Dashboard overdue_count above this → notify notify_target (runbook 6: > 5 → oncall). */
      overdue_notify_above: v.optional(Int(0, 1_000_000), 5),
      notify_target: v.optional(Who, "oncall"),
      /** Any overdue P0 → page page_target (runbook 6: page CTO). */
      page_on_overdue_p0: v.optional(v.boolean(), true),
      page_target: v.optional(Who, "cto"),
    }),
    {},
  ),
  /** The built-in notifier and the due-soon horizon (lib/notify/policy-schema.ts, docs/alerting.md). */
  notify: v.optional(NotifySchema, {}),
  /** Alertmanager notifications → backlog items (lib/intake/policy-schema.ts, docs/alerting.md). */
  alert_intake: v.optional(AlertIntakeSchema, {}),
});

export type PolicyData = v.InferOutput<typeof PolicySchema>;
export type CategoryPolicy = v.InferOutput<typeof CategorySchema>;
