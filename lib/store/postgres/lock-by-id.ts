/** An item row locked for update by its id or by an alias the auto store's fallback handed out. */
import type { Sql } from "../../pg/db.ts";
import { notFound } from "../logic.ts";
import type { BacklogItem } from "../types.ts";
import type { Tx } from "../../pg/db.ts";
import { rowToItem } from "./rows.ts";

/** `id`, or the Postgres item it is an alias of (migration 000005): one primary-key probe more. */
export function resolved(sql: Sql | Tx, id: string) {
  return sql`coalesce((select a.id from backlog_id_aliases a where a.alias = ${id}), ${id})`;
}

export async function lockById(tx: Tx, id: string): Promise<BacklogItem> {
  const [row] = await tx`select * from backlog_items where id = ${resolved(tx, id)} for update`;
  if (!row) throw notFound(id);
  return rowToItem(row);
}
