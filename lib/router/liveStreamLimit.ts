import { ApiError } from './apiError';

/**
 * How many live streams each user holds open in this process; one over the limit is refused, so a
 * user (or a stolen token) cannot tie up the database's connections with polling streams.
 */
export class LiveStreamLimit {
  private readonly open = new Map<string, number>();

  constructor(private readonly perUser: number) {}

  /** Counts a stream for the user and returns what ends it (idempotent); throws a 429 over the limit. */
  acquire(userId: string): () => void {
    const count = this.open.get(userId) ?? 0;
    if (count >= this.perUser) {
      throw new ApiError(429, 'ERR_AT_TOO_MANY_STREAMS', `At most ${this.perUser} live streams per user at once; close another console tab's live mode (the liveStreams.perUser option sets the limit)`);
    }
    this.open.set(userId, count + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(userId) ?? 1) - 1;
      if (left <= 0) this.open.delete(userId);
      else this.open.set(userId, left);
    };
  }

  /** Streams open now, for /health and the tests. */
  count(): number {
    let total = 0;
    for (const count of this.open.values()) total += count;
    return total;
  }
}
