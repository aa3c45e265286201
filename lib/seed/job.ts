/**
 * The backlog setup job's work (scripts/seed.ts is its entry): checks the database, asks the Project
 * Service for the team and replaces the sample rows in one transaction, or prints the plan (--dry-run).
 */
import { printJson } from "../core/cli.ts";
import { describeError } from "../core/errors.ts";
import { log, logToStderr } from "../core/log.ts";
import { connectPg, describePg, ping, type PgConfig } from "../pg/db.ts";
import { loadSeedConfig, type SeedConfig } from "./config.ts";
import { planSample } from "./sample.ts";
import { fetchTeamMembers, splitServiceUrl, teamMembersUrl } from "./team-members.ts";
import { REQUIRED_TABLES, replaceSample, verifyTables } from "./write.ts";

interface Team {
  members: string[];
  source: "project-service" | "default";
  reason?: string;
}

async function resolveTeam(cfg: SeedConfig): Promise<Team> {
  if (!cfg.projectServiceUrl) {
    // Only reachable in --dry-run: a real run requires the URL (see loadSeedConfig).
    return { members: cfg.defaultTeam, source: "default", reason: "PROJECT_SERVICE_URL is not set" };
  }
  const url = teamMembersUrl(cfg.projectServiceUrl, cfg.projectId).href;
  const found = await fetchTeamMembers({ baseUrl: cfg.projectServiceUrl, projectId: cfg.projectId, timeoutMs: cfg.timeoutMs });
  if (found.ok) {
    log.info("Retrieved team members for project", { count: found.members.length, project_id: cfg.projectId });
    return { members: found.members, source: "project-service" };
  }
  log.warn("Could not retrieve team members from the project service; using the default team members", {
    reason: found.reason,
    url,
    project_id: cfg.projectId,
    count: cfg.defaultTeam.length,
  });
  return { members: cfg.defaultTeam, source: "default", reason: found.reason };
}

/** Connects, pings and checks the tables; the caller closes the pool. */
async function openChecked(pg: PgConfig) {
  const sql = connectPg(pg, { max: 1 });
  try {
    await ping(sql, pg);
    log.info("Backlog database connection successful.", { target: describePg(pg) });
    await verifyTables(sql);
    log.info("Required backlog database tables verified successfully", { tables: [...REQUIRED_TABLES] });
    return sql;
  } catch (err) {
    await sql.end({ timeout: 5 });
    throw err;
  }
}

/** Prints what a real run would write. Reads (team, tables) when configured, never needs them, never writes. */
async function dryRun(cfg: SeedConfig): Promise<number> {
  let database: Record<string, unknown> = { checked: false, reason: "no database configured" };
  if (cfg.pg) {
    const target = describePg(cfg.pg);
    try {
      const sql = await openChecked(cfg.pg);
      await sql.end({ timeout: 5 });
      database = { checked: true, ok: true, target, tables: [...REQUIRED_TABLES] };
    } catch (err) {
      const error = describeError(err);
      log.warn("dry run: database check failed; a real run would fail", { target, error });
      database = { checked: true, ok: false, target, error };
    }
  }
  const team = await resolveTeam(cfg);
  const plan = planSample(cfg.projectId, cfg.sprintId, team.members);
  printJson({
    dry_run: true,
    project_id: plan.project_id,
    sprint_id: plan.sprint_id,
    team,
    database,
    counts: { tasks: plan.tasks.length, stories: plan.stories.length, mappings: plan.mappings.length },
    stories: plan.stories,
    tasks: plan.tasks,
    mappings: plan.mappings,
  });
  return 0;
}

/** The job: flags and env from this process (scripts/seed.ts has answered --help already). */
export async function runSeedJob(): Promise<number> {
  const loaded = loadSeedConfig();
  if (loaded.help) return 0;
  const cfg = loaded.config;
  if (cfg.dryRun) {
    logToStderr(); // stdout carries the JSON plan
    return dryRun(cfg);
  }
  const pg = cfg.pg!;
  log.info("Starting backlog setup job...", {
    project_id: cfg.projectId,
    sprint_id: cfg.sprintId,
    database: describePg(pg),
    project_service_url: splitServiceUrl(cfg.projectServiceUrl!).url.href,
  });
  const sql = await openChecked(pg);
  try {
    const team = await resolveTeam(cfg);
    const plan = planSample(cfg.projectId, cfg.sprintId, team.members);
    const { created, removed } = await replaceSample(sql, plan, { failAfterDelete: cfg.failAfterDelete });
    if (removed.tasks + removed.stories + removed.mappings > 0) {
      log.info("Replaced the sample data of a previous run", { ...removed, project_id: cfg.projectId });
    }
    log.info(`Created ${created.tasks} tasks, ${created.stories} stories, and ${created.mappings} story-task mappings`, {
      ...created,
      project_id: cfg.projectId,
    });
    log.info(`Backlog setup completed successfully. Created ${created.tasks} backlog items for project ${cfg.projectId}`, {
      project_id: cfg.projectId,
      sprint_id: cfg.sprintId,
      team_source: team.source,
    });
    return 0;
  } finally {
    await sql.end({ timeout: 5 });
  }
}
