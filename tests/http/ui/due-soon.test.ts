/**
 * "Due soon" is one rule: the UI's overview, owner page and items filter count the same items as the API
 * dashboard (notify.warn_days, the horizon /metrics and the notifier use), and say the same number of days.
 */
import { expect, test } from "bun:test";
import { item } from "../../store/contract.ts";
import { login, READER, uiApp } from "./ui-app.ts";

test("the UI's due-soon count, list and label follow notify.warn_days, as the API dashboard does", async () => {
  const { app, store, policy } = await uiApp(); // today is 2026-11-23
  const warn = policy.notify.warn_days;
  expect(warn).toBeLessThan(5); // the item due in 5 days must be outside the window for this test to mean anything
  for (const [key, due] of [["soon", "2026-11-25"], ["later", "2026-11-28"], ["today", "2026-11-23"]] as const) {
    await store.upsert(item({ dedupe_key: key, title: `due ${key}`, due_date: due, owner: "team-x" }), { actor: "seed" });
  }
  const api = (await (await app.request("/v1/backlog/dashboard?env=prod", { headers: { authorization: `Bearer ${READER}` } })).json()) as {
    due_soon_count: number;
    due_soon: { title: string }[];
    warn_days: number;
  };
  expect(api.warn_days).toBe(warn);
  expect(api.due_soon.map((d) => d.title).sort()).toEqual(["due soon", "due today"]);

  const { session } = await login(app);
  const get = async (path: string) => (await app.request(path, { headers: { cookie: session! } })).text();
  const words = `due in the next ${warn} days`;

  const overview = await get("/ui?env=prod");
  expect(/data-testid="due-soon-count"><a [^>]*>(\d+)</.exec(overview)![1]).toBe(String(api.due_soon_count));
  expect(overview).toContain(`D${words.slice(1)}`);

  const list = await get("/ui/items?env=prod&due_soon=on&sort=due");
  expect(list).toContain(`Items 1–${api.due_soon_count} of ${api.due_soon_count}`);
  expect(list).not.toContain("due later");
  expect(list).toContain(words);

  const owner = await get("/ui/owners/team-x?env=prod");
  expect(owner).toContain(`D${words.slice(1)}`);
  expect(owner).toContain(`>${api.due_soon_count}</a>`);
});
