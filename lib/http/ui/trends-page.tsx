/** @jsxImportSource hono/jsx */
/**
 * Trends over the last 12 weeks from the daily snapshots (trends_tool): open and overdue, created vs
 * closed per week as a burn-up, P0/P1 open. Charts are SVG drawn on the server (lib/trends/charts.ts);
 * each has its numbers in a table underneath, for screen readers and for anyone who wants the figures.
 */
import { raw } from "hono/html";
import { lineChart, trendView } from "../../trends/charts.ts";
import type { TrendRow } from "../../trends/types.ts";
import { Layout, render, type View } from "./layout.tsx";

export interface TrendsData {
  from: string;
  to: string;
  rows: TrendRow[];
}

const short = (day: string) => day.slice(5);

export function renderTrendsPage(view: View, d: TrendsData) {
  const tv = trendView(d.rows, d.from, d.to);
  const labels = tv.days.map(short);
  const weeks = tv.weeks.map((w) => w.week.slice(5));
  return render(
    <Layout view={view} title={`Trends — ${view.env}`} nav="trends" envHref={(e) => `/ui/trends?env=${encodeURIComponent(e)}`}>
      <h1>Trends — {view.env}</h1>
      <p class="muted">
        Daily snapshots from {d.from} to {d.to} (UTC): {d.rows.length} of {tv.days.length} days recorded. Gaps are days without a snapshot.
      </p>
      {d.rows.length === 0 ? (
        <p class="msg error" role="status" data-testid="no-trends">
          No snapshots yet for {view.env}. The daily_trends_snapshot job records one each day at 23:55 UTC (ops/task_registry.yml).
        </p>
      ) : null}
      <section class="card">
        <h2>Open and overdue</h2>
        <figure>
          {raw(lineChart({ id: "open-overdue", title: `Open and overdue items per day, ${view.env}`, desc: `Daily counts from ${d.from} to ${d.to}; open is a solid line with circles, overdue a dashed line with squares.`, labels, labelEvery: 14, series: [{ name: "open", values: tv.byDay((r) => r.open) }, { name: "overdue", values: tv.byDay((r) => r.overdue) }] }))}
          <figcaption>Open work (open, in progress, blocked) and how much of it is past due, per day.</figcaption>
        </figure>
      </section>
      <section class="card">
        <h2>Created vs closed per week (burn-up)</h2>
        <figure>
          {raw(lineChart({ id: "burnup", title: `Created and closed items, running totals per ISO week, ${view.env}`, desc: "Running totals since the start of the window; the gap between the lines is the growth of open work.", labels: weeks, series: [{ name: "created", values: tv.weeks.map((w) => w.createdTotal) }, { name: "closed", values: tv.weeks.map((w) => w.closedTotal) }] }))}
          <figcaption>When the closed line climbs as fast as the created line, the backlog is under control.</figcaption>
        </figure>
        <details>
          <summary>Weekly numbers</summary>
          <table data-testid="weekly">
            <thead><tr><th scope="col">week</th><th scope="col" class="num">created</th><th scope="col" class="num">closed</th><th scope="col" class="num">created so far</th><th scope="col" class="num">closed so far</th></tr></thead>
            <tbody>
              {tv.weeks.map((w) => (
                <tr><th scope="row">{w.week}</th><td class="num">{w.created}</td><td class="num">{w.closed}</td><td class="num">{w.createdTotal}</td><td class="num">{w.closedTotal}</td></tr>
              ))}
            </tbody>
          </table>
        </details>
      </section>
      <section class="card">
        <h2>P0 and P1 open</h2>
        <figure>
          {raw(lineChart({ id: "p0p1", title: `Open P0 and P1 items per day, ${view.env}`, desc: "P0 is a solid line with circles, P1 a dashed line with squares.", labels, labelEvery: 14, series: [{ name: "P0 open", values: tv.byDay((r) => r.p0_open) }, { name: "P1 open", values: tv.byDay((r) => r.p1_open) }] }))}
          <figcaption>The most urgent open work, per day.</figcaption>
        </figure>
        <details>
          <summary>Daily numbers</summary>
          <table data-testid="daily">
            <thead><tr><th scope="col">day</th><th scope="col" class="num">open</th><th scope="col" class="num">overdue</th><th scope="col" class="num">P0 open</th><th scope="col" class="num">P1 open</th><th scope="col" class="num">created</th><th scope="col" class="num">closed</th></tr></thead>
            <tbody>
              {d.rows.map((r) => (
                <tr><th scope="row">{r.day}</th><td class="num">{r.open}</td><td class="num">{r.overdue}</td><td class="num">{r.p0_open}</td><td class="num">{r.p1_open}</td><td class="num">{r.created}</td><td class="num">{r.closed}</td></tr>
              ))}
            </tbody>
          </table>
        </details>
      </section>
    </Layout>,
  );
}
