/** The /ui pages: overview, items list, one item, an owner's page, trends. */
import type { Hono } from "hono";
import { AppError } from "../../core/errors.ts";
import { dispatch } from "../../tools/dispatch.ts";
import type { AppDeps } from "../app.ts";
import * as F from "./forms.ts";
import { renderItemPage } from "./item-page.tsx";
import { renderItemsPage } from "./items-page.tsx";
import { loadLineage } from "./lineage-card.tsx";
import { renderOverviewPage } from "./overview-page.tsx";
import { renderOwnerPage } from "./owner-page.tsx";
import { renderTrendsPage, type TrendsData } from "./trends-page.tsx";
import type { UiDeps } from "./routes.ts";
import type { C, UiEnv, UiKit, Who } from "./ui-kit.ts";

const DONE: Record<string, string> = { status: "Status changed.", comment: "Comment added.", owner: "Owner changed." };
/** The notice after an action's redirect; own keys only (?done=constructor is no notice, not an empty box). */
const doneNotice = (done: string | undefined) => (done !== undefined && Object.hasOwn(DONE, done) ? DONE[done]! : null);

/** The item page, also re-rendered by an action with its errors and the form as sent. */
export const itemView = async (kit: UiKit, c: C, w: Who, id: string, extra: { errors?: string[]; done?: string | null; form?: Record<string, string> }, status = 200) => {
  const { call, page, viewFor } = kit;
  const { item, events } = await call(w, "get", { id });
  const lineage = await loadLineage((p) => call(w, "list", p), item);
  return page(c, renderItemPage(viewFor(w, item.env), { item, events, lineage, ...extra }), status);
};

export function mountPages(app: Hono<UiEnv>, deps: AppDeps, ui: UiDeps, kit: UiKit): void {
  const { guarded, envOf, call, page, viewFor, query } = kit;

  app.get(
    "/ui",
    guarded(async (c, w) => {
      const env = envOf(c);
      const dashboard = await call(w, "dashboard", { env });
      const dueSoon = await call(w, "list", { env, due_within_days: ui.warnDays, sort: "due", limit: 10 });
      return page(c, renderOverviewPage(viewFor(w, env), { dashboard: { ...dashboard, alerts: dashboard.alerts ?? deps.alerts(dashboard) }, dueSoon }));
    }),
  );

  app.get(
    "/ui/items",
    guarded(async (c, w) => {
      const parsed = F.parseListQuery(ui.envs, query(c));
      if (!parsed.value) {
        const fallback = F.parseListQuery(ui.envs, { env: ui.envs.includes(c.req.query("env") ?? "") ? c.req.query("env")! : ui.envs[0]! }).value!;
        return page(c, renderItemsPage(viewFor(w, fallback.env), fallback, null, parsed.errors), 400);
      }
      const result = await call(w, "list", F.toFilter(parsed.value, ui.warnDays) as Record<string, unknown>);
      return page(c, renderItemsPage(viewFor(w, parsed.value.env), parsed.value, result));
    }),
  );

  app.get(
    "/ui/items/:id",
    guarded(async (c, w) => itemView(kit, c, w, c.req.param("id") ?? "", { done: doneNotice(c.req.query("done")) })),
  );

  app.get(
    "/ui/owners/:owner",
    guarded(async (c, w) => {
      const env = envOf(c);
      const owner = c.req.param("owner") ?? "";
      if (owner.length > 200) throw new AppError("invalid_input", "owner: must be at most 200 characters.");
      const base = { env, owner, status: ["open", "in_progress", "blocked"] };
      const open = await call(w, "list", { ...base, sort: "priority", limit: F.PAGE_SIZE });
      const overdue = (await call(w, "list", { env, owner, overdue: true, limit: 1 })).total;
      const dueSoon = (await call(w, "list", { env, owner, due_within_days: ui.warnDays, limit: 1 })).total;
      return page(c, renderOwnerPage(viewFor(w, env), { owner, open, overdue, dueSoon }));
    }),
  );

  app.get(
    "/ui/trends",
    guarded(async (c, w) => {
      const env = envOf(c);
      const data: TrendsData = await dispatch(deps.registry, { tool: "trends_tool", action: "history", params: { env, weeks: 12 } }, deps.toolContext(w.identity));
      return page(c, renderTrendsPage(viewFor(w, env), data));
    }),
  );
}
