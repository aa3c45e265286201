/** docs/alerting.md's CLI form of the intake: scripts/tool.ts alert_intake ingest with a notification as params. */
import { expect, test } from "bun:test";
import { expectExit } from "../helpers/exit.ts";
import { runScript } from "../helpers/run.ts";
import { tempDir } from "../helpers/tmp.ts";
import { payload } from "./payloads.ts";

test("scripts/tool.ts files a notification once, and names the bad field of a broken one (exit 1)", async () => {
  const dir = tempDir("bb-cli-intake-");
  const env = { BACKLOG_BACKEND: "jsonl", BACKLOG_JSONL_DIR: dir, BACKLOG_REPORTS_DIR: dir };
  const run = (p: unknown) => runScript("scripts/tool.ts", ["alert_intake", "ingest", "--params-json", JSON.stringify(p)], { env });
  let r = await run(payload());
  expectExit(r, 0);
  expect(JSON.parse(r.stdout)).toMatchObject({ outcome: "created", events: ["created"] });
  r = await run(payload());
  expectExit(r, 0);
  expect(JSON.parse(r.stdout)).toMatchObject({ outcome: "unchanged", events: [] });
  r = await run({ ...payload(), version: "3" });
  expectExit(r, 1);
  expect(r.stderr).toContain('version: expected "4"');
});
