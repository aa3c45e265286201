import { describe, expect, test } from "bun:test";
import { createLogger } from "../../lib/core/log.ts";
import { redactDsn, redactText } from "../../lib/core/redact.ts";

describe("logging and redaction", () => {
  test("DSN passwords are masked, the rest stays readable", () => {
    expect(redactDsn("postgresql://user:pa55@db:5432/daarion")).toBe("postgresql://user:***@db:5432/daarion");
    expect(redactText("failed to reach postgres://u:x@h/d and password=hunter2")).toBe("failed to reach postgres://u:***@h/d and password=***");
  });
  test("logger masks secret fields and DSNs inside values", () => {
    const lines: string[] = [];
    const log = createLogger({ write: (l) => lines.push(l), now: () => new Date("2026-01-01T00:00:00Z") });
    log.info("connecting", { dsn: "postgresql://u:topsecret@h/d", password: "topsecret", api_key: "k-123", note: "via postgres://a:b@c/d" });
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain("topsecret");
    expect(lines[0]).not.toContain("k-123");
    expect(JSON.parse(lines[0]!)).toEqual({
      level: "info", event: "connecting", ts: "2026-01-01T00:00:00.000Z",
      dsn: "postgresql://u:***@h/d", password: "***", api_key: "***", note: "via postgres://a:***@c/d",
    });
  });
  test("levels filter and pretty format is one readable line", () => {
    const lines: string[] = [];
    const log = createLogger({ level: "warn", format: "pretty", write: (l) => lines.push(l), now: () => new Date(0) });
    log.info("hidden");
    log.warn("backlog_store: using JsonlBacklogStore", { reason: "down" });
    expect(lines).toEqual(["1970-01-01T00:00:00.000Z WARN  backlog_store: using JsonlBacklogStore  reason=down"]);
  });
});
