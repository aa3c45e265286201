/** @jsxImportSource hono/jsx */
/**
 * One item: its fields, the digest snapshot that produced it (the `meta` the generator stored), its
 * lineage across periods (lineage-card.tsx), its event timeline, and — for agents entitled to write — forms to set the status, comment and change the
 * owner. Each form posts to /ui/items/:id/<action>, which calls the same tool dispatcher as the API.
 */
import { isOpen, isOverdue } from "../../store/item-state.ts";
import { todayUtc } from "../../store/dates.ts";
import { STATUSES, type BacklogEvent, type BacklogItem } from "../../store/types.ts";
import { itemHref, ownerHref } from "./items-table.tsx";
import { LineageCard, type LineageData } from "./lineage-card.tsx";
import { DueCell, Layout, Messages, PriorityBadge, render, type View } from "./layout.tsx";

export interface ItemPageData {
  item: BacklogItem;
  events: BacklogEvent[];
  errors?: string[];
  done?: string | null;
  /** Values of the form that failed, to show them again. */
  form?: Record<string, string>;
  lineage?: LineageData | null;
}

const show = (x: unknown) => (typeof x === "string" ? x : JSON.stringify(x));

export function renderItemPage(view: View, d: ItemPageData) {
  const { item } = d;
  const open = isOpen(item.status);
  const action = (a: string) => `${itemHref(item.id)}/${a}`;
  const meta = Object.entries(item.meta);
  return render(
    <Layout view={view} title={item.title} nav="item">
      <p><a href={`/ui/items?env=${encodeURIComponent(item.env)}`}>← Items in {item.env}</a></p>
      <h1>{item.title}</h1>
      <Messages errors={d.errors} done={d.done ?? null} />
      <div class="grid">
        <section class="card">
          <h2>Fields</h2>
          <dl class="fields" data-testid="fields">
            <dt>id</dt><dd><code>{item.id}</code></dd>
            <dt>status</dt><dd data-testid="item-status">{item.status.replace("_", " ")}</dd>
            <dt>priority</dt><dd><PriorityBadge priority={item.priority} open={open} /></dd>
            <dt>due</dt><dd><DueCell due={item.due_date} overdue={isOverdue(item, todayUtc(view.now))} /></dd>
            <dt>owner</dt><dd data-testid="item-owner">{item.owner ? <a href={ownerHref(item.owner, item.env)}>{item.owner}</a> : "nobody"}</dd>
            <dt>env</dt><dd>{item.env}</dd>
            <dt>service</dt><dd><a href={`/ui/items?env=${encodeURIComponent(item.env)}&service=${encodeURIComponent(item.service)}`}>{item.service}</a></dd>
            <dt>category</dt><dd>{item.category}</dd>
            <dt>source</dt><dd>{item.source}</dd>
            <dt>tags</dt><dd>{item.tags.length ? item.tags.join(", ") : "none"}</dd>
            <dt>created</dt><dd>{item.created_at}</dd>
            <dt>updated</dt><dd>{item.updated_at}</dd>
          </dl>
          {item.description ? <><h2 style="margin-top:12px">Description</h2><p>{item.description}</p></> : null}
        </section>
        <section class="card">
          <h2>Digest snapshot that produced it</h2>
          {meta.length === 0 ? (
            <p class="muted">No snapshot recorded (created by hand or by an integration).</p>
          ) : (
            <dl class="fields" data-testid="meta">
              {meta.map(([k, val]) => (
                <>
                  <dt>{k}</dt>
                  <dd>{typeof val === "object" && val !== null ? <pre>{JSON.stringify(val, null, 2)}</pre> : show(val)}</dd>
                </>
              ))}
            </dl>
          )}
          <p class="muted">dedupe key: <code>{item.dedupe_key}</code></p>
        </section>
      </div>
      {d.lineage ? <LineageCard data={d.lineage} current={item} today={todayUtc(view.now)} /> : null}
      {view.canWrite && view.csrf ? (
        <section class="card" aria-labelledby="act">
          <h2 id="act">Act</h2>
          <div class="actions">
            <form method="post" action={action("status")} data-testid="status-form">
              <input type="hidden" name="csrf" value={view.csrf} />
              <label for="a-status">New status</label>
              <select id="a-status" name="status">
                {STATUSES.map((s) => <option value={s} selected={(d.form?.status ?? item.status) === s}>{s.replace("_", " ")}</option>)}
              </select>
              <label for="a-status-msg">Why (optional)</label>
              <input id="a-status-msg" type="text" name="message" value={d.form?.message ?? ""} />
              <button type="submit">Set status</button>
            </form>
            <form method="post" action={action("comment")} data-testid="comment-form">
              <input type="hidden" name="csrf" value={view.csrf} />
              <label for="a-comment">Comment</label>
              <textarea id="a-comment" name="message">{d.form?.comment ?? ""}</textarea>
              <button type="submit">Add comment</button>
            </form>
            <form method="post" action={action("owner")} data-testid="owner-form">
              <input type="hidden" name="csrf" value={view.csrf} />
              <label for="a-owner">Owner (empty: nobody)</label>
              <input id="a-owner" type="text" name="owner" value={d.form?.owner ?? item.owner ?? ""} />
              <button type="submit">Change owner</button>
            </form>
          </div>
        </section>
      ) : (
        <p class="muted" data-testid="read-only">
          {view.identity.agent} may read only: setting the status, commenting and changing the owner need tools.backlog.write.
        </p>
      )}
      <section class="card">
        <h2>Timeline</h2>
        <ol class="timeline" data-testid="timeline" reversed>
          {[...d.events].reverse().map((e) => (
            <li data-type={e.type}>
              <div class="when">{e.ts.replace("T", " ").slice(0, 19)} UTC · {e.type.replace("_", " ")} · by {e.actor}</div>
              <div>{e.message}</div>
            </li>
          ))}
        </ol>
      </section>
    </Layout>,
  );
}
