import type { Logger } from '../types';
import type { ActivityEvent } from '../types';
import type { ActivityStore } from '../store/activityStore';
import { isDataError } from './errors';
import { ActivityTrackingError } from '../errors';

export interface RecorderStats {
  /** Events waiting in memory. */
  queued: number;
  /** Events stored. */
  written: number;
  /** Batches written again after a failure. */
  retried: number;
  /** Events lost: refused because the queue was full, or rejected by the database row by row. */
  dropped: number;
  /** Events the database refused as invalid (a subset of dropped). */
  rejected: number;
  lastError: string | null;
}

export interface RecorderOptions {
  batchSize: number;
  flushIntervalMs: number;
  maxQueueSize: number;
  logger: Logger;
}

interface Waiter {
  resolve(): void;
  reject(error: unknown): void;
}

const MAX_BACKOFF_MS = 5000;

/**
 * Write-behind queue between the request path and the database: `enqueue` is synchronous and
 * cheap; one writer at a time takes batches off the front, so rows reach the database in capture
 * order. A failing database keeps the batch at the front and is retried with backoff; a batch the
 * database refuses as invalid is split until the bad row is found, so one bad row costs one row.
 */
export class Recorder {
  private queue: ActivityEvent[] = [];
  private readonly waiters = new Map<ActivityEvent, Waiter>();
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private accepting = true;
  private backoffMs = 0;
  private readonly counts = { written: 0, retried: 0, dropped: 0, rejected: 0 };
  private lastError: string | null = null;

  constructor(private readonly store: () => Promise<ActivityStore>, private readonly options: RecorderOptions) {}

  /** Takes an event for writing; never throws and never waits. Returns false when it was dropped. */
  enqueue(event: ActivityEvent): boolean {
    if (!this.accepting || this.queue.length >= this.options.maxQueueSize) {
      this.counts.dropped++;
      if (this.counts.dropped === 1 || this.counts.dropped % 1000 === 0) {
        this.options.logger.error('Activity event dropped', {
          reason: this.accepting ? 'queue full' : 'tracker closed',
          dropped: this.counts.dropped,
          maxQueueSize: this.options.maxQueueSize,
        });
      }
      return false;
    }
    this.queue.push(event);
    if (this.queue.length >= this.options.batchSize) this.startWriting();
    else this.timer ??= unrefTimer(() => this.startWriting(), this.options.flushIntervalMs);
    return true;
  }

  /**
   * Like `enqueue`, but resolves once the event is stored. An event refused at the door is the
   * caller's to handle, so it rejects with a code instead of counting as dropped.
   */
  write(event: ActivityEvent): Promise<void> {
    if (!this.accepting) {
      return Promise.reject(new ActivityTrackingError('ERR_AT_CLOSED', 'An event was recorded after close(). Fix: record events before closing the tracker'));
    }
    if (this.queue.length >= this.options.maxQueueSize) {
      return Promise.reject(new ActivityTrackingError('ERR_AT_QUEUE_FULL',
        `The activity queue holds ${this.options.maxQueueSize} events the database has not taken yet. Fix: check the database, or raise maxQueueSize`));
    }
    return new Promise((resolve, reject) => {
      this.waiters.set(event, { resolve, reject });
      this.enqueue(event);
    });
  }

  /** Resolves when everything queued before the call has been written (or has failed for good). */
  async flush(): Promise<void> {
    while (this.queue.length > 0 || this.writing) {
      this.startWriting();
      await this.writing;
    }
  }

  /** Stops taking events and writes what is queued. */
  async close(): Promise<void> {
    this.accepting = false;
    await this.flush();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  stats(): RecorderStats {
    return { queued: this.queue.length, ...this.counts, lastError: this.lastError };
  }

  private startWriting(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.writing || this.queue.length === 0) return;
    this.writing = this.drain().finally(() => {
      this.writing = undefined;
      if (this.queue.length > 0) this.timer ??= unrefTimer(() => this.startWriting(), this.options.flushIntervalMs);
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.slice(0, this.options.batchSize);
      const ok = await this.writeOrSplit(batch);
      if (!ok) {
        // The database is unreachable: keep the batch at the front and wait before trying again.
        this.counts.retried++;
        this.backoffMs = Math.min(MAX_BACKOFF_MS, Math.max(100, this.backoffMs * 2));
        await sleep(this.backoffMs * (0.5 + Math.random() / 2));
        if (!this.accepting && this.backoffMs >= MAX_BACKOFF_MS) {
          this.failQueued('the database stayed unreachable while the tracker closed');
          return;
        }
        continue;
      }
      this.backoffMs = 0;
      this.queue.splice(0, batch.length);
    }
  }

  /** True when the batch is settled (stored, or its invalid rows rejected); false when the database failed. */
  private async writeOrSplit(batch: ActivityEvent[]): Promise<boolean> {
    try {
      const store = await this.store();
      await store.writeBatch(batch);
      this.counts.written += batch.length;
      for (const event of batch) this.settle(event);
      return true;
    } catch (error) {
      this.lastError = error instanceof Error ? error.message : String(error);
      if (!isDataError(error)) {
        this.options.logger.warn('Writing activity failed; retrying', { error: this.lastError, batch: batch.length });
        return false;
      }
      if (batch.length === 1) {
        const [event] = batch as [ActivityEvent];
        this.counts.rejected++;
        this.counts.dropped++;
        this.options.logger.error('The database rejected an activity row', { id: event.id, error: this.lastError });
        this.settle(event, error);
        return true;
      }
      const middle = Math.ceil(batch.length / 2);
      return (await this.writeOrSplit(batch.slice(0, middle))) && (await this.writeOrSplit(batch.slice(middle)));
    }
  }

  private failQueued(reason: string): void {
    this.options.logger.error('Activity events could not be written', { reason, events: this.queue.length });
    this.counts.dropped += this.queue.length;
    for (const event of this.queue) this.settle(event, new Error(reason));
    this.queue = [];
  }

  private settle(event: ActivityEvent, error?: unknown): void {
    const waiter = this.waiters.get(event);
    if (!waiter) return;
    this.waiters.delete(event);
    if (error === undefined) waiter.resolve();
    else waiter.reject(error);
  }
}

function unrefTimer(fn: () => void, ms: number): NodeJS.Timeout {
  const timer = setTimeout(fn, ms);
  timer.unref();
  return timer;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => unrefTimer(resolve, ms));
}
