/**
 * `npx bun run bench --json` is for machines: stdout must be the JSON summary and nothing else (each
 * benchmark's own table goes to stderr). Shape only: no test asserts a time (figures live in bench/).
 */
import { expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import process from "node:process";
import { REPO } from "../helpers/run.ts";

test("bench --json prints only its JSON summary on stdout, with target and met per row", () => {
  const r = spawnSync(process.execPath, ["run", "bench/index.ts", "--only", "policy-load", "--json"], { cwd: REPO, encoding: "utf8", env: process.env });
  expect({ status: r.status, stderr: r.status === 0 ? "" : r.stderr }).toEqual({ status: 0, stderr: "" });
  const summary = JSON.parse(r.stdout);
  expect(summary).toMatchObject({ full: false, failed: [], targets: expect.any(Number), targets_met: expect.any(Number) });
  expect(summary.results.length).toBeGreaterThan(0);
  for (const row of summary.results) expect(Object.keys(row)).toEqual(expect.arrayContaining(["benchmark", "figure", "baseline", "ratio", "target", "met"]));
});
