import { describe, expect, test } from "bun:test";
import { hasEntitlement } from "../../lib/access/entitlements.ts";
import { buildAccess, loadAccess } from "../../lib/access/config.ts";

describe("entitlements: admin ⊇ write ⊇ read, per domain", () => {
  test("levels cover lower levels of the same domain only", () => {
    expect(hasEntitlement(["tools.backlog.admin"], "tools.backlog.read")).toBe(true);
    expect(hasEntitlement(["tools.backlog.admin"], "tools.backlog.write")).toBe(true);
    expect(hasEntitlement(["tools.backlog.write"], "tools.backlog.admin")).toBe(false);
    expect(hasEntitlement(["tools.backlog.read"], "tools.backlog.write")).toBe(false);
    expect(hasEntitlement(["tools.risk.admin"], "tools.backlog.read")).toBe(false);
    expect(hasEntitlement([], "tools.backlog.read")).toBe(false);
    expect(hasEntitlement(["tools.backlog.admin"], "garbage")).toBe(false);
  });
});

describe("access config", () => {
  const raw = {
    agents: {
      scheduler: { key_env: "SCHEDULER_API_KEY", entitlements: ["tools.backlog.admin", "tools.pressure.write", "tools.risk.write"] },
      reader: { key_env: "READER_KEY", entitlements: ["tools.backlog.read"] },
    },
  };

  test("the key identifies the agent; unknown keys and unset env vars cannot log in", () => {
    const access = buildAccess(raw, { SCHEDULER_API_KEY: "s3cret-sched" });
    expect(access.authenticate("s3cret-sched")).toEqual({
      agent: "scheduler", entitlements: ["tools.backlog.admin", "tools.pressure.write", "tools.risk.write"], authenticated: true,
    });
    expect(access.authenticate("nope")).toBeNull();
    expect(access.authenticate("")).toBeNull(); // reader's env var is unset: no empty-key login
    expect(access.agents.find((a) => a.name === "reader")?.enabled).toBe(false);
    expect(JSON.stringify(access.agents)).not.toContain("s3cret-sched");
  });

  test("two variables holding the same key are refused, naming both variables and never the key", () => {
    const key = "same-key-0123456789abcdef";
    let err: Error | undefined;
    try {
      buildAccess(raw, { SCHEDULER_API_KEY: key, READER_KEY: key }, "config/access.yml");
    } catch (e) {
      err = e as Error;
    }
    expect(err?.message).toBe("config/access.yml: agents.reader.key_env: READER_KEY holds the same key as SCHEDULER_API_KEY (agent scheduler); give each agent its own key.");
    // Different keys, or one of them unset, are fine.
    expect(buildAccess(raw, { SCHEDULER_API_KEY: key, READER_KEY: `${key}x` }).authenticate(`${key}x`)?.agent).toBe("reader");
    expect(buildAccess(raw, { SCHEDULER_API_KEY: key }).authenticate(key)?.agent).toBe("scheduler");
  });

  test("anonymous is off by default and may only hold read entitlements", () => {
    expect(buildAccess(raw, {}).anonymous.entitlements).toEqual([]);
    expect(buildAccess({ anonymous: { entitlements: ["tools.backlog.read"] } }, {}).anonymous.entitlements).toEqual(["tools.backlog.read"]);
    expect(() => buildAccess({ anonymous: { entitlements: ["tools.backlog.write"] } }, {})).toThrow(
      "anonymous.entitlements.0: anonymous access may only hold read entitlements",
    );
  });

  test("bad files name the key and the fix", () => {
    expect(() => buildAccess({ agents: { x: { key_env: "lower", entitlements: [] } } }, {})).toThrow(/agents.x.key_env: must be an environment variable name/);
    expect(() => buildAccess({ agents: { x: { key_env: "K", entitlements: ["backlog.read"] } } }, {})).toThrow(/agents.x.entitlements.0: must look like tools/);
    expect(() => buildAccess({ agents: {}, extra: 1 }, {})).toThrow(/extra/);
  });

  test("the shipped config/access.yml loads and gives the scheduler the runbook's entitlements", () => {
    const access = loadAccess(undefined, { SCHEDULER_API_KEY: "k" });
    expect(access.authenticate("k")?.entitlements).toEqual(["tools.backlog.admin", "tools.pressure.write", "tools.risk.write", "tools.notify.write"]);
    expect(access.anonymous.entitlements).toEqual([]);
  });
});
