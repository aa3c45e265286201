/**
 * Every input the browser UI takes, validated at this one boundary with valibot and the store's own
 * schemas (statuses, priorities, sort orders), so a bad query or form answers with a message naming
 * the field — the page is re-rendered with it, never a 500.
 */
import * as v from "valibot";
import { formatIssues } from "../../core/errors.ts";
import { LIST_SORTS, PRIORITIES, STATUSES, type ListFilter } from "../../store/types.ts";

export const PAGE_SIZE = 50;

const Short = (max: number) => v.pipe(v.string(), v.trim(), v.maxLength(max, `must be at most ${max} characters`));
const Checkbox = v.optional(v.pipe(v.picklist(["on", "true", "1", ""], "must be on or left out"), v.transform((x) => x !== "")), "");
const List = <T extends readonly [string, ...string[]]>(options: T) =>
  v.optional(v.array(v.picklist(options, `must be one of ${options.join(", ")}`)), []);

export type Form = Record<string, string | string[]>;

export interface Parsed<T> {
  value?: T;
  errors: string[];
}

function parse<S extends v.GenericSchema>(schema: S, input: unknown): Parsed<v.InferOutput<S>> {
  const r = v.safeParse(schema, input);
  return r.success ? { value: r.output, errors: [] } : { errors: formatIssues(r.issues) };
}

/** Multi-valued fields stay arrays; every other field is its first value. */
export function formFrom(entries: Iterable<[string, string | File]>, multi: readonly string[] = []): Form {
  const out: Form = {};
  for (const [k, val] of entries) {
    if (typeof val !== "string") continue;
    if (multi.includes(k)) {
      const list = (out[k] as string[] | undefined) ?? [];
      list.push(val);
      out[k] = list;
    } else if (!(k in out)) out[k] = val;
  }
  return out;
}

export function listQuerySchema(envs: readonly string[]) {
  return v.object({
    env: v.optional(v.picklist(envs as [string, ...string[]], `must be one of ${envs.join(", ")}`), envs[0]!),
    status: List(STATUSES),
    priority: List(PRIORITIES),
    owner: v.optional(Short(200), ""),
    service: v.optional(Short(200), ""),
    category: v.optional(Short(100), ""),
    q: v.optional(Short(200), ""),
    overdue: Checkbox,
    due_soon: Checkbox,
    sort: v.optional(v.picklist(LIST_SORTS, `must be one of ${LIST_SORTS.join(", ")}`), "updated"),
    page: v.optional(
      v.pipe(v.string(), v.regex(/^\d{1,5}$/, "must be a page number like 2"), v.transform(Number), v.minValue(1, "must be 1 or more")),
      "1",
    ),
  });
}

export type ListQuery = v.InferOutput<ReturnType<typeof listQuerySchema>>;

export const parseListQuery = (envs: readonly string[], form: Form) => parse(listQuerySchema(envs), form);

/**
 * The store filter for a list query (one page). Due soon is the policy's notify.warn_days, the horizon the
 * API dashboard, /metrics and the notifier use (lib/alerting/due.ts), so every view counts the same items.
 */
export function toFilter(q: ListQuery, warnDays: number): ListFilter {
  const f: ListFilter = { env: q.env, sort: q.sort, limit: PAGE_SIZE, offset: (q.page - 1) * PAGE_SIZE };
  if (q.status.length) f.status = q.status;
  if (q.priority.length) f.priority = q.priority;
  if (q.owner) f.owner = q.owner;
  if (q.service) f.service = q.service;
  if (q.category) f.category = q.category;
  if (q.q) f.q = q.q;
  if (q.overdue) f.overdue = true;
  if (q.due_soon) f.due_within_days = warnDays;
  return f;
}

/** The query string of a list state (shareable URL); defaults are left out. */
export function listHref(q: ListQuery, over: Partial<ListQuery> = {}): string {
  const s = { ...q, ...over };
  const p = new URLSearchParams();
  p.set("env", s.env);
  for (const x of s.status) p.append("status", x);
  for (const x of s.priority) p.append("priority", x);
  for (const k of ["owner", "service", "category", "q"] as const) if (s[k]) p.set(k, s[k]);
  if (s.overdue) p.set("overdue", "on");
  if (s.due_soon) p.set("due_soon", "on");
  if (s.sort !== "updated") p.set("sort", s.sort);
  if (s.page > 1) p.set("page", String(s.page));
  return `/ui/items?${p}`;
}

const Csrf = v.pipe(v.string("is required"), v.minLength(1, "is required"));

export const StatusFormSchema = v.object({
  csrf: Csrf,
  status: v.picklist(STATUSES, `must be one of ${STATUSES.join(", ")}`),
  message: v.optional(Short(20_000), ""),
});

export const CommentFormSchema = v.object({
  csrf: Csrf,
  message: v.pipe(Short(20_000), v.minLength(1, "must not be empty: write the comment")),
});

export const OwnerFormSchema = v.object({
  csrf: Csrf,
  /** Empty: nobody owns the item. */
  owner: v.pipe(v.optional(Short(200), ""), v.transform((x) => (x === "" ? null : x))),
});

export const LoginFormSchema = v.object({
  csrf: Csrf,
  api_key: v.pipe(v.string("is required"), v.minLength(1, "is required: paste your API key"), v.maxLength(4096, "is too long")),
  next: v.optional(v.string(), "/ui"),
});

export const LogoutFormSchema = v.object({ csrf: Csrf });

export const parseForm = <S extends v.GenericSchema>(schema: S, form: Form) => parse(schema, form);
