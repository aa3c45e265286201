/**
 * The metric tables of docs/alerting.md and docs/http.md name series /metrics really serves, with their
 * labels: operators write rules and dashboards from them (docs/http.md once listed
 * backlog_items_by_priority and a `job` label that never existed).
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createMetrics } from "../../lib/http/metrics.ts";
import { REPO } from "../helpers/run.ts";

/** name → label names of every series the app registers (nothing is collected: the snapshot is never asked). */
function served(): Map<string, string[]> {
  const m = createMetrics(() => Promise.reject(new Error("not collected here")));
  return new Map(m.registry.getMetricsAsArray().map((x) => [x.name, [...((x as unknown as { labelNames?: string[] }).labelNames ?? [])].sort()]));
}

/** The rows of a doc's "## Metrics" table: each series named in the first cell, with the second cell's labels. */
function documented(file: string, labelsOf: (cell: string) => string[]): { file: string; name: string; labels: string[] }[] {
  const md = readFileSync(join(REPO, file), "utf8");
  const start = md.indexOf("\n## Metrics\n");
  expect(start).toBeGreaterThan(0);
  const end = md.indexOf("\n## ", start + 1);
  const rows = md.slice(start, end < 0 ? undefined : end).split("\n").filter((l) => /^\| `backlog_/.test(l));
  return rows.flatMap((row) => {
    const [, first, second] = row.split("|");
    const names = [...first!.matchAll(/`(backlog_[a-z_]+)`/g)].map((x) => x[1]!);
    // alerting.md writes the pair `…_previous_fire_timestamp_seconds` / `_next_fire_`
    for (const x of first!.matchAll(/`(_[a-z_]+_)`/g)) names.push(names[0]!.replace(/_previous_fire_/, x[1]!));
    return names.map((name) => ({ file, name, labels: labelsOf(second!).sort() }));
  });
}

test("every series in the docs' metric tables is served, with the labels the docs give", () => {
  const have = served();
  const rows = [
    ...documented("docs/alerting.md", (cell) => (cell.trim() === "—" ? [] : cell.split(",").map((s) => s.trim()))),
    ...documented("docs/http.md", (cell) => [...cell.replace(/\([^)]*\)/g, "").matchAll(/`([a-z_]+)`/g)].map((x) => x[1]!)),
  ];
  expect(rows.length).toBeGreaterThan(20);
  for (const r of rows) expect({ ...r, served: have.get(r.name) }).toEqual({ ...r, served: r.labels });
});
