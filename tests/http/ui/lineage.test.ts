/**
 * The item page shows the item's lineage: the same recommendation (env × service × category) across
 * weeks, newest first, this item marked, links to the items before and after it, and the streak; an item
 * made by hand with no other item of its service and category shows none.
 */
import { expect, test } from "bun:test";
import { item } from "../../store/contract.ts";
import { login, uiApp } from "./ui-app.ts";

test("an item page lists its lineage across weeks with the streak, and links to the items before and after it", async () => {
  const { app, store, id: lone } = await uiApp(); // the seeded item (gateway): no lineage_key, alone in its service and category
  const key = "platform_backlog:prod:edge:security";
  const base = { env: "prod", service: "edge", category: "security" };
  const mk = async (week: string, over: Parameters<typeof item>[0] = {}) =>
    (await store.upsert(item({ ...base, dedupe_key: `platform_backlog:${week}:prod:edge:security`, title: `Edge security ${week}`, ...over }), { actor: "gen" })).item;
  const w45 = await mk("2026-W45", { meta: { lineage_key: key, week: "2026-W45", last_period: "2026-W45", streak: 1 } });
  const w46 = await mk("2026-W46", { meta: { lineage_key: key, week: "2026-W46", last_period: "2026-W46", streak: 2, prev_id: w45.id } });
  const w47 = await mk("2026-W47", { priority: "P0", meta: { lineage_key: key, week: "2026-W47", last_period: "2026-W47", streak: 3, prev_id: w46.id } });
  await store.transition(w45.id, { type: "recurred", message: "recommended again in 2026-W46", set: { meta: { next_id: w46.id } } }, { actor: "gen" });
  await store.setStatus(w45.id, "done", { actor: "t" });
  await store.upsert(item({ ...base, category: "reliability", dedupe_key: "other", title: "Edge reliability" }), { actor: "gen" });

  const { session } = await login(app);
  const html = async (id: string) => (await app.request(`/ui/items/${id}`, { headers: { cookie: session! } })).text();

  const page = await html(w47.id);
  expect(page).toContain('data-testid="lineage"');
  expect(page).toContain("edge / security in prod: recommended 3 weeks running, last 2026-W47; 2 of 3 items unfinished, most urgent P0.");
  const rows = [...page.matchAll(/<tr data-id="([^"]+)">/g)].map((m) => m[1]);
  expect(rows).toEqual([w47.id, w46.id, w45.id]);
  expect(page).toContain("Edge security 2026-W47 (this item)");
  expect(page).toContain(`<a href="/ui/items/${w46.id}">← the item before this one</a>`);
  expect(page).not.toContain("Edge reliability");

  expect(await html(w45.id)).toContain(`<a href="/ui/items/${w46.id}">the item after this one →</a>`);
  expect(await html(lone)).not.toContain('data-testid="lineage"');
});
