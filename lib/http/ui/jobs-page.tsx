/** @jsxImportSource hono/jsx */
/**
 * /ui/jobs: the scheduled jobs for people. The same rows as GET /v1/scheduler/jobs (scheduler.jobs(),
 * one function), every state in words (stuck, suspended with its reason, the last run's status), and a
 * "Run now" form (POST /ui/jobs/:job/run, CSRF token and a one-time key) for whoever may run the job by hand.
 */
import type { JobView } from "../../scheduler/job-view.ts";
import { Layout, Messages, render, type View } from "./layout.tsx";

export interface JobsData {
  jobs: JobView[];
  /** Whether the scheduler runs in this process (SCHEDULER_ENABLED); cron may run the jobs either way. */
  enabled: boolean;
  /** Job ids this browser may run by hand (it has a session and the job's run-by-hand right). */
  canRun: ReadonlySet<string>;
  /** A fresh one-time key per rendering: a double submit of the same form starts one run. */
  key: string;
  errors?: string[];
  done?: string | null;
}

const when = (iso: string | null | undefined) => (iso ? iso.replace("T", " ").replace(/:\d\d\.\d{3}Z$/, " UTC").replace(/\.\d{3}Z$/, " UTC") : "—");

function LastRun({ run }: { run: JobView["last_run"] }) {
  if (!run) return <span class="muted">never run</span>;
  const by = run.source === "manual" ? `by hand (${run.actor ?? "unknown"})` : run.source;
  return (
    <span>
      <span class={`badge${run.status === "error" ? " overdue" : ""}`}>{run.status}</span> {when(run.started_at)}, {by}
      <br />
      <span class="muted">run {run.run_id}</span>
      {run.error ? (
        <>
          <br />
          <span>error: {run.error.slice(0, 300)}</span>
        </>
      ) : null}
    </span>
  );
}

function State({ job }: { job: JobView }) {
  const words: unknown[] = [];
  if (job.suspended) words.push(<span class="badge overdue" data-testid={`suspended-${job.id}`}>suspended{job.suspend_reason ? `: ${job.suspend_reason}` : ""}</span>);
  if (job.last_run?.stuck) words.push(<span class="badge overdue" title={job.last_run.stuck} data-testid={`stuck-${job.id}`}>stuck: last run still running after 30 min</span>);
  if (job.last_run?.status === "running" && !job.last_run.stuck) words.push(<span class="badge">running now</span>);
  return words.length ? <>{words}</> : <span>scheduled</span>;
}

function RunForm({ view, job, data }: { view: View; job: JobView; data: JobsData }) {
  if (!data.canRun.has(job.id) || !view.csrf) return <span class="muted">{job.run_by_hand ? `needs ${job.run_by_hand}` : "—"}</span>;
  return (
    <form method="post" action={`/ui/jobs/${encodeURIComponent(job.id)}/run`} data-testid={`run-${job.id}`}>
      <input type="hidden" name="csrf" value={view.csrf} />
      <input type="hidden" name="key" value={data.key} />
      {job.dry_run ? (
        <label>
          <input type="checkbox" name="dry_run" value="on" /> dry run
        </label>
      ) : null}
      {job.suspended ? (
        <label>
          <input type="checkbox" name="even_if_suspended" value="on" /> even though suspended
        </label>
      ) : null}{" "}
      <button type="submit">Run now</button>
    </form>
  );
}

export function renderJobsPage(view: View, data: JobsData) {
  return render(
    <Layout view={view} title="Scheduled jobs" nav="jobs">
      <h1>Scheduled jobs</h1>
      <p class="muted">
        From ops/task_registry.yml; times in UTC. {data.enabled ? "The in-process scheduler runs them here." : "This server's in-process scheduler is off: cron or Kubernetes runs them."} A run by hand
        takes no scheduled run's place.
      </p>
      <Messages errors={data.errors} done={data.done} />
      <table data-testid="jobs">
        <caption>Every job, its schedule and its last run</caption>
        <thead>
          <tr>
            <th scope="col">Job</th>
            <th scope="col">Schedule (UTC)</th>
            <th scope="col">Next run</th>
            <th scope="col">Last run</th>
            <th scope="col">State</th>
            <th scope="col">Run now</th>
          </tr>
        </thead>
        <tbody>
          {data.jobs.map((j) => (
            <tr data-testid={`job-${j.id}`}>
              <th scope="row">
                {j.id}
                {j.description ? (
                  <>
                    <br />
                    <span class="muted" style="font-weight: normal">{j.description}</span>
                  </>
                ) : null}
              </th>
              <td>
                <code>{j.schedule}</code>
              </td>
              <td>{when(j.next_run)}</td>
              <td>
                <LastRun run={j.last_run} />
              </td>
              <td>
                <State job={j} />
              </td>
              <td>
                <RunForm view={view} job={j} data={data} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Layout>,
  );
}
