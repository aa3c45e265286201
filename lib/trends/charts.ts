/**
 * SVG line charts as pure functions (data in, markup out; no I/O, no DOM), drawn on the server so the
 * trends page needs no JavaScript. Readable without colour: every series has its own dash pattern and
 * marker shape, the legend shows both, the last value is written next to each line, and the SVG has a
 * <title>/<desc> for screen readers (the page adds the numbers as a table).
 */
import { isoWeekLabel } from "../core/isoweek.ts";
import { addDays } from "../store/dates.ts";
import type { TrendRow } from "./types.ts";

export interface Series {
  name: string;
  /** One value per x label; null leaves a gap (no snapshot that day). */
  values: (number | null)[];
}

export interface ChartSpec {
  id: string;
  title: string;
  desc: string;
  labels: string[];
  series: Series[];
  /** Show every n-th x label (and marker, when there are many points). */
  labelEvery?: number;
  width?: number;
  height?: number;
}

/** Dark colours (AA on white) paired with a dash pattern and a marker, so colour is never the only cue. */
export const STYLES = [
  { color: "#1d4ed8", dash: "", marker: "circle" },
  { color: "#b91c1c", dash: "7 4", marker: "square" },
  { color: "#047857", dash: "2 3", marker: "triangle" },
] as const;

export const esc = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
const n = (x: number) => (Math.round(x * 10) / 10).toString();

/** A round axis maximum ≥ max whose quarters (the 4 grid steps) are whole numbers: a multiple of 4 up to 40, then 1, 2, 4, 5, 8 × 10^k. */
export function niceMax(max: number): number {
  if (!(max > 4)) return 4;
  if (max <= 40) return Math.ceil(max / 4) * 4;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 4, 5, 8, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}

function marker(kind: string, x: number, y: number, color: string): string {
  if (kind === "square") return `<rect x="${n(x - 3.5)}" y="${n(y - 3.5)}" width="7" height="7" fill="${color}"/>`;
  if (kind === "triangle") return `<path d="M${n(x)} ${n(y - 4.5)}L${n(x + 4.5)} ${n(y + 3.5)}L${n(x - 4.5)} ${n(y + 3.5)}Z" fill="${color}"/>`;
  return `<circle cx="${n(x)}" cy="${n(y)}" r="3.5" fill="${color}"/>`;
}

export function lineChart(spec: ChartSpec): string {
  const W = spec.width ?? 720;
  const H = spec.height ?? 280;
  const pad = { l: 44, r: 120, t: 40, b: 34 };
  const pw = W - pad.l - pad.r;
  const ph = H - pad.t - pad.b;
  const count = spec.labels.length;
  const every = spec.labelEvery ?? 1;
  const all = spec.series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  const top = niceMax(all.length ? Math.max(...all) : 0);
  const x = (i: number) => pad.l + (count <= 1 ? pw / 2 : (pw * i) / (count - 1));
  const y = (v: number) => pad.t + ph - (ph * v) / top;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-labelledby="${spec.id}-t ${spec.id}-d" data-chart="${esc(spec.id)}">`,
    `<title id="${spec.id}-t">${esc(spec.title)}</title>`,
    `<desc id="${spec.id}-d">${esc(spec.desc)}</desc>`,
  );
  // grid and y ticks
  for (let k = 0; k <= 4; k++) {
    const v = (top * k) / 4;
    const yy = y(v);
    out.push(`<line x1="${pad.l}" x2="${pad.l + pw}" y1="${n(yy)}" y2="${n(yy)}" stroke="#d1d5db" stroke-width="1"/>`);
    out.push(`<text x="${pad.l - 6}" y="${n(yy + 4)}" text-anchor="end" font-size="11" fill="#374151">${n(v)}</text>`);
  }
  // x labels
  spec.labels.forEach((label, i) => {
    if (i % every !== 0 && i !== count - 1) return;
    out.push(`<text x="${n(x(i))}" y="${H - pad.b + 16}" text-anchor="middle" font-size="11" fill="#374151">${esc(label)}</text>`);
  });
  // legend
  spec.series.forEach((s, si) => {
    const st = STYLES[si % STYLES.length]!;
    const lx = pad.l + si * 170;
    out.push(
      `<g data-legend="${esc(s.name)}"><line x1="${lx}" x2="${lx + 28}" y1="14" y2="14" stroke="${st.color}" stroke-width="2.5" stroke-dasharray="${st.dash}"/>`,
      marker(st.marker, lx + 14, 14, st.color),
      `<text x="${lx + 34}" y="18" font-size="12" fill="#111827">${esc(s.name)}</text></g>`,
    );
  });
  // series: segments between gaps, markers, end label
  const many = count > 20;
  spec.series.forEach((s, si) => {
    const st = STYLES[si % STYLES.length]!;
    const parts: string[][] = [[]];
    s.values.forEach((v, i) => {
      if (v === null) parts.push([]);
      else parts[parts.length - 1]!.push(`${n(x(i))},${n(y(v))}`);
    });
    out.push(`<g data-series="${esc(s.name)}">`);
    for (const p of parts) {
      if (p.length > 1) out.push(`<polyline points="${p.join(" ")}" fill="none" stroke="${st.color}" stroke-width="2.5" stroke-dasharray="${st.dash}"/>`);
    }
    let last = -1;
    s.values.forEach((v, i) => {
      if (v === null) return;
      last = i;
      if (!many || i % every === 0 || i === count - 1) out.push(marker(st.marker, x(i), y(v), st.color));
    });
    if (last >= 0) {
      const yy = y(s.values[last]!) + 4 + (si - (spec.series.length - 1) / 2) * 13;
      out.push(`<text x="${n(x(last) + 8)}" y="${n(yy)}" font-size="12" fill="${st.color}">${esc(`${s.name} ${s.values[last]}`)}</text>`);
    }
    out.push("</g>");
  });
  out.push("</svg>");
  return out.join("");
}

/** The days from `from` to `to` inclusive. */
export function daysBetween(from: string, to: string): string[] {
  const out: string[] = [];
  for (let d = from; d <= to; d = addDays(d, 1)) out.push(d);
  return out;
}

export interface TrendView {
  days: string[];
  byDay: (pick: (r: TrendRow) => number) => (number | null)[];
  weeks: { week: string; created: number; closed: number; createdTotal: number; closedTotal: number }[];
}

/** The window's rows by day (gaps as null) and per ISO week (created/closed sums, and running totals for the burn-up). */
export function trendView(rows: readonly TrendRow[], from: string, to: string): TrendView {
  const days = daysBetween(from, to);
  const map = new Map(rows.map((r) => [r.day, r]));
  const weeks: TrendView["weeks"] = [];
  let ct = 0;
  let cl = 0;
  for (const d of days) {
    const w = isoWeekLabel(d);
    if (!weeks.length || weeks[weeks.length - 1]!.week !== w) weeks.push({ week: w, created: 0, closed: 0, createdTotal: ct, closedTotal: cl });
    const cur = weeks[weeks.length - 1]!;
    const r = map.get(d);
    if (r) {
      cur.created += r.created;
      cur.closed += r.closed;
      ct += r.created;
      cl += r.closed;
    }
    cur.createdTotal = ct;
    cur.closedTotal = cl;
  }
  return { days, byDay: (pick) => days.map((d) => (map.has(d) ? pick(map.get(d)!) : null)), weeks };
}
