/**
 * Run now (lib/scheduler/run-now.ts): the rules with data, on the memory ledger — who may, the manual
 * slot beside the cron minute's, overlap, suspension, a double submit, unknown jobs, dry runs.
 */
import { describe, expect, test } from "bun:test";
import { AppError } from "../../lib/core/errors.ts";
import { silentLogger } from "../../lib/core/log.ts";
import { runSlot, sourceView, STUCK_AFTER_MS } from "../../lib/scheduler/ledger.ts";
import { MemoryRunLedger } from "../../lib/scheduler/ledger-open.ts";
import { createRunNow, runByHandRight, type ManualJob } from "../../lib/scheduler/run-now.ts";
import { MemoryBacklogStore } from "../../lib/store/memory.ts";
import { createRegistry, dispatch } from "../../lib/tools/dispatch.ts";
import { createToolContext, resolveToolPaths } from "../../lib/tools/index.ts";
import { gate, gateTool, type GateCall } from "../helpers/gate-tool.ts";

const JOBS: ManualJob[] = [
  { id: "daily_gate", tool: "gate_tool", action: "run", params: { tag: "daily" }, entitlement: "tools.backlog.write", dry_run: true, suspend: false },
  { id: "paused_gate", tool: "gate_tool", action: "run", params: { tag: "paused" }, entitlement: "tools.backlog.write", dry_run: false, suspend: true, suspend_reason: "INC-42" },
  { id: "failing", tool: "gate_tool", action: "fail", entitlement: "tools.risk.write", dry_run: false, suspend: false },
];
const ADMIN = { agent: "admin", entitlements: ["tools.backlog.admin", "tools.risk.admin"], authenticated: true };
const WRITER = { agent: "writer", entitlements: ["tools.backlog.write"], authenticated: true };
const AT = new Date("2026-11-23T03:40:00.000Z");

function setup(jobs = JOBS) {
  const calls: GateCall[] = [];
  const g = gate();
  const ledger = new MemoryRunLedger();
  const store = new MemoryBacklogStore();
  const registry = createRegistry([gateTool(calls, g)]);
  let now = AT;
  const runNow = createRunNow({
    jobs: () => jobs,
    ledger,
    dispatch: (identity, call) => dispatch(registry, call, createToolContext({ store, paths: resolveToolPaths({}), agent: identity.agent, entitlements: identity.entitlements, log: silentLogger })),
    clock: () => now,
    log: silentLogger,
  });
  return { calls, g, ledger, runNow, setNow: (d: Date) => (now = d) };
}

async function refusal(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error("expected a refusal");
}

describe("the rules as data", () => {
  test("the run-by-hand right is the admin level of the job's domain", () => {
    expect(runByHandRight("tools.backlog.write")).toBe("tools.backlog.admin");
    expect(runByHandRight("tools.backlog.admin")).toBe("tools.backlog.admin");
    expect(runByHandRight("tools.risk.write")).toBe("tools.risk.admin");
  });

  test("a manual run's slot is its instant, never a whole minute; a scheduled run's is its minute", () => {
    expect(runSlot("2026-11-23T03:40:00.000Z", "manual:alice")).toBe("2026-11-23T03:40:00.001Z");
    expect(runSlot("2026-11-23T03:40:12.345Z", "manual:alice")).toBe("2026-11-23T03:40:12.345Z");
    expect(runSlot("2026-11-23T03:40:12.345Z", "in-process")).toBe("2026-11-23T03:40:00.000Z");
    expect(runSlot("2026-11-23T03:40:12.345Z", "http:scheduler")).toBe("2026-11-23T03:40:00.000Z");
    expect(sourceView("manual:alice@example.com")).toEqual({ source: "manual", actor: "alice@example.com" });
    expect(sourceView("http:scheduler")).toEqual({ source: "http:scheduler" });
  });
});

describe("createRunNow", () => {
  test("runs the registry's call with the caller's rights, recorded as manual with the actor, beside the cron minute", async () => {
    const { calls, ledger, runNow } = setup();
    const out = await runNow.run({ job: "daily_gate", identity: ADMIN, actor: "admin" });
    expect(out).toEqual({ job: "daily_gate", run_id: expect.stringMatching(/^run_/), source: "manual", actor: "admin", started_at: AT.toISOString(), status: "success", result: { ran: "daily", dry_run: false } });
    expect(calls).toEqual([{ tag: "daily", dry_run: false, agent: "admin" }]);
    const run = (await ledger.lastRuns()).get("daily_gate")!;
    expect(run).toMatchObject({ source: "manual:admin", status: "success", scheduled_at: "2026-11-23T03:40:00.001Z" });
    // The 03:40 fire still claims its minute, and a later fire's claim does not block a manual run.
    expect((await ledger.claim("daily_gate", AT.toISOString(), "in-process", AT)).claimed).toBe(true);
    expect((await ledger.claim("daily_gate", AT.toISOString(), "http:scheduler", AT)).claimed).toBe(false);
  });

  test("a manual run after the fire's claim (finished) runs", async () => {
    const { ledger, runNow } = setup();
    const fire = await ledger.claim("daily_gate", AT.toISOString(), "in-process", AT);
    if (!fire.claimed) throw new Error("fire not claimed");
    await ledger.finish(fire.run.run_id, { status: "success" }, AT);
    expect(await runNow.run({ job: "daily_gate", identity: ADMIN, actor: "admin" })).toMatchObject({ status: "success" });
  });

  test("who may: the job's run-by-hand right; a writer is refused naming it", async () => {
    const { runNow, calls } = setup();
    const err = await refusal(runNow.run({ job: "daily_gate", identity: WRITER, actor: "writer" }));
    expect([err.status, err.details]).toEqual([403, { required: "tools.backlog.admin" }]);
    expect(runNow.allowed("daily_gate", WRITER.entitlements)).toBe(false);
    expect(runNow.allowed("daily_gate", ADMIN.entitlements)).toBe(true);
    expect(calls).toEqual([]);
  });

  test("an unknown job is a 404 listing the known ones", async () => {
    const err = await refusal(setup().runNow.run({ job: "nope", identity: ADMIN, actor: "admin" }));
    expect(err.status).toBe(404);
    expect(err.message).toContain("known jobs: daily_gate, paused_gate, failing");
  });

  test("overlap: while the job's run is running (a fire, or another run-now) a run-now is a 409 naming the run", async () => {
    const { g, ledger, runNow, calls } = setup();
    g.close();
    const first = runNow.run({ job: "daily_gate", identity: ADMIN, actor: "admin" });
    await new Promise((r) => setImmediate(r));
    const err = await refusal(runNow.run({ job: "daily_gate", identity: ADMIN, actor: "admin" }));
    expect(err.status).toBe(409);
    expect(err.message).toMatch(/daily_gate is running \(run run_/);
    g.open();
    await first;
    // A fire still running (claimed elsewhere) refuses too, until it is stuck.
    const fire = await ledger.claim("daily_gate", "2026-11-24T03:40:00.000Z", "in-process", new Date("2026-11-24T03:40:00Z"));
    if (!fire.claimed) throw new Error("fire not claimed");
    const again = await refusal(runNow.run({ job: "daily_gate", identity: ADMIN, actor: "admin" }));
    expect([again.status, (again.details as { run_id: string }).run_id]).toEqual([409, fire.run.run_id]);
    expect(calls).toHaveLength(1);
  });

  test("overlap: a fire still running behind a later, finished manual run of its minute refuses a run-now too", async () => {
    // A manual run at 03:40:00.200 (slot to the ms) finished; the runner's call for the 03:40 minute
    // (slot 03:40:00.000) started after it and is running. The latest run by slot is the finished manual
    // run, so looking at the latest alone started a second run beside the fire.
    const { ledger, runNow, setNow, calls } = setup();
    const early = await ledger.claim("daily_gate", "2026-11-23T03:40:00.200Z", "manual:alice", AT);
    if (!early.claimed) throw new Error("manual run not claimed");
    await ledger.finish(early.run.run_id, { status: "success" }, AT);
    const fire = await ledger.claim("daily_gate", AT.toISOString(), "http:scheduler", new Date("2026-11-23T03:40:01Z"));
    if (!fire.claimed) throw new Error("fire not claimed");
    setNow(new Date("2026-11-23T03:40:10Z"));
    const err = await refusal(runNow.run({ job: "daily_gate", identity: ADMIN, actor: "admin" }));
    expect([err.status, (err.details as { run_id: string }).run_id]).toEqual([409, fire.run.run_id]);
    expect(calls).toEqual([]);
  });

  test("overlap: a run claimed by another replica between the check and the claim is a 409 'is running', not a second run", async () => {
    const { ledger, calls } = setup();
    const other = await ledger.claim("daily_gate", "2026-11-23T03:39:59.000Z", "manual:bob", AT);
    if (!other.claimed) throw new Error("not claimed");
    // the check saw nothing running (the other replica's claim came just after it); the claim itself refuses
    const store = new MemoryBacklogStore();
    const registry = createRegistry([gateTool(calls, gate())]);
    const late = createRunNow({
      jobs: () => JOBS,
      ledger: { claim: ledger.claim.bind(ledger), finish: ledger.finish.bind(ledger), runningRuns: async () => [] },
      dispatch: (identity, call) => dispatch(registry, call, createToolContext({ store, paths: resolveToolPaths({}), agent: identity.agent, entitlements: identity.entitlements, log: silentLogger })),
      clock: () => new Date("2026-11-23T03:40:05.000Z"),
      log: silentLogger,
    });
    const err = await refusal(late.run({ job: "daily_gate", identity: ADMIN, actor: "admin" }));
    expect([err.status, err.message]).toEqual([409, expect.stringContaining(`daily_gate is running (run ${other.run.run_id}`)]);
    expect(calls).toEqual([]);
  });

  test("a stuck run does not block a run-now (that is what it is for)", async () => {
    const { ledger, runNow, setNow } = setup();
    const fire = await ledger.claim("daily_gate", AT.toISOString(), "in-process", AT);
    expect(fire.claimed).toBe(true);
    setNow(new Date(AT.getTime() + STUCK_AFTER_MS + 60_000));
    expect(await runNow.run({ job: "daily_gate", identity: ADMIN, actor: "admin" })).toMatchObject({ status: "success" });
  });

  test("a suspended job is a 409 unless even_if_suspended", async () => {
    const { runNow, calls } = setup();
    const err = await refusal(runNow.run({ job: "paused_gate", identity: ADMIN, actor: "admin" }));
    expect([err.status, err.message]).toEqual([409, expect.stringContaining("paused_gate is suspended in ops/task_registry.yml (INC-42)")]);
    expect(await runNow.run({ job: "paused_gate", identity: ADMIN, actor: "admin", evenIfSuspended: true })).toMatchObject({ status: "success" });
    expect(calls.map((c) => c.tag)).toEqual(["paused"]);
  });

  test("the same key twice (a double submit) starts one run; a refused request's key may be sent again", async () => {
    const { runNow, calls } = setup();
    const first = await runNow.run({ job: "daily_gate", identity: ADMIN, actor: "admin", key: "form-key-123456" });
    const err = await refusal(runNow.run({ job: "daily_gate", identity: ADMIN, actor: "admin", key: "form-key-123456" }));
    expect([err.status, (err.details as { run_id: string }).run_id]).toEqual([409, (first as { run_id: string }).run_id]);
    expect(calls).toHaveLength(1);
    // refused (suspended) before any claim: the same key works once it is allowed
    await refusal(runNow.run({ job: "paused_gate", identity: ADMIN, actor: "admin", key: "form-key-abcdef" }));
    expect(await runNow.run({ job: "paused_gate", identity: ADMIN, actor: "admin", key: "form-key-abcdef", evenIfSuspended: true })).toMatchObject({ status: "success" });
  });

  test("dry run: only where the job has one; nothing recorded", async () => {
    const { runNow, ledger, calls } = setup();
    expect(await runNow.run({ job: "daily_gate", identity: ADMIN, actor: "admin", dryRun: true })).toEqual({ job: "daily_gate", dry_run: true, actor: "admin", result: { ran: "daily", dry_run: true } });
    expect((await ledger.lastRuns()).size).toBe(0);
    const err = await refusal(runNow.run({ job: "paused_gate", identity: ADMIN, actor: "admin", dryRun: true }));
    expect([err.status, err.message]).toEqual([400, expect.stringContaining("dry_run: paused_gate")]);
    expect(calls).toEqual([{ tag: "daily", dry_run: true, agent: "admin" }]);
  });

  test("the job's own failure is its error, and the run is recorded as error", async () => {
    const { runNow, ledger } = setup();
    const err = await refusal(runNow.run({ job: "failing", identity: ADMIN, actor: "admin" }));
    expect([err.status, err.message]).toEqual([404, "No input found. Run the input job first."]);
    expect((await ledger.lastRuns()).get("failing")).toMatchObject({ status: "error", source: "manual:admin", error: expect.stringContaining("No input found") });
  });
});
