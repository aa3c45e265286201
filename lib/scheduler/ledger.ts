/**
 * The run ledger: one record per (job, scheduled minute). `claim` is the exactly-once gate: only one
 * caller gets `claimed: true` for a given job and minute, across processes and replicas.
 */
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { appendFile, mkdir, readFile } from "node:fs/promises";
import { DirLock } from "../file-lock.ts";
import { silentLogger, type Logger } from "../log.ts";

export interface RunRecord {
  run_id: string;
  job: string;
  scheduled_at: string;
  source: string;
  started_at: string;
  ended_at: string | null;
  status: "running" | "success" | "error";
  result?: unknown;
  error?: string;
}

export type ClaimResult = { claimed: true; run: RunRecord } | { claimed: false; existing: RunRecord };
export type Outcome = { status: "success" | "error"; result?: unknown; error?: string };

export interface RunLedger {
  readonly name: string;
  claim(job: string, scheduledAt: string, source: string, now: Date): Promise<ClaimResult>;
  finish(runId: string, outcome: Outcome, now: Date): Promise<RunRecord>;
  /** The latest run (by scheduled minute) of each job. */
  lastRuns(): Promise<Map<string, RunRecord>>;
  close(): Promise<void>;
}

/** Floors to the minute, ISO: the unit of exactly-once. */
export function scheduledMinute(d: Date): string {
  const t = new Date(d.getTime());
  t.setUTCSeconds(0, 0);
  return t.toISOString();
}

export function newRun(job: string, scheduledAt: string, source: string, now: Date): RunRecord {
  return { run_id: `run_${randomUUID()}`, job, scheduled_at: scheduledMinute(new Date(scheduledAt)), source, started_at: now.toISOString(), ended_at: null, status: "running" };
}

/** Results can be large (generation lists items); the ledger keeps a bounded summary. */
export function summarize(result: unknown): unknown {
  const text = JSON.stringify(result ?? null);
  return text.length <= 4000 ? result : { truncated: true, preview: text.slice(0, 4000) };
}

/**
 * JSONL ledger (`<dir>/scheduler_runs.jsonl`, full records, last line per run_id wins). Claims read and
 * append under the same directory lock the JSONL store uses, so processes on one host agree.
 */
export class JsonlRunLedger implements RunLedger {
  readonly name = "JsonlRunLedger";
  readonly file: string;
  private readonly lock: DirLock;

  constructor(readonly dir: string, log: Logger = silentLogger) {
    this.file = join(dir, "scheduler_runs.jsonl");
    this.lock = new DirLock(dir, { staleMs: 10_000, log });
  }

  private async readAll(): Promise<Map<string, RunRecord>> {
    let text = "";
    try {
      text = await readFile(this.file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    const runs = new Map<string, RunRecord>();
    for (const line of text.split("\n")) {
      if (!line.trim()) continue;
      try {
        const r = JSON.parse(line) as RunRecord;
        if (r && typeof r.run_id === "string") runs.set(r.run_id, r);
      } catch {
        // a torn last line from a crash: the run it described stays "running" at worst
      }
    }
    return runs;
  }

  private async append(r: RunRecord): Promise<void> {
    await appendFile(this.file, JSON.stringify(r) + "\n");
  }

  async claim(job: string, scheduledAt: string, source: string, now: Date): Promise<ClaimResult> {
    await mkdir(this.dir, { recursive: true });
    const minute = scheduledMinute(new Date(scheduledAt));
    return this.lock.run(async () => {
      for (const r of (await this.readAll()).values()) {
        if (r.job === job && r.scheduled_at === minute) return { claimed: false as const, existing: r };
      }
      const run = newRun(job, minute, source, now);
      await this.append(run);
      return { claimed: true as const, run };
    });
  }

  async finish(runId: string, outcome: Outcome, now: Date): Promise<RunRecord> {
    return this.lock.run(async () => {
      const prev = (await this.readAll()).get(runId);
      if (!prev) throw new Error(`no run ${runId} in ${this.file}`);
      const done: RunRecord = { ...prev, status: outcome.status, ended_at: now.toISOString(), result: summarize(outcome.result), error: outcome.error };
      await this.append(done);
      return done;
    });
  }

  async lastRuns(): Promise<Map<string, RunRecord>> {
    const last = new Map<string, RunRecord>();
    for (const r of (await this.readAll()).values()) {
      const cur = last.get(r.job);
      if (!cur || r.scheduled_at > cur.scheduled_at) last.set(r.job, r);
    }
    return last;
  }

  async close(): Promise<void> {}
}
