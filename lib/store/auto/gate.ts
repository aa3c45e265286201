/**
 * Holds operations back while the auto store switches backends: `exclusive(fn)` closes the gate,
 * waits until every operation started through `run` has finished, runs `fn`, opens the gate again.
 * Operations arriving meanwhile wait on `pending` and then see the new backend.
 */
export class SwitchGate {
  private gate: Promise<void> | null = null;
  private inflight = 0;
  private drainWaiters: (() => void)[] = [];

  /**
   * The switch in progress, or null. Callers loop `while ((p = gate.pending)) await p;` and then call
   * `run` synchronously: an `await` in between would let a switch start unseen.
   */
  get pending(): Promise<void> | null {
    return this.gate;
  }

  /** Counts `fn` as running until it settles; a switch that starts meanwhile waits for it. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    this.inflight++;
    try {
      return await fn();
    } finally {
      if (--this.inflight === 0) for (const wake of this.drainWaiters.splice(0)) wake();
    }
  }

  async exclusive(fn: () => Promise<void>): Promise<void> {
    let open!: () => void;
    this.gate = new Promise((resolve) => (open = resolve));
    try {
      if (this.inflight > 0) await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
      await fn();
    } finally {
      this.gate = null;
      open();
    }
  }
}
