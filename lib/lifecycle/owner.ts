/**
 * Owner of a NEW generated item: ownership.overrides → the service catalog → ownership.default_owner.
 * The source goes into the item's meta (owner_source). Existing items keep their owner (runbook 7). Pure.
 */
import type { PolicyData } from "../generation/policy-schema.ts";

export type OwnerSource = "override" | "catalog" | "default";

export function resolveOwner(policy: Pick<PolicyData, "ownership">, catalog: ReadonlyMap<string, string>, service: string): { owner: string; source: OwnerSource } {
  const o = policy.ownership.overrides[service];
  if (o !== undefined) return { owner: o, source: "override" };
  const c = catalog.get(service);
  if (c !== undefined) return { owner: c, source: "catalog" };
  return { owner: policy.ownership.default_owner, source: "default" };
}
