/**
 * Backlog setup job (shared/seeds "Backlog Setup Job"): seeds sample stories, tasks and story-task links for
 * one project, assigning tasks round-robin to the team the Project Service reports. Runs as the Kubernetes
 * Job ops/k8s/backlog-setup-job.yml (bundled to dist/seed.js) or locally:
 *
 *   npx bun run scripts/seed.ts [--dry-run] [--dsn DSN]     (env and details: --help, docs/setup-job.md)
 */
import { runCli } from "../lib/core/cli.ts";
import { seedSpec } from "../lib/seed/cli-spec.ts";

// The job is imported inside, not at the top: --help is answered before the config, valibot and postgres load.
runCli(seedSpec, async () => (await import("../lib/seed/job.ts")).runSeedJob());
