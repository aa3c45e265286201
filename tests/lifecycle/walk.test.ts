/**
 * One lineage through 8 weekly digests (present, present, absent, absent, absent, present, present,
 * absent) in each lifecycle mode, on all four backends, through backlog_tool.auto_generate_weekly.
 * Every week runs twice: the second run must change nothing (idempotence).
 *   A gateway/security  the walked lineage
 *   B billing/refactor  present twice; a person comments on its W41 item → signal_gone, never closed
 *   C ledger/refactor   present every week (streak grows)
 */
import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../../lib/core/log.ts";
import { parsePolicyText, type Policy } from "../../lib/generation/policy.ts";
import type { BacklogEvent, BacklogItem, BacklogStore } from "../../lib/store/types.ts";
import { createToolContext, loadToolRegistry, dispatch } from "../../lib/tools/index.ts";
import { BACKENDS, type Opened } from "./backends.ts";

const WEEKS = ["2026-W40", "2026-W41", "2026-W42", "2026-W43", "2026-W44", "2026-W45", "2026-W46", "2026-W47"];
const MONDAYS = ["2026-09-28", "2026-10-05", "2026-10-12", "2026-10-19", "2026-10-26", "2026-11-02", "2026-11-09", "2026-11-16"];
const A_PRESENT = [true, true, false, false, false, true, true, false];
const B_PRESENT = [true, true, false, false, false, false, false, false];

function digest(i: number) {
  const svc = (service: string, category: string) => ({
    service, pressure_score: 70, band: "high", signals: { churn_30d: 100 + i }, recommended_categories: [category], reasons: [`week ${i}`],
  });
  return {
    week: WEEKS[i], env: "prod", generated_at: `${MONDAYS[i]}T06:00:00Z`,
    services: [svc("ledger", "refactor"), ...(A_PRESENT[i] ? [svc("gateway", "security")] : []), ...(B_PRESENT[i] ? [svc("billing", "refactor")] : [])],
  };
}

const policy = (mode: string, reopen: number) =>
  parsePolicyText(`lifecycle:\n  mode: ${mode}\n  auto_resolve_after: 2\n  reopen_within_days: ${reopen}\n`, "walk.yml");

/** Per week, per lineage: the items in creation order as `status/streak`. */
type Table = Record<"A" | "B" | "C", string[]>[];

const C_WEEKLY = (w: number) => Array.from({ length: w + 1 }, (_, i) => `open/${i + 1}`);

const SCENARIOS: { name: string; policy: Policy; table: Table; events: Record<"A" | "B", string[][]> }[] = [
  {
    name: "weekly, reopen within 14 days",
    policy: policy("weekly", 14),
    table: [
      { A: ["open/1"], B: ["open/1"], C: C_WEEKLY(0) },
      { A: ["open/1", "open/2"], B: ["open/1", "open/2"], C: C_WEEKLY(1) },
      { A: ["open/1", "open/2"], B: ["open/1", "open/2"], C: C_WEEKLY(2) },
      { A: ["done/1", "done/2"], B: ["done/1", "open/2"], C: C_WEEKLY(3) },
      { A: ["done/1", "done/2"], B: ["done/1", "open/2"], C: C_WEEKLY(4) },
      { A: ["done/1", "open/1"], B: ["done/1", "open/2"], C: C_WEEKLY(5) },
      { A: ["done/1", "open/1", "open/2"], B: ["done/1", "open/2"], C: C_WEEKLY(6) },
      { A: ["done/1", "open/1", "open/2"], B: ["done/1", "open/2"], C: C_WEEKLY(7) },
    ],
    events: {
      A: [["created", "recurred", "auto_resolved"], ["created", "auto_resolved", "reopened", "updated", "recurred"], ["created"]],
      B: [["created", "recurred", "auto_resolved"], ["created", "commented", "signal_gone"]],
    },
  },
  {
    name: "rolling, reopen within 14 days",
    policy: policy("rolling", 14),
    table: [
      { A: ["open/1"], B: ["open/1"], C: ["open/1"] },
      { A: ["open/2"], B: ["open/2"], C: ["open/2"] },
      { A: ["open/2"], B: ["open/2"], C: ["open/3"] },
      { A: ["done/2"], B: ["open/2"], C: ["open/4"] },
      { A: ["done/2"], B: ["open/2"], C: ["open/5"] },
      { A: ["open/1"], B: ["open/2"], C: ["open/6"] },
      { A: ["open/2"], B: ["open/2"], C: ["open/7"] },
      { A: ["open/2"], B: ["open/2"], C: ["open/8"] },
    ],
    events: {
      A: [["created", "updated", "auto_resolved", "reopened", "updated", "updated"]],
      B: [["created", "updated", "commented", "signal_gone"]],
    },
  },
  {
    name: "rolling, reopen within 7 days (the return comes later: a new item linked to the old)",
    policy: policy("rolling", 7),
    table: [
      { A: ["open/1"], B: ["open/1"], C: ["open/1"] },
      { A: ["open/2"], B: ["open/2"], C: ["open/2"] },
      { A: ["open/2"], B: ["open/2"], C: ["open/3"] },
      { A: ["done/2"], B: ["open/2"], C: ["open/4"] },
      { A: ["done/2"], B: ["open/2"], C: ["open/5"] },
      { A: ["done/2", "open/1"], B: ["open/2"], C: ["open/6"] },
      { A: ["done/2", "open/2"], B: ["open/2"], C: ["open/7"] },
      { A: ["done/2", "open/2"], B: ["open/2"], C: ["open/8"] },
    ],
    events: {
      A: [["created", "updated", "auto_resolved", "recurred"], ["created", "updated"]],
      B: [["created", "updated", "commented", "signal_gone"]],
    },
  },
];

const LINEAGES = { A: "platform_backlog:prod:gateway:security", B: "platform_backlog:prod:billing:refactor", C: "platform_backlog:prod:ledger:refactor" } as const;

async function byLineage(store: BacklogStore) {
  const { items } = await store.list({ limit: 1000 });
  const sorted = items.sort((a, b) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : a.id < b.id ? -1 : 1));
  const of = (k: keyof typeof LINEAGES) => sorted.filter((i) => i.meta.lineage_key === LINEAGES[k]);
  return { A: of("A"), B: of("B"), C: of("C"), all: sorted };
}
const shape = (items: BacklogItem[]) => items.map((i) => `${i.status}/${i.meta.streak}`);
const types = (evs: BacklogEvent[]): string[] => evs.map((e) => e.type);

let opened: Opened | null = null;
let reports: string | null = null;
afterEach(async () => {
  await opened?.dispose();
  if (reports) rmSync(reports, { recursive: true, force: true });
  opened = reports = null;
});

for (const [backend, open] of Object.entries(BACKENDS)) {
  describe(`lifecycle walk on ${backend}`, () => {
    for (const s of SCENARIOS) {
      test(s.name, async () => {
        let now = new Date(`${MONDAYS[0]}T06:20:00Z`);
        opened = await open(() => now);
        const store = opened.store;
        reports = mkdtempSync(join(tmpdir(), "bb-walk-"));
        mkdirSync(join(reports, "platform/prod"), { recursive: true });
        const ctx = () =>
          createToolContext({
            store, agent: "scheduler", entitlements: ["tools.backlog.admin", "tools.backlog.write"], now: () => now, log: silentLogger,
            paths: { root: reports!, reportsDir: reports!, policyFile: "walk.yml" },
          });
        const tools = await loadToolRegistry({ policy: s.policy });
        const generate = (week: string) => dispatch(tools, { tool: "backlog_tool", action: "auto_generate_weekly", params: { env: "prod", week } }, ctx()) as Promise<any>;
        const snapshot = async () => {
          const { all } = await byLineage(store);
          return { all, events: await Promise.all(all.map((i) => store.events(i.id))) };
        };

        for (let w = 0; w < WEEKS.length; w++) {
          now = new Date(`${MONDAYS[w]}T06:20:00Z`);
          writeFileSync(join(reports, `platform/prod/${WEEKS[w]}.json`), JSON.stringify(digest(w)));
          await generate(WEEKS[w]!);
          if (w === 1) {
            // A person comments on B's newest item: it must never be closed automatically.
            const b = (await byLineage(store)).B.at(-1)!;
            now = new Date(now.getTime() + 60_000);
            await store.addComment(b.id, "looking into it", { actor: "alice" });
          }
          const got = await byLineage(store);
          expect({ week: WEEKS[w], A: shape(got.A), B: shape(got.B), C: shape(got.C) }).toEqual({ week: WEEKS[w], ...s.table[w]! });

          // Same digest again, a little later: nothing changes.
          const before = await snapshot();
          now = new Date(now.getTime() + 3_600_000);
          const again = await generate(WEEKS[w]!);
          expect({ created: again.created, updated: again.updated, lifecycle: again.lifecycle }).toEqual({ created: 0, updated: 0, lifecycle: [] });
          expect(await snapshot()).toEqual(before);
        }

        const end = await byLineage(store);
        for (const k of ["A", "B"] as const) {
          const evs = await Promise.all(end[k].map((i) => store.events(i.id)));
          expect({ [k]: evs.map(types) }).toEqual({ [k]: s.events[k] });
          for (const e of evs.flat()) expect(e.actor).toBe(e.type === "commented" ? "alice" : "scheduler");
        }
        // Links: each item points at its neighbours in the lineage.
        for (const k of ["A", "C"] as const) {
          end[k].forEach((it, i) => {
            expect(it.meta.prev_id ?? null).toBe(i === 0 ? null : end[k][i - 1]!.id);
            expect(it.meta.next_id ?? null).toBe(i === end[k].length - 1 ? null : end[k][i + 1]!.id);
          });
        }
        const evsA = (await Promise.all(end.A.map((i) => store.events(i.id)))).flat();
        const resolved = evsA.find((e) => e.type === "auto_resolved")!;
        expect(resolved.message).toContain("absent from 2 consecutive digests (2026-W42, 2026-W43) since 2026-W41");
        if (s.policy.lifecycle.reopen_within_days >= 14) {
          // Reopened on 2026-11-02 (W45): due date recomputed from that day (security: 7 days).
          const reopened = end.A.find((i) => evsA.some((e) => e.type === "reopened" && e.item_id === i.id))!;
          expect(reopened.due_date).toBe("2026-11-09");
          expect(reopened.meta.periods).toEqual(s.policy.lifecycle.mode === "rolling" ? ["2026-W40", "2026-W41", "2026-W45", "2026-W46"] : ["2026-W41", "2026-W45"]);
        }
        if (s.policy.lifecycle.mode === "rolling") expect(end.C[0]!.meta.periods).toEqual(WEEKS);
        const signal = (await Promise.all(end.B.map((i) => store.events(i.id)))).flat().filter((e) => e.type === "signal_gone");
        expect(signal).toHaveLength(1);
        expect(signal[0]!.message).toContain("left open because a person changed it");
      }, 120_000);
    }
  });
}
