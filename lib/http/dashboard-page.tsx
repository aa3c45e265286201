/** @jsxImportSource hono/jsx */
/**
 * Server-rendered HTML dashboard (hono/jsx, no front-end build): the same data as the JSON dashboard,
 * shaped for a person — bars for counts, days overdue, the alert banner, which backend is serving.
 */
import type { Dashboard } from "../store/types.ts";
import type { Alert } from "./app.ts";

export interface PageData {
  env: string | null;
  data: Dashboard & { backend: string; degraded: boolean; alerts: Alert[] };
  renderedAt: Date;
}

const STATUS_COLORS: Record<string, string> = {
  open: "#2563eb", in_progress: "#7c3aed", blocked: "#dc2626", done: "#16a34a", canceled: "#6b7280",
};
const PRIORITY_COLORS: Record<string, string> = { P0: "#b91c1c", P1: "#ea580c", P2: "#ca8a04", P3: "#4b5563" };

const css = `
  body { font: 15px/1.45 system-ui, sans-serif; margin: 0; color: #111827; background: #f9fafb; }
  header { padding: 16px 24px; background: #111827; color: #f9fafb; display: flex; gap: 24px; align-items: baseline; flex-wrap: wrap; }
  header h1 { margin: 0; font-size: 20px; }
  header .meta { color: #d1d5db; font-size: 13px; }
  main { padding: 16px 24px; display: grid; grid-template-columns: repeat(auto-fit, minmax(340px, 1fr)); gap: 16px; }
  section { background: white; border: 1px solid #e5e7eb; border-radius: 8px; padding: 16px; }
  section.wide { grid-column: 1 / -1; }
  h2 { font-size: 15px; margin: 0 0 12px; text-transform: uppercase; letter-spacing: .04em; color: #374151; }
  .bar { display: grid; grid-template-columns: 110px 1fr 48px; gap: 8px; align-items: center; margin: 6px 0; }
  .track { background: #f3f4f6; border-radius: 4px; height: 18px; overflow: hidden; }
  .fill { height: 100%; border-radius: 4px; }
  .num { text-align: right; font-variant-numeric: tabular-nums; font-weight: 600; }
  .alerts { padding: 12px 24px; font-weight: 600; }
  .alert-page { background: #fee2e2; color: #7f1d1d; border-bottom: 2px solid #b91c1c; }
  .alert-notify { background: #fef3c7; color: #78350f; border-bottom: 2px solid #d97706; }
  .ok { background: #dcfce7; color: #14532d; }
  .degraded { color: #fbbf24; font-weight: 600; }
  table { width: 100%; border-collapse: collapse; font-size: 14px; }
  th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid #f3f4f6; }
  th { color: #6b7280; font-weight: 600; }
  .big { font-size: 32px; font-weight: 700; }
  .late { color: #b91c1c; font-weight: 700; }
`;

function Bars(props: { counts: Record<string, number>; colors: Record<string, string>; id: string }) {
  const max = Math.max(1, ...Object.values(props.counts));
  return (
    <div data-testid={props.id}>
      {Object.entries(props.counts).map(([k, n]) => (
        <div class="bar" data-key={k}>
          <span>{k.replace("_", " ")}</span>
          <div class="track">
            <div class="fill" style={`width:${(100 * n) / max}%;background:${props.colors[k] ?? "#6b7280"}`} />
          </div>
          <span class="num" data-testid={`${props.id}-${k}`}>{n}</span>
        </div>
      ))}
    </div>
  );
}

export function renderDashboardPage({ env, data, renderedAt }: PageData) {
  const title = `Backlog dashboard${env ? ` — ${env}` : ""}`;
  const pages = data.alerts.filter((a) => a.level === "page");
  const banner = data.alerts.length ? (pages.length ? "alert-page" : "alert-notify") : "ok";
  return (
    "<!doctype html>" +
    (
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <meta http-equiv="refresh" content="60" />
          <title>{title}</title>
          <style>{css}</style>
        </head>
        <body>
          <header>
            <h1>{title}</h1>
            <span class="meta" data-testid="backend">
              backend: {data.backend}
              {data.degraded ? <span class="degraded"> (degraded: Postgres unavailable, serving fallback)</span> : null}
            </span>
            <span class="meta" data-testid="rendered-at">rendered {renderedAt.toISOString().replace("T", " ").slice(0, 19)} UTC</span>
          </header>
          <div class={`alerts ${banner}`} data-testid="alerts" role="status">
            {data.alerts.length === 0
              ? "No alerts."
              : data.alerts.map((a) => (
                  <div>
                    {a.level.toUpperCase()} {a.target}: {a.reason}
                  </div>
                ))}
          </div>
          <main>
            <section>
              <h2>Total</h2>
              <div class="big" data-testid="total">{data.total}</div>
              <div>
                overdue: <span class="late" data-testid="overdue-count">{data.overdue_count}</span>
              </div>
            </section>
            <section>
              <h2>Status</h2>
              <Bars counts={data.status_counts} colors={STATUS_COLORS} id="status" />
            </section>
            <section>
              <h2>Priority</h2>
              <Bars counts={data.priority_counts} colors={PRIORITY_COLORS} id="priority" />
            </section>
            <section>
              <h2>Top services (open work)</h2>
              {data.top_services.length === 0 ? (
                <p>No open work.</p>
              ) : (
                <Bars
                  counts={Object.fromEntries(data.top_services.map((s) => [s.service, s.count]))}
                  colors={{}}
                  id="services"
                />
              )}
            </section>
            <section class="wide">
              <h2>Overdue ({data.overdue_count})</h2>
              {data.overdue.length === 0 ? (
                <p>Nothing overdue.</p>
              ) : (
                <table data-testid="overdue">
                  <thead>
                    <tr><th>days overdue</th><th>priority</th><th>service</th><th>title</th><th>owner</th><th>due</th><th>status</th><th>id</th></tr>
                  </thead>
                  <tbody>
                    {data.overdue.map((o) => (
                      <tr data-id={o.id}>
                        <td class="late">{o.days_overdue}</td>
                        <td>{o.priority}</td>
                        <td>{o.service}</td>
                        <td>{o.title}</td>
                        <td>{o.owner ?? "—"}</td>
                        <td>{o.due_date}</td>
                        <td>{o.status}</td>
                        <td><code>{o.id}</code></td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </section>
          </main>
        </body>
      </html>
    ).toString()
  );
}
