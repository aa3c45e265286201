/**
 * Schedule maths in UTC with croner, shared by the in-process scheduler and the cron runner: both must
 * name a run by the same scheduled minute for the ledger's exactly-once claim to work.
 */
import { Cron } from "croner";
import { scheduledMinute } from "./ledger.ts";

const pattern = (schedule: string) => new Cron(schedule, { timezone: "UTC", paused: true });

/** True when the cron schedule fires at this minute (UTC). */
export function firesAt(schedule: string, at: Date): boolean {
  const minute = new Date(scheduledMinute(at));
  const next = pattern(schedule).nextRun(new Date(minute.getTime() - 1000));
  return next !== null && next.getTime() === minute.getTime();
}

/**
 * The most recent scheduled fire at or before `now` (its minute included), or null. A run's ledger key
 * comes from the schedule, not from the wall clock when the timer callback got to run: a callback
 * delayed past the minute (a blocked event loop) still claims the minute cron and the runner claim.
 */
export function latestFire(schedule: string, now: Date): Date | null {
  return pattern(schedule).previousRuns(1, new Date(new Date(scheduledMinute(now)).getTime() + 1))[0] ?? null;
}

/** The next fire strictly after `now`, or null. */
export function nextFire(schedule: string, now: Date): Date | null {
  return pattern(schedule).nextRun(now);
}

/**
 * How late a caller may be and still belong to a fire: cron starts jobs within seconds, a loaded host
 * within a minute or two. Later than this it is not late but off-schedule (a host whose cron ignores
 * CRON_TZ and runs in local time, a manual call) and claims its own minute: mapping it onto an old fire
 * would answer "already ran" and the job would silently never run.
 */
export const LATE_TOLERANCE_MS = 10 * 60_000;

/** The fire a call at `at` is late for (its own minute if that is a fire), or null when off-schedule. */
export function fireFor(schedule: string, at: Date, toleranceMs = LATE_TOLERANCE_MS): Date | null {
  const fire = latestFire(schedule, at);
  return fire && at.getTime() - fire.getTime() <= toleranceMs ? fire : null;
}
