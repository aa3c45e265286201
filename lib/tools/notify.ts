/**
 * notify_tool: the built-in notifier for teams without Prometheus/Alertmanager (docs/alerting.md).
 *   dispatch  one message per owner to each webhook of the policy's notify section (lib/notify/)
 * Scheduled as job notify_dispatch (ops/task_registry.yml); callable from the CLI and HTTP like any tool.
 * On the auto store's JSONL fallback it refuses (503) before sending: items and the sent-notice state
 * that exist only in Postgres are missing there, so notices would be missed or sent a second time.
 */
import { processEnv } from "../config/index.ts";
import * as v from "valibot";
import { strictObject } from "../core/strict.ts";
import { runNotify } from "../notify/dispatch.ts";
import type { SenderDeps } from "../notify/deliver.ts";
import { openNotifyState } from "../notify/state-open.ts";
import { refuseWhileDegraded } from "../store/index.ts";
import type { Policy } from "../generation/policy.ts";
import { defineAction, type Tool } from "./types.ts";

export interface NotifyToolOptions extends SenderDeps {
  /** Where the webhook URL variables are read; default: the environment, through lib/config. */
  env?: Record<string, string | undefined>;
}

export function createNotifyTool(policy: Policy, options: NotifyToolOptions = {}) {
  return {
    name: "notify_tool",
    description: "Notifies owners of overdue and due-soon backlog items through the policy's webhooks.",
    actions: {
      dispatch: defineAction({
        description: "Posts one message per owner (overdue, due soon, resolved) to each configured webhook; each notice once.",
        params: strictObject(
          {
            dry_run: v.optional(v.boolean(), false),
            webhook: v.optional(v.pipe(v.string(), v.regex(/^[a-z][a-z0-9_-]{0,63}$/, "must be a webhook name from notify.webhooks"))),
          },
          "parameter",
        ),
        entitlement: "tools.notify.write",
        writes: true,
        needs_full_view: true,
        run(params, ctx) {
          refuseWhileDegraded(ctx.store, "which notices are due and which were sent is known only with the items and the sent state held there", "Run notify_tool.dispatch again once readyz reports ready; the next scheduled notify_dispatch sends what is due then.");
          return runNotify(
            { store: ctx.store, state: openNotifyState(ctx.store, ctx.log), policy, env: options.env ?? processEnv(), now: ctx.now, log: ctx.log, fetch: options.fetch, sleep: options.sleep },
            params,
          );
        },
      }),
    },
  } satisfies Tool;
}
