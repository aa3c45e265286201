/**
 * JSONL run ledger: `<dir>/scheduler_runs.jsonl`, one full record per line, the last line of a run_id
 * wins. Claims read, check and append under the directory lock the JSONL store uses, so processes on one
 * host agree. Appends go through the store's JsonlFile: a torn last line left by a crashed writer is cut
 * off first — otherwise the next claim would be glued to the fragment, unreadable, and the same minute
 * could be claimed again.
 */
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import * as v from "valibot";
import { DirLock } from "../file-lock.ts";
import { silentLogger, type Logger } from "../log.ts";
import { BLANK, JsonlFile, type LineSink } from "../store/jsonl-file.ts";
import { finished, latestPerJob, newRun, scheduledMinute, type ClaimResult, type Outcome, type RunLedger, type RunRecord } from "./ledger.ts";

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

export class JsonlRunLedger implements RunLedger {
  readonly name = "JsonlRunLedger";
  readonly dir: string;
  readonly file: string;
  private readonly lock: DirLock;
  private readonly log: Logger;

  constructor(dir: string, log: Logger = silentLogger, lockStaleMs = 10_000) {
    this.dir = resolve(dir);
    this.file = join(this.dir, RUNS_FILE);
    this.log = log;
    this.lock = new DirLock(this.dir, { staleMs: lockStaleMs, log });
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

  /** Under the lock: read, decide, and append at most one line after cutting off a torn tail. */
  private async update<R>(decide: (runs: Map<string, RunRecord>) => { write?: RunRecord; result: R }): Promise<R> {
    await mkdir(this.dir, { recursive: true });
    return this.lock.run(() =>
      this.withRuns(async (runs, file, tail) => {
        const { write, result } = decide(runs);
        if (write) {
          await file.repairTail(tail);
          await file.append(JSON.stringify(write) + "\n", 1);
        }
        return result;
      }),
    );
  }

  claim(job: string, scheduledAt: string, source: string, now: Date): Promise<ClaimResult> {
    const minute = scheduledMinute(new Date(scheduledAt));
    return this.update<ClaimResult>((runs) => {
      for (const r of runs.values()) if (r.job === job && r.scheduled_at === minute) return { result: { claimed: false, existing: r } };
      const run = newRun(job, minute, source, now);
      return { write: run, result: { claimed: true, run } };
    });
  }

  finish(runId: string, outcome: Outcome, now: Date): Promise<RunRecord> {
    return this.update((runs) => {
      const prev = runs.get(runId);
      if (!prev) throw new Error(`no run ${runId} in ${this.file}`);
      const done = finished(prev, outcome, now);
      return { write: done, result: done };
    });
  }

  lastRuns(): Promise<Map<string, RunRecord>> {
    return this.withRuns(async (runs) => latestPerJob(runs.values()));
  }

  async close(): Promise<void> {}
}
