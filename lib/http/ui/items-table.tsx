/** @jsxImportSource hono/jsx */
/** The item rows shared by the items list, the owner pages and the overview's due-soon list. */
import { isOpen, isOverdue } from "../../store/item-state.ts";
import type { BacklogItem } from "../../store/types.ts";
import { DueCell, PriorityBadge } from "./layout.tsx";

export const itemHref = (id: string) => `/ui/items/${encodeURIComponent(id)}`;
export const ownerHref = (owner: string, env: string) => `/ui/owners/${encodeURIComponent(owner)}?env=${encodeURIComponent(env)}`;

export function ItemsTable({ items, today, caption }: { items: BacklogItem[]; today: string; caption: string }) {
  return (
    <table data-testid="items">
      <caption class="muted" style="text-align:left">{caption}</caption>
      <thead>
        <tr>
          <th scope="col">priority</th>
          <th scope="col">title</th>
          <th scope="col">service</th>
          <th scope="col">category</th>
          <th scope="col">status</th>
          <th scope="col">owner</th>
          <th scope="col">due</th>
          <th scope="col">updated</th>
        </tr>
      </thead>
      <tbody>
        {items.map((it) => {
          const open = isOpen(it.status);
          return (
            <tr data-id={it.id} class={it.priority === "P0" && open ? "p0-open" : undefined}>
              <td><PriorityBadge priority={it.priority} open={open} /></td>
              <td><a href={itemHref(it.id)}>{it.title}</a></td>
              <td>{it.service}</td>
              <td>{it.category}</td>
              <td>{it.status.replace("_", " ")}</td>
              <td>{it.owner ? <a href={ownerHref(it.owner, it.env)}>{it.owner}</a> : <span class="muted">nobody</span>}</td>
              <td><DueCell due={it.due_date} overdue={isOverdue(it, today)} /></td>
              <td>{it.updated_at.slice(0, 10)}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
