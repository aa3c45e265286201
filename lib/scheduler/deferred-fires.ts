/**
 * Fires the in-process scheduler deferred while the auto store served from its fallback (a deciding
 * job, scheduler.ts), remembered so that they run in the order they were due once Postgres serves: a
 * fire waits while an earlier deferred fire of another job is pending or running. One outage over
 * Monday 06:00–06:20 defers both the platform digest and the weekly generation; their retries come due
 * in the same minute, and the generation, started first or during the digest, would read last week's
 * digest and use up its week.
 */
export class DeferredFires {
  /** Job id → the fires (ms) it still owes. */
  private readonly owed = new Map<string, Set<number>>();

  defer(job: string, at: Date): void {
    const fires = this.owed.get(job) ?? new Set<number>();
    fires.add(at.getTime());
    this.owed.set(job, fires);
  }

  /** Another job with a deferred fire earlier than `at` (it runs first), if any. */
  waitingFor(job: string, at: Date): string | undefined {
    for (const [id, fires] of this.owed) {
      if (id !== job && [...fires].some((t) => t < at.getTime())) return id;
    }
    return undefined;
  }

  /** The fire ran, was skipped for good, or was given up: later fires no longer wait for it. */
  settled(job: string, at: Date): void {
    const fires = this.owed.get(job);
    if (!fires?.delete(at.getTime())) return;
    if (!fires.size) this.owed.delete(job);
  }
}
