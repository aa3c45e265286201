/** @jsxImportSource hono/jsx */
/** The overview: today's dashboard for one env (alerts, counts, top services, overdue) plus what is due soon. */
import { todayUtc } from "../../store/dates.ts";
import { PRIORITIES, STATUSES, type Dashboard, type ListResult } from "../../store/types.ts";
import type { Alert } from "../app.ts";
import { ItemsTable, itemHref, ownerHref } from "./items-table.tsx";
import { dueSoonTitle, dueSoonWords, Layout, PriorityBadge, render, type View } from "./layout.tsx";

export interface OverviewData {
  dashboard: Dashboard & { alerts: Alert[] };
  dueSoon: ListResult;
}

const items = (env: string, extra: string) => `/ui/items?env=${encodeURIComponent(env)}${extra}`;

export function renderOverviewPage(view: View, d: OverviewData) {
  const { dashboard: db } = d;
  const today = todayUtc(view.now);
  const pages = db.alerts.filter((a) => a.level === "page");
  const open = db.status_counts.open + db.status_counts.in_progress + db.status_counts.blocked;
  return render(
    <Layout view={view} title={`Overview — ${view.env}`} nav="overview" envHref={(e) => `/ui?env=${encodeURIComponent(e)}`}>
      <h1>Overview — {view.env}</h1>
      <div class={`banner ${db.alerts.length ? (pages.length ? "page" : "notify") : "ok"}`} role="status" data-testid="alerts">
        {db.alerts.length === 0 ? "No alerts." : db.alerts.map((a) => <div>{`${a.level.toUpperCase()} ${a.target}: ${a.reason}`}</div>)}
      </div>
      <div class="grid" style="margin-top:16px">
        <section class="card">
          <h2>Open work</h2>
          <div class="big" data-testid="open-count"><a href={items(view.env, "&status=open&status=in_progress&status=blocked")}>{open}</a></div>
          <div>of {db.total} items</div>
        </section>
        <section class="card">
          <h2>Overdue</h2>
          <div class={`big${db.overdue_count > 0 ? " bad" : ""}`} data-testid="overdue-count">
            <a href={items(view.env, "&overdue=on&sort=due")} class={db.overdue_count > 0 ? "bad" : undefined}>{db.overdue_count}</a>
          </div>
          <div>{db.overdue_count > 0 ? "past their due date" : "nothing past its due date"}</div>
        </section>
        <section class="card">
          <h2>{dueSoonTitle(view.warnDays)}</h2>
          <div class="big" data-testid="due-soon-count"><a href={items(view.env, "&due_soon=on&sort=due")}>{d.dueSoon.total}</a></div>
        </section>
      </div>
      <div class="grid">
        <section class="card">
          <h2>By status</h2>
          <table>
            <tbody>
              {STATUSES.map((s) => (
                <tr>
                  <th scope="row"><a href={items(view.env, `&status=${s}`)}>{s.replace("_", " ")}</a></th>
                  <td class="num" data-testid={`status-${s}`}>{db.status_counts[s]}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
        <section class="card">
          <h2>By priority</h2>
          <table>
            <tbody>
              {PRIORITIES.map((p) => (
                <tr>
                  <th scope="row"><a href={items(view.env, `&priority=${p}`)}>{p}</a></th>
                  <td class="num" data-testid={`priority-${p}`}>{db.priority_counts[p]}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
        <section class="card">
          <h2>Top services (open work)</h2>
          {db.top_services.length === 0 ? (
            <p>No open work.</p>
          ) : (
            <table>
              <tbody>
                {db.top_services.map((s) => (
                  <tr>
                    <th scope="row"><a href={items(view.env, `&service=${encodeURIComponent(s.service)}&status=open&status=in_progress&status=blocked`)}>{s.service}</a></th>
                    <td class="num">{s.count}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      </div>
      <section class="card">
        <h2>Due soon</h2>
        {d.dueSoon.items.length === 0 ? <p>Nothing {dueSoonWords(view.warnDays)}.</p> : <ItemsTable items={d.dueSoon.items} today={today} caption={`${d.dueSoon.total} unfinished items ${dueSoonWords(view.warnDays)}, soonest first`} />}
      </section>
      <section class="card">
        <h2>Overdue ({db.overdue_count})</h2>
        {db.overdue.length === 0 ? (
          <p>Nothing overdue.</p>
        ) : (
          <table data-testid="overdue">
            <caption class="muted" style="text-align:left">Most overdue first{db.overdue_count > db.overdue.length ? ` (first ${db.overdue.length})` : ""}</caption>
            <thead>
              <tr><th scope="col" class="num">days overdue</th><th scope="col">priority</th><th scope="col">title</th><th scope="col">service</th><th scope="col">owner</th><th scope="col">due</th><th scope="col">status</th></tr>
            </thead>
            <tbody>
              {db.overdue.map((o) => (
                <tr data-id={o.id} class={o.priority === "P0" ? "p0-open" : undefined}>
                  <td class="num bad">{o.days_overdue}</td>
                  <td><PriorityBadge priority={o.priority} open={true} /></td>
                  <td><a href={itemHref(o.id)}>{o.title}</a></td>
                  <td>{o.service}</td>
                  <td>{o.owner ? <a href={ownerHref(o.owner, o.env)}>{o.owner}</a> : <span class="muted">nobody</span>}</td>
                  <td>{o.due_date}</td>
                  <td>{o.status.replace("_", " ")}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </Layout>,
  );
}
