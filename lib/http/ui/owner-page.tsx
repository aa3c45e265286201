/** @jsxImportSource hono/jsx */
/** One owner's unfinished work in an env: the accountability view, overdue and due-soon counted first. */
import { todayUtc } from "../../store/dates.ts";
import type { ListResult } from "../../store/types.ts";
import { PAGE_SIZE } from "./forms.ts";
import { ItemsTable, ownerHref } from "./items-table.tsx";
import { dueSoonTitle, Layout, render, type View } from "./layout.tsx";

export interface OwnerData {
  owner: string;
  open: ListResult;
  overdue: number;
  dueSoon: number;
}

export function renderOwnerPage(view: View, d: OwnerData) {
  const list = (extra: string) => `/ui/items?env=${encodeURIComponent(view.env)}&owner=${encodeURIComponent(d.owner)}${extra}`;
  return render(
    <Layout view={view} title={`${d.owner} — ${view.env}`} nav="owner" envHref={(e) => ownerHref(d.owner, e)}>
      <h1>Owner {d.owner} — {view.env}</h1>
      <div class="grid">
        <section class="card">
          <h2>Unfinished</h2>
          <div class="big" data-testid="owner-open">{d.open.total}</div>
        </section>
        <section class="card">
          <h2>Overdue</h2>
          <div class={`big${d.overdue > 0 ? " bad" : ""}`} data-testid="owner-overdue"><a href={list("&overdue=on&sort=due")} class={d.overdue > 0 ? "bad" : undefined}>{d.overdue}</a></div>
        </section>
        <section class="card">
          <h2>{dueSoonTitle(view.warnDays)}</h2>
          <div class="big"><a href={list("&due_soon=on&sort=due")}>{d.dueSoon}</a></div>
        </section>
      </div>
      <section class="card">
        <h2>Unfinished items</h2>
        {d.open.items.length === 0 ? (
          <p>Nothing open for {d.owner}.</p>
        ) : (
          <ItemsTable items={d.open.items} today={todayUtc(view.now)} caption={`Highest priority first${d.open.total > PAGE_SIZE ? ` (first ${PAGE_SIZE} of ${d.open.total})` : ""}`} />
        )}
        <p><a href={list("")}>All of {d.owner}'s items, including finished ones</a></p>
      </section>
    </Layout>,
  );
}
