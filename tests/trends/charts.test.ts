/** The SVG chart renderer and the trend maths, tested with data (pure functions, no I/O). */
import { describe, expect, test } from "bun:test";
import { daysBetween, esc, lineChart, niceMax, STYLES, trendView } from "../../lib/trends/charts.ts";
import { row } from "./rows.ts";

describe("lineChart", () => {
  const spec = {
    id: "c1",
    title: "Open & overdue <prod>",
    desc: "Open and overdue items per day",
    labels: ["d1", "d2", "d3", "d4", "d5"],
    series: [
      { name: "open", values: [5, 6, null, 8, 9] },
      { name: "overdue", values: [1, 2, 2, 3, 4] },
    ],
  };
  const svg = lineChart(spec);

  test("accessible name and description; text is escaped", () => {
    expect(svg).toContain('role="img" aria-labelledby="c1-t c1-d"');
    expect(svg).toContain('<title id="c1-t">Open &#38; overdue &#60;prod&#62;</title>');
    expect(svg).toContain('<desc id="c1-d">Open and overdue items per day</desc>');
    expect(esc(`"'`)).toBe("&#34;&#39;");
  });

  test("a gap splits the line; each series has its own dash and marker shape, not only a colour", () => {
    const open = /<g data-series="open">(.*?)<\/g>/.exec(svg)![1]!;
    const overdue = /<g data-series="overdue">(.*?)<\/g>/.exec(svg)![1]!;
    expect(open.match(/<polyline/g)!.length).toBe(2);
    expect(overdue.match(/<polyline/g)!.length).toBe(1);
    expect(open.match(/<circle/g)!.length).toBe(4);
    expect(overdue.match(/<rect/g)!.length).toBe(5);
    expect(overdue).toContain(`stroke-dasharray="${STYLES[1].dash}"`);
    expect(STYLES[0].dash).not.toBe(STYLES[1].dash);
  });

  test("the last value is written at the end of each line; the legend names every series", () => {
    expect(svg).toContain(">open 9</text>");
    expect(svg).toContain(">overdue 4</text>");
    expect(svg).toContain('data-legend="open"');
    expect(svg).toContain('data-legend="overdue"');
  });

  test("the y axis tops at a round number at or above the maximum", () => {
    expect([0, 3, 4, 5, 9, 11, 26, 99, 101, 740].map(niceMax)).toEqual([4, 4, 4, 8, 12, 12, 28, 100, 200, 800]);
    expect(svg).toContain(">12</text>");
    expect(svg).toContain(">3</text>");
  });

  test("no data at all still draws an empty chart", () => {
    const empty = lineChart({ ...spec, series: [{ name: "open", values: [null, null, null, null, null] }] });
    expect(empty).not.toContain("<polyline");
    expect(empty).toContain("</svg>");
  });
});

describe("trendView", () => {
  test("days with no snapshot are gaps; weeks sum created/closed and carry running totals", () => {
    expect(daysBetween("2026-11-29", "2026-12-02")).toEqual(["2026-11-29", "2026-11-30", "2026-12-01", "2026-12-02"]);
    const rows = [row("prod", "2026-11-20", { created: 2, closed: 1, open: 4 }), row("prod", "2026-11-23", { created: 5, closed: 3, open: 6 }), row("prod", "2026-11-25", { created: 1, closed: 4, open: 3 })];
    const v = trendView(rows, "2026-11-19", "2026-11-25");
    expect(v.byDay((r) => r.open)).toEqual([null, 4, null, null, 6, null, 3]);
    expect(v.weeks).toEqual([
      { week: "2026-W47", created: 2, closed: 1, createdTotal: 2, closedTotal: 1 },
      { week: "2026-W48", created: 6, closed: 7, createdTotal: 8, closedTotal: 8 },
    ]);
  });
});
