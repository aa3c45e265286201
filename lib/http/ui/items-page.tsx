/** @jsxImportSource hono/jsx */
/** The items list: filters, sort and page live in the URL (a GET form), so a link shares the view. */
import { todayUtc } from "../../store/dates.ts";
import { LIST_SORTS, PRIORITIES, STATUSES, type ListResult } from "../../store/types.ts";
import { listHref, PAGE_SIZE, type ListQuery } from "./forms.ts";
import { ItemsTable } from "./items-table.tsx";
import { dueSoonWords, Layout, Messages, render, type View } from "./layout.tsx";

const SORT_LABELS: Record<(typeof LIST_SORTS)[number], string> = {
  updated: "recently updated first",
  due: "soonest due first",
  priority: "highest priority first",
};

export function renderItemsPage(view: View, q: ListQuery, result: ListResult | null, errors: string[] = []) {
  const pages = result ? Math.max(1, Math.ceil(result.total / PAGE_SIZE)) : 1;
  const from = result && result.total ? (q.page - 1) * PAGE_SIZE + 1 : 0;
  const to = result ? Math.min(result.total, q.page * PAGE_SIZE) : 0;
  return render(
    <Layout view={view} title={`Items — ${view.env}`} nav="items" envHref={(e) => listHref(q, { env: e, page: 1 })}>
      <h1>Items — {view.env}</h1>
      <Messages errors={errors} />
      <form class="filters" method="get" action="/ui/items" role="search" aria-label="Filter items">
        <input type="hidden" name="env" value={view.env} />
        <div>
          <label for="f-q">Text (title, service, id)</label>
          <input id="f-q" type="search" name="q" value={q.q} />
        </div>
        <fieldset>
          <legend>Status</legend>
          {STATUSES.map((s) => (
            <label><input type="checkbox" name="status" value={s} checked={q.status.includes(s)} /> {s.replace("_", " ")}</label>
          ))}
        </fieldset>
        <fieldset>
          <legend>Priority</legend>
          {PRIORITIES.map((p) => (
            <label><input type="checkbox" name="priority" value={p} checked={q.priority.includes(p)} /> {p}</label>
          ))}
        </fieldset>
        <div>
          <label for="f-owner">Owner</label>
          <input id="f-owner" type="text" name="owner" value={q.owner} />
        </div>
        <div>
          <label for="f-service">Service</label>
          <input id="f-service" type="text" name="service" value={q.service} />
        </div>
        <div>
          <label for="f-category">Category</label>
          <input id="f-category" type="text" name="category" value={q.category} />
        </div>
        <div>
          <label class="check"><input type="checkbox" name="overdue" value="on" checked={q.overdue} /> overdue only</label>
          <label class="check"><input type="checkbox" name="due_soon" value="on" checked={q.due_soon} /> {dueSoonWords(view.warnDays)}</label>
        </div>
        <div>
          <label for="f-sort">Sort</label>
          <select id="f-sort" name="sort">
            {LIST_SORTS.map((s) => (
              <option value={s} selected={q.sort === s}>{SORT_LABELS[s]}</option>
            ))}
          </select>
        </div>
        <div>
          <button type="submit">Apply</button> <a href={`/ui/items?env=${encodeURIComponent(view.env)}`}>Reset</a>
        </div>
      </form>
      {result ? (
        <>
          <p data-testid="items-total" role="status">
            {result.total === 0 ? "No items match." : `Items ${from}–${to} of ${result.total}`}
          </p>
          {result.items.length ? <ItemsTable items={result.items} today={todayUtc(view.now)} caption={`Sorted ${SORT_LABELS[q.sort]}`} /> : null}
          <nav class="pager" aria-label="Pages">
            {q.page > 1 ? <a href={listHref(q, { page: q.page - 1 })} rel="prev">← Previous</a> : null}
            <span>Page {q.page} of {pages}</span>
            {q.page < pages ? <a href={listHref(q, { page: q.page + 1 })} rel="next">Next →</a> : null}
          </nav>
        </>
      ) : null}
    </Layout>,
  );
}
