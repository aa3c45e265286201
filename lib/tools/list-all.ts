/** Every item matching a filter, paged through store.list (1000 a page, the list limit). */
import type { BacklogItem, BacklogStore, ListFilter } from "../store/types.ts";

export async function listAll(store: BacklogStore, filter: Omit<ListFilter, "limit" | "offset">, now: Date): Promise<BacklogItem[]> {
  const out: BacklogItem[] = [];
  for (let offset = 0; ; offset += 1000) {
    const page = await store.list({ ...filter, limit: 1000, offset }, now);
    out.push(...page.items);
    if (page.items.length < 1000 || offset + 1000 >= page.total) return out;
  }
}
