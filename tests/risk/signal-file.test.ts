/**
 * scripts/risk.ts --from-file reads files "from another system": exports from Windows tools (PowerShell,
 * Excel) start with a UTF-8 byte order mark, which the HTTP API already accepts in a JSON body.
 */
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { expectExit } from "../helpers/exit.ts";
import { runScript } from "../helpers/run.ts";
import { tempDir } from "../helpers/tmp.ts";

const BOM = "\uFEFF";
const record = (service: string) => JSON.stringify({ env: "prod", service, signals: { open_alerts: 1 } });

describe("scripts/risk.ts --from-file", () => {
  for (const [form, text] of [
    ["JSONL", `${BOM}${record("gateway")}\r\n${record("billing")}\r\n`],
    ["a JSON array", `${BOM}[${record("gateway")}, ${record("billing")}]`],
    ["the records wrapper", `${BOM}{\n "description": "x",\n "records": [${record("gateway")}, ${record("billing")}]\n}`],
  ] as const) {
    test(`${form} with a UTF-8 byte order mark is read like one without`, async () => {
      const dir = tempDir("bb-risk-bom-");
      const file = join(dir, "signals.jsonl");
      writeFileSync(file, text);
      const r = await runScript("scripts/risk.ts", ["--from-file", file, "--dry-run"], { env: { BACKLOG_BACKEND: "jsonl", BACKLOG_JSONL_DIR: dir } });
      expectExit(r, 0);
      expect(JSON.parse(r.stdout)).toMatchObject({ dry_run: true, would_record: 2 });
    });
  }
});
