/**
 * Stress on the default backend `auto`: 6 clients write through two auto stores sharing one JSONL
 * directory (a server and a second process on the same host) while 4 racers claim the same
 * (job, minute)s, and Postgres is hard-stopped twice (pg_ctl stop -m immediate) and started again.
 * Afterwards every acknowledged write is in Postgres exactly once (items by key, last acknowledged
 * title and status, every acknowledged comment once, one `created` per item), and every (job, minute)
 * in scheduler_runs was granted to exactly one racer. Bounded: the clients stop themselves after the
 * second recovery.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { AppError } from "../../lib/core/errors.ts";
import { silentLogger } from "../../lib/core/log.ts";
import { openRunLedger } from "../../lib/scheduler/ledger-open.ts";
import { AutoBacklogStore } from "../../lib/store/auto/store.ts";
import { STATUSES } from "../../lib/store/types.ts";
import { autoHarness, pgConfig, waitFor } from "./auto-harness.ts";
import { item } from "./contract.ts";

setDefaultTimeout(180_000);
const { pause, resume, database, tempDir, cleanups } = autoHarness();

const CLIENTS = 6;
const RACERS = 4;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("auto backend under stress", () => {
  test("6 clients, Postgres hard-stopped twice: every acknowledged write in Postgres exactly once, no (job, minute) twice", async () => {
    const { dsn, sql } = await database();
    // The harness' cluster runs with synchronous_commit=off (speed); a hard stop would then drop
    // commits Postgres itself acknowledged. This test measures our promises, not that setting.
    await sql.unsafe(`alter database ${new URL(dsn).pathname.slice(1)} set synchronous_commit = on`);
    const dir = tempDir();
    const stores = await Promise.all([0, 1].map(() => AutoBacklogStore.open({ pg: pgConfig(dsn), dir, retrySeconds: 1, log: silentLogger })));
    cleanups.push(...stores.map((s) => () => s.close()));
    const ledgers = stores.map((s) => openRunLedger(s, silentLogger));

    let running = true;
    const acked = { writes: 0, refused: 0 };
    const items = new Map<string, { id: string; title: string; status: string }>(); // by dedupe_key
    /**
     * A write that failed mid-flight on Postgres and was then refused by the fallback (degraded) was
     * not acknowledged, but Postgres may have committed it: its value is allowed until the next ack.
     */
    const maybe = new Map<string, Set<string>>();
    const ack = (key: string, v: { id: string; title: string; status: string }) => {
      items.set(key, v);
      maybe.delete(key);
    };
    const comments = new Set<string>();

    async function client(k: number) {
      const store = stores[k % 2]!;
      const mine: string[] = [];
      let attempt = "";
      for (let n = 0; running; n++) {
        try {
          const choice = n % 4;
          attempt = "";
          if (choice === 0 || mine.length === 0) {
            const key = `c${k}-${mine.length}`;
            const r = await store.upsert(item({ dedupe_key: key, title: `t${k}-${n}` }), { actor: `c${k}` });
            ack(key, { id: r.item.id, title: r.item.title, status: r.item.status });
            mine.push(key);
          } else {
            const key = mine[n % mine.length]!;
            const known = items.get(key)!;
            if (choice === 1) {
              const r = await store.upsert(item({ dedupe_key: key, title: `t${k}-${n}` }), { actor: `c${k}` });
              // The fallback may answer with its own id for a key Postgres has: that id stays valid.
              ack(key, { id: r.item.id, title: r.item.title, status: known.status });
            } else if (choice === 2) {
              const status = STATUSES[n % STATUSES.length]!;
              attempt = `status:${status}`;
              await store.setStatus(known.id, status, { actor: `c${k}` });
              ack(key, { ...known, status });
            } else {
              comments.add((await store.addComment(known.id, `c${k} n${n}`, { actor: `c${k}` })).id);
            }
          }
          acked.writes++;
        } catch (err) {
          // Only "cannot be known now" may be refused (an id only Postgres has, during an outage).
          if (!(err instanceof AppError && err.code === "degraded")) throw err;
          acked.refused++;
          const key = mine[n % mine.length];
          if (attempt && key) maybe.set(key, (maybe.get(key) ?? new Set()).add(attempt));
        }
        await sleep(2);
      }
    }

    const claims = new Map<string, number>();
    async function racer(r: number) {
      const ledger = ledgers[r % 2]!;
      for (let m = 0; running; m++) {
        const minute = new Date(Date.UTC(2026, 10, 23, 0, m)).toISOString();
        const got = await ledger.claim("stress_job", minute, `racer${r}`, new Date());
        if (got.claimed) {
          claims.set(minute, (claims.get(minute) ?? 0) + 1);
          await ledger.finish(got.run.run_id, { status: "success" }, new Date());
        }
        await sleep(5);
      }
    }

    // Which worker failed, and when: an unexpected error out of a stress run is otherwise a bare driver stack.
    const named = (who: string, p: Promise<void>) =>
      p.catch((err) => {
        running = false;
        throw new Error(`${who} failed at ${new Date().toISOString()}: ${err instanceof Error ? err.stack : String(err)}`, { cause: err });
      });
    const work = [...Array.from({ length: CLIENTS }, (_, k) => named(`client ${k}`, client(k))), ...Array.from({ length: RACERS }, (_, r) => named(`racer ${r}`, racer(r)))];
    // Each phase lasts `ms` and at least `writes` acknowledged writes: a slow machine gets as many writes
    // before, during and after each outage as a fast one gets in the time (never fewer than the check below).
    const phase = async (ms: number, writes: number) => {
      const target = acked.writes + writes;
      await sleep(ms);
      await waitFor(`${writes} acknowledged writes in this phase`, () => acked.writes >= target || !running, 60_000);
    };
    const outages = (async () => {
      try {
        for (let round = 0; round < 2; round++) {
          await phase(1500, 25);
          await pause(); // pg_ctl stop -m immediate
          await phase(2000, 25);
          resume();
          await waitFor("both stores back on Postgres", async () => (await Promise.all(stores.map((s) => s.recover()))).every(Boolean), 60_000);
        }
        await phase(1000, 25);
      } finally {
        running = false;
      }
    })();
    // Every worker stops before the test ends (and its directory is removed), even when one failed.
    const failed = (await Promise.allSettled([outages, ...work])).find((r) => r.status === "rejected");
    if (failed) throw failed.reason;
    for (const s of stores) expect(await s.recover()).toBe(true);

    // Every acknowledged item once, with its last acknowledged title and status, reachable by its id.
    const rows = await sql<{ id: string; dedupe_key: string; title: string; status: string; created: number }[]>`
      select i.id, i.dedupe_key, i.title, i.status,
             (select count(*)::int from backlog_events e where e.item_id = i.id and e.type = 'created') as created
        from backlog_items i`;
    const byKey = new Map(rows.map((r) => [r.dedupe_key, r]));
    let lost = 0;
    let ambiguous = 0;
    for (const [key, want] of items) {
      const got = byKey.get(key);
      const statusOk = got && (got.status === want.status || maybe.get(key)?.has(`status:${got.status}`));
      if (got && got.status !== want.status && statusOk) ambiguous++;
      if (!got || got.title !== want.title || !statusOk) {
        lost++;
        console.log("not in Postgres as acknowledged:", key, JSON.stringify(want), JSON.stringify(got ?? null), [...(maybe.get(key) ?? [])]);
      } else expect((await stores[0]!.get(want.id))?.id).toBe(got.id);
    }
    const duplicated = rows.filter((r) => r.created !== 1).length;
    const [ev] = await sql<{ found: number; dup: number }[]>`
      select count(*)::int as found, (count(*) - count(distinct id))::int as dup
        from backlog_events where type = 'commented' and id = any(${[...comments]}::text[])`;
    const doubleClaims = [...claims.values()].filter((n) => n > 1).length;
    const [runs] = await sql<{ n: number }[]>`select count(*)::int as n from scheduler_runs where job = 'stress_job'`;
    // Every granted claim is recorded, and every recorded minute was granted to exactly one racer: a claim
    // whose Postgres row another process' replay wrote first (or whose answer was lost) is still its own.
    const recorded = new Set((await sql<{ m: string }[]>`select to_char(scheduled_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as m from scheduler_runs where job = 'stress_job'`).map((r) => r.m));
    const grantedMissing = [...claims.keys()].filter((m) => !recorded.has(m)).length;
    const summary = {
      acknowledged_writes: acked.writes,
      refused_degraded: acked.refused,
      items: items.size,
      comments: comments.size,
      lost,
      ambiguous_unacknowledged_applied: ambiguous,
      duplicated_items: duplicated,
      comments_missing: comments.size - ev!.found,
      claimed_minutes: claims.size,
      double_claims: doubleClaims,
      granted_claims_missing: grantedMissing,
      recorded_not_granted: recorded.size - (claims.size - grantedMissing),
      runs_in_postgres: runs!.n,
    };
    console.log("auto stress:", JSON.stringify(summary));
    expect(acked.writes).toBeGreaterThan(100);
    expect(summary).toMatchObject({ lost: 0, duplicated_items: 0, comments_missing: 0, double_claims: 0, granted_claims_missing: 0, recorded_not_granted: 0 });
    expect(ev!.dup).toBe(0);
  });
});
