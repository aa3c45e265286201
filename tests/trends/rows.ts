/** A trend row with typical numbers, for the trends tests. */
import type { TrendRow } from "../../lib/trends/types.ts";

export const row = (env: string, day: string, over: Partial<TrendRow> = {}): TrendRow => ({
  env,
  day,
  total: 10,
  open: 6,
  overdue: 2,
  p0_open: 1,
  p1_open: 2,
  created: 3,
  closed: 1,
  recorded_at: `${day}T23:55:00.000Z`,
  ...over,
});
