/** The item page's forms: the same backlog_tool actions (and events) as POST /v1/tools/execute. */
import type { Hono } from "hono";
import { AppError } from "../../core/errors.ts";
import * as F from "./forms.ts";
import { itemHref } from "./items-table.tsx";
import { itemView } from "./page-routes.ts";
import * as S from "./session.ts";
import type { UiEnv, UiKit, Who } from "./ui-kit.ts";

/** Registers POST /ui/items/:id/<action> for each action; returns the action names (routes.ts adds their 405s). */
export function mountItemActions(app: Hono<UiEnv>, kit: UiKit): string[] {
  const { config, call, guarded, toLogin, readForm, sameOrigin, formLimit } = kit;

  const ACTIONS = {
    status: { schema: F.StatusFormSchema, run: (w: Who, id: string, v: { status: string; message: string }) => call(w, "set_status", { id, status: v.status, ...(v.message ? { message: v.message } : {}) }) },
    comment: { schema: F.CommentFormSchema, run: (w: Who, id: string, v: { message: string }) => call(w, "add_comment", { id, message: v.message }) },
    owner: {
      schema: F.OwnerFormSchema,
      // upsert is the tool's one way to change an owner: same key and fields, only the owner differs.
      run: async (w: Who, id: string, v: { owner: string | null }) => {
        const { item } = await call(w, "get", { id });
        return call(w, "upsert", { env: item.env, service: item.service, category: item.category, title: item.title, dedupe_key: item.dedupe_key, owner: v.owner });
      },
    },
  } as const;

  for (const [name, def] of Object.entries(ACTIONS)) {
    app.post(
      `/ui/items/:id/${name}`,
      formLimit,
      guarded(async (c, w) => {
        const id = c.req.param("id") ?? "";
        // Back to the item page after signing in (the form's own URL only takes posts).
        if (!w.binding) return w.identity.authenticated ? Promise.reject(new AppError("forbidden", "Actions need a browser session: sign in at /ui/login.")) : toLogin(c, itemHref(id));
        const form = await readForm(c);
        if (!sameOrigin(c) || !S.checkCsrf(config.secret, w.binding, form.csrf)) {
          throw new AppError("forbidden", "This form did not come from a page of this site (missing or wrong CSRF token); reload the item page and try again.");
        }
        const shown = { status: String(form.status ?? ""), message: String(form.message ?? ""), comment: String(form.message ?? ""), owner: String(form.owner ?? "") };
        const parsed = F.parseForm(def.schema as never, form) as F.Parsed<never>;
        if (!parsed.value) return itemView(kit, c, w, id, { errors: parsed.errors, form: shown }, 400);
        try {
          await (def.run as (w: Who, id: string, v: unknown) => Promise<unknown>)(w, id, parsed.value);
        } catch (err) {
          if (err instanceof AppError && err.code === "invalid_input") return itemView(kit, c, w, id, { errors: [err.message], form: shown }, 400);
          throw err;
        }
        return c.redirect(`${itemHref(id)}?done=${name}`, 303);
      }, (c) => itemHref(c.req.param("id") ?? "")),
    );
  }

  return Object.keys(ACTIONS);
}
