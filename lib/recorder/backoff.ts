/**
 * Exponential backoff with full jitter: the n-th wait is uniform in [0, min(max, initial·2ⁿ)], so
 * many processes that lost one database at once do not all come back to it in the same instant.
 */
export class Backoff {
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly initialMs: number, private readonly maxMs: number, private readonly random: () => number = Math.random) {}

  /** The next wait's upper bound, in milliseconds. */
  get ceilingMs(): number {
    return Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.attempt, 30));
  }

  /** Waits the next delay; interrupt() ends the wait early. */
  wait(): Promise<void> {
    const delay = Math.round(this.random() * this.ceilingMs);
    this.attempt++;
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(resolve, delay);
      this.timer.unref();
    });
  }

  interrupt(): void {
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
    this.wake = undefined;
  }

  reset(): void {
    this.attempt = 0;
  }
}
