/**
 * One notifier run (notify_tool.dispatch): per configured webhook, plan the notices (plan.ts), and per
 * owner claim them in the sent state, post ONE message with the notices this run won, then record them
 * sent — or release them when delivery failed, so the next run tries again. Two runs at once (two
 * replicas, a manual run during the scheduled one) split the notices between them by the claim: no
 * notice is sent twice, and each run sends at most one message per owner and webhook.
 */
import { randomUUID } from "node:crypto";
import { attentionSource } from "../alerting/source.ts";
import { AppError } from "../core/errors.ts";
import type { Logger } from "../core/log.ts";
import type { PolicyData } from "../generation/policy-schema.ts";
import type { BacklogStore } from "../store/types.ts";
import { WebhookSender, type SenderDeps } from "./deliver.ts";
import { messageFor } from "./payload.ts";
import { planNotices, toRecord } from "./plan.ts";
import type { WebhookPolicy } from "./policy-schema.ts";
import { CLAIM_LEASE_MS, type NotifyStateStore } from "./state.ts";

export { CLAIM_LEASE_MS } from "./state.ts";

export interface NotifyDeps extends SenderDeps {
  store: BacklogStore;
  state: NotifyStateStore;
  policy: Pick<PolicyData, "notify" | "ownership" | "envs">;
  /** Where webhook URLs are read (the variables named by url_env). */
  env: Record<string, string | undefined>;
  now: () => Date;
  log: Logger;
  leaseMs?: number;
}

export interface WebhookReport {
  webhook: string;
  format: string;
  /** Messages delivered (one per owner at most). */
  messages: number;
  owners: { owner: string; notices: number; overdue: number; due_soon: number; resolved: number; attempts?: number }[];
  /** Owners whose notices another run had already claimed or sent. */
  already_sent: number;
  failures: { owner: string; notices: number; error: string }[];
}

export interface NotifyResult {
  dry_run: boolean;
  run_id: string;
  items: number;
  webhooks: WebhookReport[];
}

/** The webhook's URL from its variable; errors name the variable, never a value. */
export function webhookUrl(hook: WebhookPolicy, env: Record<string, string | undefined>): string {
  const raw = env[hook.url_env];
  if (!raw) {
    throw new AppError("config", `notify.webhooks ${hook.name}: the environment variable ${hook.url_env} is not set; it must hold the webhook URL (a secret: set it in the service's environment, never in the policy).`);
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AppError("config", `notify.webhooks ${hook.name}: ${hook.url_env} does not hold a URL (expected https://…; the value is not shown, it is a secret).`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new AppError("config", `notify.webhooks ${hook.name}: ${hook.url_env} must be an http(s) URL, got a ${url.protocol} URL.`);
  }
  return url.toString();
}

const count = (ns: { kind: string }[], k: string) => ns.filter((n) => n.kind === k).length;

export async function runNotify(deps: NotifyDeps, options: { dry_run?: boolean; webhook?: string } = {}): Promise<NotifyResult> {
  const np = deps.policy.notify;
  const hooks = np.webhooks.filter((h) => options.webhook === undefined || h.name === options.webhook);
  if (options.webhook !== undefined && hooks.length === 0) {
    throw new AppError("invalid_input", `webhook: no webhook named ${JSON.stringify(options.webhook)} in the policy's notify.webhooks (known: ${np.webhooks.map((h) => h.name).join(", ") || "none"}).`);
  }
  const urls = hooks.map((h) => webhookUrl(h, deps.env)); // every URL checked before anything is sent
  const now = deps.now();
  const runId = `notify_${randomUUID()}`;
  const envs = new Set(deps.policy.envs);
  const items = (await attentionSource(deps.store).attentionItems(now, np.warn_days)).filter((it) => envs.has(it.env));
  const result: NotifyResult = { dry_run: Boolean(options.dry_run), run_id: runId, items: items.length, webhooks: [] };

  for (const [i, hook] of hooks.entries()) {
    const report: WebhookReport = { webhook: hook.name, format: hook.format, messages: 0, owners: [], already_sent: 0, failures: [] };
    result.webhooks.push(report);
    const firing = await deps.state.firing(hook.name);
    const plan = planNotices(hook.name, items, firing, now, np, deps.policy.ownership.default_owner);
    const sender = new WebhookSender(hook, urls[i]!, deps);
    for (const { owner, notices } of plan) {
      const summary = { owner, notices: notices.length, overdue: count(notices, "overdue"), due_soon: count(notices, "warn"), resolved: count(notices, "resolved") };
      if (options.dry_run) {
        report.owners.push(summary);
        continue;
      }
      const won = new Set(await deps.state.claim(notices.map((n) => toRecord(hook.name, n, runId, now)), now, deps.leaseMs ?? CLAIM_LEASE_MS));
      const mine = notices.filter((n) => won.has(n.key));
      if (mine.length === 0) {
        report.already_sent++;
        continue;
      }
      const keys = mine.map((n) => n.key);
      const delivery = await sender.send(messageFor(hook.format, hook.name, owner, mine, now));
      if (delivery.ok) {
        await deps.state.complete(keys, runId, deps.now());
        report.messages++;
        report.owners.push({ owner, notices: mine.length, overdue: count(mine, "overdue"), due_soon: count(mine, "warn"), resolved: count(mine, "resolved"), attempts: delivery.attempts });
        deps.log.info("notify: message sent", { webhook: hook.name, owner, notices: mine.length, attempts: delivery.attempts });
      } else {
        await deps.state.release(keys, runId);
        report.failures.push({ owner, notices: mine.length, error: delivery.error });
        deps.log.warn("notify: message not delivered; the next run retries", { webhook: hook.name, owner, notices: mine.length, attempts: delivery.attempts, error: delivery.error });
      }
    }
  }
  const failed = result.webhooks.flatMap((w) => w.failures);
  if (failed.length) {
    throw new AppError(
      "unavailable",
      `notify: ${failed.length} message(s) not delivered (the next run retries them): ${failed.map((f) => `${f.error} (owner ${f.owner})`).join("; ")}`,
      { details: result },
    );
  }
  return result;
}
