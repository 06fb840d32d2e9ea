import type { ActivityEvent, Logger } from '../types';
import type { ActivityStore } from '../store/activityStore';
import { isDataError } from './errors';
import { ActivityTrackingError } from '../errors';
import { Backoff } from './backoff';
import type { Journal, JournalEntry } from './journal';
import { messageOf } from '../util/messageOf';

export interface RecorderStats {
  /**
   * Events waiting in memory: in the queue, or on their way to the journal. At most
   * 2 × maxQueueSize (the queue, and as much again being journaled), whatever the database does.
   */
  queued: number;
  /** Events waiting in the journal. */
  journalPending: number;
  /** Bytes the journal takes on disk. */
  journalBytes: number;
  /** Events stored in the database (replayed ones included). */
  written: number;
  /** Writes that failed because the database was unreachable or failing, and were tried again. */
  retried: number;
  /** Events put in the journal. */
  journaled: number;
  /** Events stored from the journal. */
  replayed: number;
  /** Events the database refused as invalid; each is kept in the journal's rejects.jsonl with the reason. */
  rejected: number;
  /** Journal records found torn or corrupt (kept aside under torn/, not replayed). */
  torn: number;
  /** Events lost. Stays 0 unless the journal cannot be written (or is turned off); every drop is logged. */
  dropped: number;
  lastError: string | null;
  lastErrorAt: string | null;
  /** Milliseconds since the capture of the oldest event not yet stored; 0 when nothing waits. */
  lagMs: number;
  /** Whether the last write reached the database. */
  databaseAvailable: boolean;
}

export interface RecorderOptions {
  batchSize: number;
  flushIntervalMs: number;
  maxQueueSize: number;
  logger: Logger;
  /** The journal; `null` runs without one. */
  journal: Journal | null;
  /** `spill`: journal only what the database cannot take now. `write-ahead`: every batch is journaled before it is written. */
  journalMode: 'spill' | 'write-ahead';
  retryInitialDelayMs: number;
  retryMaxDelayMs: number;
  /** A write not answered in this time counts as failed (and is replayed; writes are idempotent). */
  writeTimeoutMs: number;
  /** How long close() writes to the database before it moves what is left to the journal. */
  closeTimeoutMs: number;
  /** How often to look for journals of stopped processes. Default ORPHAN_CHECK_INTERVAL_MS. */
  orphanCheckIntervalMs?: number;
}

interface Waiter {
  resolve(): void;
  reject(error: unknown): void;
}

type Outcome = 'stored' | 'failed';

/** How often a running process looks for journals of processes that stopped since it started. */
export const ORPHAN_CHECK_INTERVAL_MS = 60_000;

/**
 * Write-behind queue between the request path and the database. `enqueue` is synchronous and
 * cheap. One writer at a time stores batches, the journal's oldest first, then memory's, so rows
 * reach the database in capture order. When the database fails, the batch goes to the journal and
 * is retried from there with backoff; while it stays down, and whenever memory is full, memory
 * spills to the journal too, so memory stays bounded and a crash loses at most the batch in flight
 * (none in write-ahead mode). A batch the database refuses as invalid is split until the bad row
 * is found; that row is kept in rejects.jsonl.
 */
export class Recorder {
  private queue: ActivityEvent[] = [];
  /** By event id: an event replayed from the journal is a new object. */
  private readonly waiters = new Map<string, Waiter>();
  private journal: Journal | null = null;
  private readonly journalReady: Promise<void>;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private inFlight: { events: ActivityEvent[]; entry: JournalEntry | undefined } | undefined;
  private accepting = true;
  private halted = false;
  private available = true;
  private readonly backoff: Backoff;
  private readonly counts = { written: 0, retried: 0, journaled: 0, replayed: 0, rejected: 0, dropped: 0 };
  private lastError: string | null = null;
  private lastErrorAt: string | null = null;
  private closing: Promise<void> | undefined;
  private adoptionTimer: NodeJS.Timeout | undefined;
  private journalFailures = 0;

  constructor(private readonly store: () => Promise<ActivityStore>, private readonly options: RecorderOptions) {
    this.backoff = new Backoff(options.retryInitialDelayMs, options.retryMaxDelayMs);
    this.journal = options.journal;
    // What an earlier process left is replayed at start-up, without waiting for new events; a
    // process that stops later (a crashed worker of a cluster) is looked for every minute.
    this.journalReady = this.adoptOrphans();
    if (this.journal) {
      this.adoptionTimer = setInterval(() => void this.adoptOrphans(), options.orphanCheckIntervalMs ?? ORPHAN_CHECK_INTERVAL_MS);
      this.adoptionTimer.unref();
    }
  }

  private adoptOrphans(): Promise<void> {
    return (this.journal?.adoptOrphans() ?? Promise.resolve(0)).then(
      (adopted) => {
        if (adopted > 0 && !this.halted) this.startWriting();
      },
      (error: unknown) => {
        this.noteError(error);
        this.options.logger.error('Cannot look for journals left by stopped processes', { error: this.lastError, dir: this.journal?.dir });
      },
    );
  }

  /** Takes an event for writing; never throws and never waits. Returns false when it was dropped. */
  enqueue(event: ActivityEvent): boolean {
    if (!this.accepting) {
      this.drop(1, 'tracker closed');
      return false;
    }
    if (!this.admit()) {
      this.drop(1, this.journal ? 'the journal cannot keep up' : 'queue full');
      return false;
    }
    this.queue.push(event);
    if (this.journalsMemory() && this.queue.length >= this.options.batchSize) this.spill();
    if (this.queue.length >= this.options.batchSize) this.startWriting();
    else this.timer ??= unrefTimer(() => this.startWriting(), this.options.flushIntervalMs);
    return true;
  }

  /**
   * Like `enqueue`, but resolves once the event is stored (or, if the tracker closes first, once
   * it is journaled for the next start). An event refused at the door rejects with a code.
   */
  write(event: ActivityEvent): Promise<void> {
    if (!this.accepting) {
      return Promise.reject(new ActivityTrackingError('ERR_AT_CLOSED', 'An event was recorded after close(). Fix: record events before closing the tracker'));
    }
    if (!this.admit()) {
      return Promise.reject(new ActivityTrackingError('ERR_AT_QUEUE_FULL',
        `The activity queue holds ${this.options.maxQueueSize} events and nothing more can be journaled now. Fix: check the database and the journal folder, or raise maxQueueSize`));
    }
    return new Promise((resolve, reject) => {
      this.waiters.set(event.id, { resolve, reject });
      this.enqueue(event);
    });
  }

  /** Resolves when everything captured before the call is stored, journal included. */
  async flush(): Promise<void> {
    await this.journalReady;
    while (this.hasWork() && !this.halted) {
      this.startWriting();
      if (this.writing) await this.writing;
      else await sleep(this.options.flushIntervalMs);
    }
  }

  /**
   * Writes what is waiting (events that arrive meanwhile included) for up to closeTimeoutMs, moves
   * what is left to the journal (for the next process to replay), lets go of the journal, and from
   * then on refuses events (counted as dropped).
   */
  close(): Promise<void> {
    this.closing ??= this.closeNow();
    return this.closing;
  }

  stats(): RecorderStats {
    return {
      queued: this.queue.length + (this.journal?.writingEvents ?? 0),
      journalPending: this.journal?.pendingEvents ?? 0,
      journalBytes: this.journal?.bytes ?? 0,
      ...this.counts,
      torn: this.journal?.torn ?? 0,
      lastError: this.lastError,
      lastErrorAt: this.lastErrorAt,
      lagMs: this.lagMs(),
      databaseAvailable: this.available,
    };
  }

  private async closeNow(): Promise<void> {
    await this.journalReady;
    const finished = await Promise.race([this.flush().then(() => true), sleep(this.options.closeTimeoutMs).then(() => false)]);
    this.accepting = false;
    this.halted = true;
    clearInterval(this.adoptionTimer);
    this.backoff.interrupt();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!finished) {
      // A batch on its way to the database may or may not commit: journal it too (replay is idempotent).
      const inFlight = this.inFlight && !this.inFlight.entry ? this.inFlight.events : [];
      const left = [...inFlight, ...this.queue];
      this.queue = [];
      await this.moveToJournalAtClose(left);
    }
    await this.journal?.close();
    // Whoever still waits has an event in the journal: durable, and stored by the next process.
    for (const waiter of this.waiters.values()) waiter.resolve();
    this.waiters.clear();
  }

  private async moveToJournalAtClose(events: ActivityEvent[]): Promise<void> {
    if (events.length === 0) return;
    const { journal } = this;
    if (journal) {
      try {
        for (let i = 0; i < events.length; i += this.options.batchSize) {
          const batch = events.slice(i, i + this.options.batchSize);
          await journal.append(batch);
          this.counts.journaled += batch.length;
          for (const event of batch) this.settle(event);
        }
        this.options.logger.warn('The database did not take every activity event before close; the rest is journaled for the next start', { events: events.length, dir: journal.dir });
        return;
      } catch (error) {
        this.noteError(error);
      }
    }
    this.drop(events.length, 'the database did not answer before close and the journal could not be written');
    for (const event of events) this.settle(event, new Error(this.lastError ?? 'not stored'));
  }

  private hasWork(): boolean {
    return this.queue.length > 0 || this.writing !== undefined || (this.journal !== null && (this.journal.pendingEvents > 0 || this.journal.writingEvents > 0));
  }

  /**
   * Whether memory goes to the journal as soon as a batch is ready: while the database is down
   * (rather than waiting in the process), and always in write-ahead mode (where journaling the
   * next batch overlaps writing the previous one).
   */
  private journalsMemory(): boolean {
    return this.journal !== null && (!this.available || this.options.journalMode === 'write-ahead');
  }

  /** Room for one more event: memory below its bound, or memory's oldest batch moved to the journal. */
  private admit(): boolean {
    return this.queue.length < this.options.maxQueueSize || this.spill();
  }

  /** Moves memory's oldest batch to the journal; false when there is no journal or it is already a full queue behind. */
  private spill(): boolean {
    const { journal } = this;
    if (!journal || journal.writingEvents >= this.options.maxQueueSize || this.queue.length === 0) return false;
    void this.journalBatch(this.queue.splice(0, this.options.batchSize), false);
    return true;
  }

  /** Journals a batch; if that fails, the batch goes back to memory when there is room, else it is dropped. */
  private async journalBatch(batch: ActivityEvent[], front: boolean): Promise<boolean> {
    const journal = this.journal as Journal;
    try {
      await journal.append(batch, { front });
      this.counts.journaled += batch.length;
      if (!this.writing && !this.halted) this.startWriting();
      return true;
    } catch (error) {
      this.noteError(error);
      // A failing disk fails every batch: said on the first failure and then every hundredth.
      if (this.journalFailures++ % 100 === 0) this.options.logger.error('Cannot write the activity journal', { error: this.lastError, dir: journal.dir, failures: this.journalFailures });
      if (this.queue.length + batch.length <= this.options.maxQueueSize + this.options.batchSize) {
        this.queue.unshift(...batch);
      } else {
        this.drop(batch.length, 'the journal cannot be written');
        for (const event of batch) this.settle(event, error);
      }
      return false;
    }
  }

  private startWriting(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.halted) return;
    if (this.journalsMemory()) while (this.queue.length > 0 && this.spill());
    if (this.writing || !this.hasWork()) return;
    this.writing = this.drain().catch((error: unknown) => {
      // Nothing the writer meets may become an unhandled rejection in the host app; the work stays where it was.
      this.noteError(error);
      this.options.logger.error('The activity writer stopped on an unexpected error; it starts again with the next event', { error: this.lastError });
    }).finally(() => {
      this.writing = undefined;
      if (this.queue.length > 0 && !this.halted) this.timer ??= unrefTimer(() => this.startWriting(), this.options.flushIntervalMs);
    });
  }

  private async drain(): Promise<void> {
    await this.journalReady;
    while (!this.halted) {
      const { journal } = this;
      const entry = journal?.head();
      let events: ActivityEvent[];
      if (journal && entry) {
        const read = await journal.read(entry);
        if (!read.ok) {
          await journal.discardTorn(entry, read.reason);
          continue;
        }
        events = read.events;
      } else if (this.queue.length > 0) {
        events = this.queue.splice(0, this.options.batchSize);
        if (journal && this.options.journalMode === 'write-ahead') {
          await this.journalBatch(events, false);
          continue;
        }
      } else if (journal && journal.writingEvents > 0) {
        await sleep(1);
        continue;
      } else {
        return;
      }

      this.inFlight = { events, entry };
      const outcome = await this.writeOrSplit(events);
      this.inFlight = undefined;
      if (outcome === 'stored') {
        if (entry && journal) {
          await journal.ack(entry);
          this.counts.replayed += events.length;
        }
        if (!this.available) this.options.logger.info('The activity database answers again', { journalPending: journal?.pendingEvents ?? 0 });
        this.available = true;
        this.backoff.reset();
        continue;
      }
      // Closing journaled this batch already.
      if (this.halted) return;

      this.counts.retried++;
      if (this.available) this.options.logger.warn('Writing activity failed; journaling and retrying', { error: this.lastError, batch: events.length });
      this.available = false;
      if (!entry) {
        if (journal) await this.journalBatch(events, true);
        else this.queue.unshift(...events);
      }
      if (journal) while (this.queue.length > 0 && this.spill());
      if (this.halted) return;
      await this.backoff.wait();
    }
  }

  /** 'stored' when the batch is settled (stored, or its invalid rows set aside); 'failed' when the database failed. */
  private async writeOrSplit(batch: ActivityEvent[]): Promise<Outcome> {
    try {
      const store = await this.store();
      await withTimeout(store.writeBatch(batch), this.options.writeTimeoutMs);
      this.counts.written += batch.length;
      for (const event of batch) this.settle(event);
      return 'stored';
    } catch (error) {
      this.noteError(error);
      if (!isDataError(error)) return 'failed';
      if (batch.length === 1) {
        await this.rejectRow(batch[0] as ActivityEvent, error);
        return 'stored';
      }
      const middle = Math.ceil(batch.length / 2);
      const first = await this.writeOrSplit(batch.slice(0, middle));
      if (first === 'failed') return 'failed';
      return this.writeOrSplit(batch.slice(middle));
    }
  }

  private async rejectRow(event: ActivityEvent, error: unknown): Promise<void> {
    const reason = this.lastError ?? 'rejected';
    const code = typeof (error as { code?: unknown }).code === 'string' ? (error as { code: string }).code : null;
    this.counts.rejected++;
    try {
      if (!this.journal) throw new Error('no journal');
      await this.journal.reject(event, reason, code);
      this.options.logger.error('The database rejected an activity row; it is kept in the journal\'s rejects.jsonl', { id: event.id, error: reason, code });
    } catch {
      this.drop(1, 'the database rejected it and the rejects file cannot be written');
      this.options.logger.error('The database rejected an activity row', { id: event.id, error: reason, code, event });
    }
    this.settle(event, error);
  }

  private lagMs(): number {
    const times = [this.inFlight?.events[0], this.queue[0]].map((e) => e?.endTime ?? e?.startTime).filter((t): t is number => typeof t === 'number');
    const journaled = this.journal?.oldestCapturedAt();
    if (journaled != null) times.push(journaled);
    return times.length === 0 ? 0 : Math.max(0, Math.round(Date.now() - Math.min(...times)));
  }

  private drop(count: number, reason: string): void {
    const before = this.counts.dropped;
    this.counts.dropped += count;
    // Every drop is counted; the log says so on the first and then every thousandth.
    if (before === 0 || Math.floor(before / 1000) !== Math.floor(this.counts.dropped / 1000)) {
      this.options.logger.error('Activity event dropped', { reason, dropped: this.counts.dropped, maxQueueSize: this.options.maxQueueSize });
    }
  }

  private noteError(error: unknown): void {
    this.lastError = messageOf(error);
    this.lastErrorAt = new Date().toISOString();
  }

  private settle(event: ActivityEvent, error?: unknown): void {
    const waiter = this.waiters.get(event.id);
    if (!waiter) return;
    this.waiters.delete(event.id);
    if (error === undefined) waiter.resolve();
    else waiter.reject(error);
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ActivityTrackingError('ERR_AT_WRITE_TIMEOUT', `The database did not answer a write within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function unrefTimer(fn: () => void, ms: number): NodeJS.Timeout {
  const timer = setTimeout(fn, ms);
  timer.unref();
  return timer;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => unrefTimer(resolve, ms));
}
