/** The replay merge rule as plain data: which side wins each field, and that a second replay changes nothing. */
import { describe, expect, test } from "bun:test";
import { mergeReplayed, type EventMark } from "../../lib/store/auto-merge.ts";
import type { BacklogItem } from "../../lib/store/types.ts";

const pg: BacklogItem = {
  id: "bl_pg", env: "prod", service: "gateway", category: "security", title: "PG title", description: "PG desc",
  priority: "P1", status: "in_progress", owner: "team-edge", due_date: "2026-12-01", source: "weekly_digest",
  dedupe_key: "k", tags: ["auto"], meta: { a: 1 }, created_at: "2026-11-01T00:00:00.000Z", updated_at: "2026-11-10T00:00:00.000Z",
};
const pgEvents: EventMark[] = [
  { ts: "2026-11-01T00:00:00.000Z", type: "created", meta: {} },
  { ts: "2026-11-10T00:00:00.000Z", type: "status_changed", meta: { from: "open", to: "in_progress" } },
];
// The fallback did not know the key: it created its own copy during the outage.
const fallback: BacklogItem = {
  ...pg, id: "bl_jsonl", title: "outage title", description: "outage desc", status: "open", owner: "team-generator",
  priority: "P0", due_date: "2030-01-01", tags: [], meta: { b: 2 }, created_at: "2026-11-20T00:00:00.000Z", updated_at: "2026-11-20T00:00:00.000Z",
};
const created: EventMark = { ts: "2026-11-20T00:00:00.000Z", type: "created", meta: {} };

describe("mergeReplayed", () => {
  test("an outage re-upsert refreshes content; status, owner, priority, due date and empty tags do not override", () => {
    const m = mergeReplayed(pg, pgEvents, fallback, [created])!;
    expect(m).toMatchObject({
      id: "bl_pg", title: "outage title", description: "outage desc", status: "in_progress", owner: "team-edge",
      priority: "P1", due_date: "2026-12-01", tags: ["auto"], meta: { a: 1, b: 2 }, created_at: pg.created_at, updated_at: fallback.updated_at,
    });
  });

  test("status and owner changes made during the outage survive when later than Postgres' own", () => {
    const j = { ...fallback, status: "done" as const, owner: "team-night" };
    const evs: EventMark[] = [
      created,
      { ts: "2026-11-21T00:00:00.000Z", type: "status_changed", meta: { from: "open", to: "done" } },
      { ts: "2026-11-21T00:00:00.000Z", type: "owner_changed", meta: { from: "team-generator", to: "team-night" } },
    ];
    expect(mergeReplayed(pg, pgEvents, j, evs)).toMatchObject({ status: "done", owner: "team-night" });
    // Postgres changed status after the outage change (another process was still connected): Postgres wins.
    const later: EventMark[] = [...pgEvents, { ts: "2026-11-22T00:00:00.000Z", type: "status_changed", meta: {} }];
    expect(mergeReplayed(pg, later, j, evs)).toMatchObject({ status: "in_progress", owner: "team-night" });
  });

  test("a stale copy whose only new event is a status change does not roll content back", () => {
    const stale = { ...pg, title: "old title", status: "blocked" as const, updated_at: "2026-11-25T00:00:00.000Z" };
    const newer: EventMark[] = [...pgEvents, { ts: "2026-11-15T00:00:00.000Z", type: "updated", meta: { fields: ["title"] } }];
    const m = mergeReplayed(pg, newer, stale, [{ ts: "2026-11-25T00:00:00.000Z", type: "status_changed", meta: {} }])!;
    expect(m).toMatchObject({ title: "PG title", status: "blocked", updated_at: "2026-11-25T00:00:00.000Z" });
  });

  test("an updated event only takes the fields it names; meta keys from either side survive", () => {
    const j = { ...pg, title: "J title", meta: { a: 9, c: 3 }, updated_at: "2026-11-20T00:00:00.000Z" };
    const m = mergeReplayed(pg, pgEvents, j, [{ ts: "2026-11-20T00:00:00.000Z", type: "updated", meta: { fields: ["meta"] } }])!;
    expect(m).toMatchObject({ title: "PG title", meta: { a: 9, c: 3 } });
  });

  test("replaying again (events now in Postgres too) changes nothing", () => {
    const evs: EventMark[] = [created, { ts: "2026-11-21T00:00:00.000Z", type: "status_changed", meta: {} }];
    const j = { ...fallback, status: "done" as const };
    const once = mergeReplayed(pg, pgEvents, j, evs)!;
    expect(once.status).toBe("done");
    expect(mergeReplayed(once, [...pgEvents, ...evs], j, evs)).toBeNull();
  });
});
