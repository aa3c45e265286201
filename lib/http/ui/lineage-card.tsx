/** @jsxImportSource hono/jsx */
/**
 * The item page's lineage: the same recommendation (env × service × category) across digest periods —
 * "gateway / security in prod: recommended 3 weeks running" — its items newest first with this one
 * marked, and links to the item before and after it (meta.prev_id / next_id). Read through the list
 * tool's group_by=lineage, so the lineage rule and the policy's key prefix stay in lib/lifecycle.
 */
import { lastPeriodOf, lifecycleMeta, type LineageSummary } from "../../lifecycle/lineage.ts";
import { isOpen, isOverdue } from "../../store/item-state.ts";
import type { BacklogItem, ListResult } from "../../store/types.ts";
import { itemHref } from "./items-table.tsx";
import { DueCell, PriorityBadge } from "./layout.tsx";

/** Items of one service and category read to find the lineage (a lineage gets one item per period). */
export const LINEAGE_LIMIT = 100;

export interface LineageData {
  summary: LineageSummary;
  /** Newest first. */
  items: BacklogItem[];
}

/** The item's lineage, or null when it has none worth showing (one item that no digest made). */
export async function loadLineage(list: (params: Record<string, unknown>) => Promise<unknown>, item: BacklogItem): Promise<LineageData | null> {
  const r = (await list({ env: item.env, service: item.service, category: item.category, group_by: "lineage", limit: LINEAGE_LIMIT })) as ListResult & { lineages: LineageSummary[] };
  const summary = r.lineages.find((l) => l.item_ids.includes(item.id));
  if (!summary) return null;
  const byId = new Map(r.items.map((i) => [i.id, i]));
  const items = summary.item_ids.flatMap((id) => byId.get(id) ?? []);
  if (items.length < 2 && typeof lifecycleMeta(item).lineage_key !== "string") return null;
  return { summary, items };
}

function running(s: LineageSummary): string {
  const unit = s.last_period && /W\d\d$/.test(s.last_period) ? "weeks" : "periods";
  if (s.streak > 1) return `recommended ${s.streak} ${unit} running, last ${s.last_period}`;
  return s.last_period ? `last recommended ${s.last_period}` : "not from a digest";
}

export function LineageCard({ data, current, today }: { data: LineageData; current: BacklogItem; today: string }) {
  const { summary: s, items } = data;
  const m = lifecycleMeta(current);
  const link = (id: string | null | undefined, label: string) => (typeof id === "string" && id ? <a href={itemHref(id)}>{label}</a> : null);
  return (
    <section class="card" aria-labelledby="lineage" data-testid="lineage">
      <h2 id="lineage">Lineage</h2>
      <p data-testid="lineage-summary">
        {`${s.service} / ${s.category} in ${s.env}: ${running(s)}; ${s.open} of ${items.length} item${items.length === 1 ? "" : "s"} unfinished${s.priority ? `, most urgent ${s.priority}` : ""}.`}
      </p>
      <p>
        {link(m.prev_id, "← the item before this one")} {link(m.next_id, "the item after this one →")}
      </p>
      <table data-testid="lineage-items">
        <caption class="muted" style="text-align:left">The lineage's items, newest period first</caption>
        <thead>
          <tr>
            <th scope="col">period</th>
            <th scope="col">title</th>
            <th scope="col">status</th>
            <th scope="col">priority</th>
            <th scope="col">due</th>
          </tr>
        </thead>
        <tbody>
          {items.map((it) => (
            <tr data-id={it.id}>
              <td>{lastPeriodOf(it) ?? "—"}</td>
              <td>{it.id === current.id ? <strong aria-current="page">{it.title} (this item)</strong> : <a href={itemHref(it.id)}>{it.title}</a>}</td>
              <td>{it.status.replace("_", " ")}</td>
              <td><PriorityBadge priority={it.priority} open={isOpen(it.status)} /></td>
              <td><DueCell due={it.due_date} overdue={isOverdue(it, today)} /></td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
