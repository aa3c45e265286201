/**
 * /ui/jobs (any signed-in reader) and its "Run now" form, POST /ui/jobs/:job/run: the same run-now as
 * POST /v1/scheduler/jobs/:job/run (lib/scheduler/run-now.ts), with the browser's identity, its CSRF token
 * and the form's one-time key (a double submit starts one run). Mounted by mountUi (routes.ts), with
 * the page helpers of ui-kit.ts.
 */
import type { Context, Hono, MiddlewareHandler } from "hono";
import type { Identity } from "../../access/config.ts";
import { AppError } from "../../core/errors.ts";
import type { JobView } from "../../scheduler/job-view.ts";
import type { AppDeps } from "../app.ts";
import { methodNotAllowed } from "../methods.ts";
import { renderJobsPage } from "./jobs-page.tsx";
import type { View } from "./layout.tsx";
import * as S from "./session.ts";

type Env = { Variables: { identity: Identity } };
type C = Context<Env>;
interface Who {
  identity: Identity;
  binding: string | null;
}

export interface JobsUiHelpers<W extends Who> {
  guarded(handler: (c: C, w: W) => Promise<Response>, after?: (c: C) => string): (c: C) => Promise<Response>;
  page(c: C, html: string, status?: number): Response;
  viewFor(w: W, env: string): View;
  readForm(c: C): Promise<Record<string, string | string[]>>;
  sameOrigin(c: C): boolean;
  formLimit: MiddlewareHandler;
  secret: Buffer;
  env: string;
}

const JOBS = "/ui/jobs";

/**
 * A box of the Run now form: left out (false) or ticked, sent once as "on" (true). Anything else is a
 * 400 naming it: a hand-made `dry_run=yes` must not become a real run.
 */
function box(form: Record<string, string | string[]>, name: string): boolean {
  const v = form[name];
  if (v === undefined) return false;
  if (v === "on") return true;
  const got = Array.isArray(v) ? `${v.length} values` : JSON.stringify(v.slice(0, 40));
  throw new AppError("invalid_input", `${name}: expected the box ticked (sent once as "on") or left out, got ${got}; nothing was run.`, { details: [`${name}: expected "on" or absent`] });
}

export function mountJobsUi<W extends Who>(app: Hono<Env>, deps: AppDeps, h: JobsUiHelpers<W>): void {
  const jobsPage = async (c: C, w: W, extra: { errors?: string[]; done?: string | null } = {}, status = 200) => {
    const sched = deps.scheduler;
    const jobs = (sched ? await sched.jobs() : []) as JobView[];
    const runNow = sched?.runNow;
    const canRun = new Set(w.binding && runNow ? jobs.filter((j) => runNow.allowed(j.id, w.identity.entitlements)).map((j) => j.id) : []);
    return h.page(c, renderJobsPage(h.viewFor(w, h.env), { jobs, enabled: sched?.enabled ?? false, canRun, key: S.newNonce(), ...extra }), status);
  };

  app.get(JOBS, h.guarded(async (c, w) => {
    const ran = c.req.query("ran");
    const run = c.req.query("run");
    // Only the shapes this server writes into the redirect: no text from the URL reaches the page otherwise.
    const done = ran && /^[a-z][a-z0-9_]{0,63}$/.test(ran) ? (run && /^run_[A-Za-z0-9-]{1,80}$/.test(run) ? `${ran} ran by hand: success (run ${run}).` : c.req.query("dry") === "1" ? `${ran}: dry run done, nothing written.` : null) : null;
    return jobsPage(c, w, { done });
  }));

  app.post(`${JOBS}/:job/run`, h.formLimit, h.guarded(async (c, w) => {
    if (!w.binding) throw new AppError("forbidden", "Running a job needs a browser session: sign in at /ui/login.");
    const form = await h.readForm(c);
    if (!h.sameOrigin(c) || !S.checkCsrf(h.secret, w.binding, form.csrf)) {
      throw new AppError("forbidden", "This form did not come from a page of this site (missing or wrong CSRF token); reload the jobs page and try again.");
    }
    const runNow = deps.scheduler?.runNow;
    if (!runNow) throw new AppError("not_found", "This server has no task registry loaded, so it runs no job by hand.");
    const job = c.req.param("job") ?? "";
    const key = typeof form.key === "string" && form.key.length >= 8 && form.key.length <= 200 ? form.key : undefined;
    try {
      const out = await runNow.run({ job, identity: w.identity, actor: w.identity.agent, dryRun: box(form, "dry_run"), evenIfSuspended: box(form, "even_if_suspended"), key });
      const q = "run_id" in out ? `run=${encodeURIComponent(out.run_id)}` : "dry=1";
      return c.redirect(`${JOBS}?ran=${encodeURIComponent(out.job)}&${q}`, 303);
    } catch (err) {
      // Refusals (403, 404, 409 running or suspended, 400) and the job's own 4xx failures: the jobs page
      // saying why, with that status; a 5xx becomes the error page (guarded).
      if (err instanceof AppError && err.status < 500) return jobsPage(c, w, { errors: [err.message] }, err.status);
      throw err;
    }
  }));

  app.all(JOBS, h.guarded(async (c) => Promise.reject(methodNotAllowed(c, ["GET"]))));
  app.all(`${JOBS}/:job/run`, h.guarded(async (c) => Promise.reject(methodNotAllowed(c, ["POST"])), () => JOBS));
}
