/**
 * JSONL run ledger: `<dir>/scheduler_runs.jsonl`, one full record per line, the last line of a run_id
 * wins. Claims read, check and append under the directory lock the JSONL store uses, so processes on one
 * host agree. Appends go through the store's JsonlFile: a torn last line left by a crashed writer is cut
 * off first — otherwise the next claim would be glued to the fragment, unreadable, and the same minute
 * could be claimed again.
 *
 * Every claim reads the whole file, so it is kept short: once it holds `compactAtLines` lines, the claim
 * that notices rewrites it atomically with only the runs of the last `retainDays` days (and each job's
 * latest run). That is far longer than any catch-up window, and a claim for a minute that old is not
 * made by cron, the runner or the scheduler.
 */
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import * as v from "valibot";
import { DirLock } from "../fs/file-lock.ts";
import { silentLogger, type Logger } from "../core/log.ts";
import { BLANK, type LineSink } from "../fs/line-sink.ts";
import { JsonlFile } from "../fs/jsonl-file.ts";
import { busyRun, finished, isManual, jobStats, latestPerJob, newRun, runSlot, type ClaimResult, type JobStats, type Outcome, type RunLedger, type RunRecord } from "./ledger.ts";

export const RUNS_FILE = "scheduler_runs.jsonl";

const RunRecordSchema = v.looseObject({
  run_id: v.string(),
  job: v.string(),
  scheduled_at: v.string(),
  source: v.string(),
  started_at: v.string(),
  ended_at: v.nullable(v.string()),
  status: v.picklist(["running", "success", "error"]),
});

/** Folds lines into the latest record per run_id; lines that are not run records are reported. */
function runsSink() {
  const runs = new Map<string, RunRecord>();
  const sink: LineSink = {
    reset: () => runs.clear(),
    batch(values) {
      const bad: number[] = [];
      values.forEach((value, i) => {
        if (value === BLANK) return;
        if (v.is(RunRecordSchema, value)) runs.set(value.run_id, value as RunRecord);
        else bad.push(i);
      });
      return bad;
    },
    end: () => {},
  };
  return { runs, sink };
}

export interface JsonlRunLedgerOptions {
  /** The JSONL store's lock setting (lib/fs/file-lock.ts); default 10 s. */
  lockStaleMs?: number;
  /** Compact when the file has this many lines; default 4000 (about five weeks of the nine jobs: two lines a run). */
  compactAtLines?: number;
  /** Runs scheduled within this many days survive compaction; default 35. */
  retainDays?: number;
}

const DAY_MS = 86_400_000;

export class JsonlRunLedger implements RunLedger {
  readonly name = "JsonlRunLedger";
  readonly dir: string;
  readonly file: string;
  private readonly lock: DirLock;
  private readonly log: Logger;
  private readonly compactAtLines: number;
  private readonly retainMs: number;

  constructor(dir: string, log: Logger = silentLogger, options: JsonlRunLedgerOptions = {}) {
    this.dir = resolve(dir);
    this.file = join(this.dir, RUNS_FILE);
    this.log = log;
    this.lock = new DirLock(this.dir, { staleMs: options.lockStaleMs ?? 10_000, log });
    this.compactAtLines = options.compactAtLines ?? 4000;
    this.retainMs = (options.retainDays ?? 35) * DAY_MS;
  }

  /** Reads every run afresh (no handle outlives the call), then runs `fn` with the open file. */
  private async withRuns<R>(fn: (runs: Map<string, RunRecord>, file: JsonlFile, tail: number) => Promise<R>): Promise<R> {
    await mkdir(this.dir, { recursive: true });
    const file = new JsonlFile(this.file, this.log);
    try {
      const { runs, sink } = runsSink();
      const tail = await file.catchUp(sink);
      return await fn(runs, file, tail);
    } finally {
      await file.close();
    }
  }

  /**
   * Under the lock: read, decide, and write at most one record — appended after cutting off a torn
   * tail, or, when the file is long, as part of an atomic rewrite that drops old runs.
   */
  private async update<R>(now: Date, decide: (runs: Map<string, RunRecord>) => { write?: RunRecord; result: R }): Promise<R> {
    await mkdir(this.dir, { recursive: true });
    return this.lock.run(() =>
      this.withRuns(async (runs, file, tail) => {
        const { write, result } = decide(runs);
        if (!write) return result;
        if (file.lines + 1 >= this.compactAtLines) {
          runs.set(write.run_id, write);
          const kept = this.retained(runs, now);
          await file.rewrite([kept.map((r) => JSON.stringify(r) + "\n").join("")], kept.length);
          this.log.info("scheduler_runs_compacted", { file: this.file, lines_before: file.lines, runs_kept: kept.length, retain_days: this.retainMs / DAY_MS });
        } else {
          await file.repairTail(tail);
          await file.append(JSON.stringify(write) + "\n", 1);
        }
        return result;
      }),
    );
  }

  /** Runs scheduled within the retention, plus each job's latest, oldest first. */
  private retained(runs: Map<string, RunRecord>, now: Date): RunRecord[] {
    const cutoff = new Date(now.getTime() - this.retainMs).toISOString();
    const latest = new Set([...latestPerJob(runs.values()).values()].map((r) => r.run_id));
    return [...runs.values()].filter((r) => r.scheduled_at >= cutoff || latest.has(r.run_id)).sort((a, b) => a.scheduled_at.localeCompare(b.scheduled_at));
  }

  claim(job: string, scheduledAt: string, source: string, now: Date, runId?: string): Promise<ClaimResult> {
    const minute = runSlot(scheduledAt, source);
    return this.update<ClaimResult>(now, (runs) => {
      // Under the lock nothing is ever lost in flight: a record of the minute, even one with the caller's
      // own run id (an earlier call that failed after it), means it is not run again.
      for (const r of runs.values()) if (r.job === job && r.scheduled_at === minute) return { result: { claimed: false, existing: r } };
      const busy = isManual(source) ? busyRun(runs.values(), job, now) : undefined;
      if (busy) return { result: { claimed: false, existing: busy } };
      const run = newRun(job, minute, source, now, runId);
      return { write: run, result: { claimed: true, run } };
    });
  }

  finish(runId: string, outcome: Outcome, now: Date): Promise<RunRecord> {
    return this.update(now, (runs) => {
      const prev = runs.get(runId);
      if (!prev) throw new Error(`no run ${runId} in ${this.file}`);
      const done = finished(prev, outcome, now);
      return { write: done, result: done };
    });
  }

  /** Every run in the file (latest record per run_id). */
  allRuns(): Promise<RunRecord[]> {
    return this.withRuns(async (runs) => [...runs.values()]);
  }

  lastRuns(): Promise<Map<string, RunRecord>> {
    return this.withRuns(async (runs) => latestPerJob(runs.values()));
  }

  runningRuns(job: string): Promise<RunRecord[]> {
    return this.withRuns(async (runs) => [...runs.values()].filter((r) => r.job === job && r.status === "running"));
  }

  stats(now: Date): Promise<Map<string, JobStats>> {
    return this.withRuns(async (runs) => jobStats(runs.values(), now));
  }

  async close(): Promise<void> {}
}
