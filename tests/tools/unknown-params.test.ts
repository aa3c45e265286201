/**
 * One rule for every tool action (docs/generation.md "Params are strict", docs/http.md "invalid params →
 * 400 with one line per bad field"): an unknown parameter is refused naming it and the allowed ones,
 * never valibot's bare `expected never`. alert_intake.ingest takes Alertmanager's payload, whose extra
 * fields are Alertmanager's to add, so it is the one action left out.
 */
import { expect, test } from "bun:test";
import { rejectionOf } from "../helpers/app-error.ts";
import { silentLogger } from "../../lib/core/log.ts";
import { parsePolicyText } from "../../lib/generation/policy.ts";
import { MemoryBacklogStore } from "../../lib/store/memory.ts";
import { createToolContext, dispatch, loadToolRegistry } from "../../lib/tools/index.ts";

const LENIENT = new Set(["alert_intake.ingest"]);

test("every tool action refuses an unknown parameter, naming it and the allowed ones", async () => {
  const registry = await loadToolRegistry({ policy: parsePolicyText("", "policy.yml") });
  const ctx = createToolContext({
    store: new MemoryBacklogStore(), agent: "admin", log: silentLogger,
    // params are checked before an action runs, so nothing is read from these
    paths: { root: "/nonexistent", reportsDir: "/nonexistent/reports", policyFile: "policy.yml" },
    entitlements: ["tools.backlog.admin", "tools.risk.admin", "tools.pressure.admin", "tools.notify.admin", "tools.alerts.admin"],
  });
  const answers: Record<string, string> = {};
  for (const [tool, t] of registry) {
    for (const action of Object.keys(t.actions)) {
      if (LENIENT.has(`${tool}.${action}`)) continue;
      const err = await rejectionOf(dispatch(registry, { tool, action, params: { zzz: 1 } }, ctx));
      const details = Array.isArray(err.details) ? (err.details as string[]) : [];
      const line = details.find((d) => d.startsWith("zzz:")) ?? String(err.message);
      answers[`${tool}.${action}`] = line.replace(/\(allowed: [^)]*\)/, "(allowed: …)");
    }
  }
  expect(Object.keys(answers).length).toBeGreaterThan(15);
  for (const [call, line] of Object.entries(answers)) expect({ call, line }).toEqual({ call, line: 'zzz: unknown parameter "zzz" (allowed: …)' });
});
