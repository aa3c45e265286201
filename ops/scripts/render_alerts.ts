/**
 * Renders the Prometheus alert rules (ops/prometheus/backlog-bridge.rules.yml) and the same rules as a
 * PrometheusRule (ops/k8s/backlog-bridge-prometheusrule.yml) from lib/alerting/rules.ts and the policy's
 * `alerts` section, each atomically.
 *
 *   npx bun run ops/scripts/render_alerts.ts [--stdout] [--policy FILE] [--out FILE] [--k8s-out FILE]
 */
import process from "node:process";
import { AppError } from "../../lib/core/app-error.ts";
import { type ParsedCli, runCli } from "../../lib/core/cli.ts";

const spec = {
  name: "render_alerts",
  usage: `Usage: npx bun run ops/scripts/render_alerts.ts [--stdout] [--policy FILE] [--out FILE] [--k8s-out FILE]

Writes the alert rules for a plain Prometheus and the equivalent PrometheusRule for Kubernetes, from
lib/alerting/rules.ts and the alerts section of the backlog policy (docs/alerting.md).
  --stdout          print the plain rules file instead of writing
  --policy FILE     default config/backlog_policy.yml (BACKLOG_POLICY_FILE)
  --out FILE        default ops/prometheus/backlog-bridge.rules.yml
  --k8s-out FILE    default ops/k8s/backlog-bridge-prometheusrule.yml`,
  flags: { stdout: { type: "boolean" }, policy: { type: "string" }, out: { type: "string" }, "k8s-out": { type: "string" } },
} as const;

async function main({ values }: ParsedCli<typeof spec.flags>): Promise<number> {
  // Imported here, not at the top: --help is answered before the policy, YAML and logger load.
  const [{ renderAlertFiles }, { describeError }, { log }, { writeFileAtomic }] = await Promise.all([
    import("../../lib/alerting/files.ts"),
    import("../../lib/core/errors.ts"),
    import("../../lib/core/log.ts"),
    import("../../lib/generation/reports.ts"),
  ]);
  const files = renderAlertFiles({
    policyFile: values.policy,
    rulesFile: values.out,
    prometheusRuleFile: values["k8s-out"],
  });
  if (values.stdout) return void process.stdout.write(files[0]![1]), 0;
  for (const [out, content] of files) {
    try {
      await writeFileAtomic(out, content);
    } catch (err) {
      const why = (err as Error).cause ?? err;
      throw new AppError("unavailable", `Cannot write ${out}: ${describeError(why)}. Pass --out / --k8s-out, or --stdout to print.`, { cause: why });
    }
    log.info("rendered", { file: out });
  }
  return 0;
}

runCli(spec, main);
