/** ops/systemd/backlog-bridge.service: accepted by systemd's own verifier, and it runs what we ship. */
import { expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { envNamesRead } from "../helpers/env-names.ts";
import { REPO } from "../helpers/run.ts";
import { tempDir } from "../helpers/tmp.ts";

const UNIT = readFileSync(join(REPO, "ops/systemd/backlog-bridge.service"), "utf8");
const ANALYZE = "/usr/bin/systemd-analyze";

const keys = (section: string) => {
  const body = UNIT.split(/^\[/m).find((s) => s.startsWith(section + "]")) ?? "";
  return body.split("\n").filter((l) => /^[A-Za-z]+=/.test(l)).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)] as const);
};

test("systemd-analyze verify accepts the unit without a single warning", () => {
  if (!existsSync(ANALYZE)) throw new Error(`${ANALYZE} not found: install it with \`apt-get install -y systemd\`.`);
  const dir = tempDir("bb-unit-");
  // point the install paths at this checkout so the verifier can check that ExecStart is executable
  const unit = UNIT.replaceAll("/opt/backlog-bridge/node_modules/.bin/bun", join(REPO, "node_modules/.bin/bun"));
  writeFileSync(join(dir, "backlog-bridge.service"), unit);
  const r = spawnSync(ANALYZE, ["verify", join(dir, "backlog-bridge.service")], { encoding: "utf8", env: { ...process.env, SYSTEMD_LOG_LEVEL: "warning" } });
  expect({ code: r.status, output: (r.stdout + r.stderr).trim() }).toEqual({ code: 0, output: "" });
  // the verifier is not toothless: a typo is reported
  writeFileSync(join(dir, "typo.service"), unit.replace("Restart=on-failure", "Restart=sometimes"));
  const bad = spawnSync(ANALYZE, ["verify", join(dir, "typo.service")], { encoding: "utf8" });
  expect(bad.stdout + bad.stderr).toContain("sometimes");
});

test("the unit runs server.ts with the in-process scheduler, restarts on failure and is hardened", () => {
  const svc = new Map(keys("Service").map(([k, v]) => [k, v]));
  // the repository's bun from npm ci: systemd's PATH has no bun unless one was installed globally
  expect(svc.get("ExecStart")).toBe(`${svc.get("WorkingDirectory")}/node_modules/.bin/bun run server.ts`);
  expect(svc.get("Restart")).toBe("on-failure");
  expect(svc.get("EnvironmentFile")).toBe("/etc/backlog-bridge/env");
  expect(svc.get("User")).toBe("backlog");
  expect(keys("Service").filter(([k]) => k === "Environment").map(([, v]) => v)).toContain("SCHEDULER_ENABLED=true");
  for (const k of ["NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp"]) expect(svc.has(k)).toBe(true);
  // what it may write is exactly where the JSONL store and the reports live by default
  expect(svc.get("ReadWritePaths")?.split(" ")).toEqual(["/opt/backlog-bridge/ops/backlog", "/opt/backlog-bridge/ops/reports"]);
});

test("the env example and the unit set only variables server.ts reads (commented ones too)", () => {
  const reads = envNamesRead("server.ts");
  const example = readFileSync(join(REPO, "ops/systemd/backlog-bridge.env.example"), "utf8");
  const names = [...example.matchAll(/^#?\s?([A-Z][A-Z0-9_]+)=/gm), ...UNIT.matchAll(/^Environment=([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]!);
  expect(names.length).toBeGreaterThan(6);
  for (const n of names) expect({ n, read: reads.has(n) }).toEqual({ n, read: true });
});
