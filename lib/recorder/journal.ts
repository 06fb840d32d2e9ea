import { promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { ActivityEvent, Logger } from '../types';
import { ActivityTrackingError } from '../errors';
import { checkHeader, decodePayload, encodeRecord, HEADER_BYTES, RECORD_MAGIC } from './journalFormat';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, preparePrivateDirSync, reportFailures } from '../privateFiles';
import { lockPath, newOwnerId, orphanedOwners, releaseOwner, segmentName, touchLock, writeLock } from './journalOwnership';
import { messageOf } from '../util/messageOf';

export interface JournalOptions {
  dir: string;
  logger: Logger;
  /** A segment past this size is closed and a new one started, so replayed segments can be deleted whole. */
  segmentBytes?: number;
  /** How often the lock is refreshed. */
  heartbeatMs?: number;
  /** A lock on another host not refreshed for this long belongs to a process that is gone. */
  staleMs?: number;
  /** Events of the latest batches kept in memory, so that replaying them needs no read. Default 2000. */
  cacheEvents?: number;
  /** Bytes the journal may take on disk; a batch past it is refused (ERR_AT_JOURNAL_FULL). Default: no limit. */
  maxBytes?: number;
}

/** One batch in the journal, not yet stored in the database. */
export interface JournalEntry {
  readonly segment: Segment;
  readonly offset: number;
  readonly bytes: number;
  readonly count: number;
  readonly firstId: string;
  /** Capture time of the batch's first event, for lag. */
  readonly capturedAt: number;
}

interface Segment {
  name: string;
  size: number;
  /** Entries of this segment not yet stored. */
  live: number;
}

interface PendingWrite {
  record: Buffer;
  events: readonly ActivityEvent[];
  front: boolean;
  resolve(): void;
  reject(error: unknown): void;
}

/** A batch read back: its events. */
export type ReadResult = { ok: true; events: ActivityEvent[] } | { ok: false; reason: string };

const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
const DEFAULT_CACHE_EVENTS = 2000;

/**
 * The durable local journal: an append-only file of checksummed batches under the data folder.
 * Fsync policy: a batch counts as journaled only after its bytes are written and the file is
 * fdatasync'd; batches that arrive while one sync runs share the next one (group commit).
 * Replay reads entries oldest first; an entry is removed (its segment deleted or truncated) only
 * after the database committed it.
 */
export class Journal {
  /** This process's name for its segments and lock. */
  readonly owner = newOwnerId();
  private readonly entries: JournalEntry[] = [];
  private readonly segments: Segment[] = [];
  private active: { segment: Segment; handle: FileHandle } | undefined;
  private nextSeq = 0;
  private pending: PendingWrite[] = [];
  private pendingEventCount = 0;
  /** Bytes handed to append() that are not yet counted in a segment's size. */
  private unwrittenBytes = 0;
  private chain: Promise<void> = Promise.resolve();
  private writeScheduled = false;
  private heartbeat: NodeJS.Timeout | undefined;
  private lockWritten = false;
  private closed = false;
  private liveEvents = 0;
  private tornCount = 0;
  /** The latest batches written, so replaying a batch just journaled (write-ahead) needs no read and parse. */
  private readonly recent = new Map<JournalEntry, { events: ActivityEvent[] }>();
  private recentEvents = 0;
  private readonly segmentBytes: number;
  private readonly staleMs: number;

  private constructor(private readonly options: JournalOptions) {
    this.segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    this.staleMs = options.staleMs ?? 60_000;
  }

  /**
   * Creates the folder at once (synchronously, so events can be journaled from the first request),
   * private, with what an older version left in it made private too; adopting what stopped
   * processes left is `adoptOrphans()`'s job.
   */
  static create(options: JournalOptions): Journal {
    reportFailures(preparePrivateDirSync(options.dir), options.logger);
    return new Journal(options);
  }

  /** Creates the folder and adopts what processes that are gone left in it. */
  static async open(options: JournalOptions): Promise<Journal> {
    const journal = Journal.create(options);
    await journal.adoptOrphans();
    return journal;
  }

  get dir(): string {
    return this.options.dir;
  }

  /** Events in the journal not yet stored. */
  get pendingEvents(): number {
    return this.liveEvents;
  }

  /** Events handed to append() whose write has not finished yet. */
  get writingEvents(): number {
    return this.pendingEventCount;
  }

  /** Bytes the journal's segments take on disk. */
  get bytes(): number {
    return this.segments.reduce((n, segment) => n + segment.size, 0);
  }

  /** Torn or corrupt records found so far. */
  get torn(): number {
    return this.tornCount;
  }

  /** The oldest entry not yet stored, skipping the ones the caller is replaying. */
  head(skip?: ReadonlySet<JournalEntry>): JournalEntry | undefined {
    return this.entries.find((entry) => !skip?.has(entry));
  }

  oldestCapturedAt(): number | null {
    return this.entries[0]?.capturedAt ?? null;
  }

  /**
   * Resolves once the batch is durable. `front` places it before every entry already here: a batch
   * that was on its way to the database when it failed is older than anything journaled since.
   */
  append(events: readonly ActivityEvent[], options: { front?: boolean } = {}): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the journal is closed'));
    if (events.length === 0) return Promise.resolve();
    const record = encodeRecord(JSON.stringify(events));
    const maxBytes = this.options.maxBytes ?? Number.POSITIVE_INFINITY;
    // Bytes on their way to disk count too: a batch being written is in neither the segments nor pending.
    if (this.bytes + this.unwrittenBytes + record.length > maxBytes) {
      return Promise.reject(new ActivityTrackingError('ERR_AT_JOURNAL_FULL',
        `The activity journal in ${this.dir} holds ${this.bytes} bytes, and this batch would take it past journal.maxBytes (${maxBytes}). Fix: bring the database back so the journal drains, or raise journal.maxBytes`));
    }
    return new Promise((resolve, reject) => {
      this.pending.push({ record, events, front: options.front ?? false, resolve, reject });
      this.pendingEventCount += events.length;
      this.unwrittenBytes += record.length;
      if (!this.writeScheduled) {
        this.writeScheduled = true;
        this.enqueue(() => this.writePending());
      }
    });
  }

  async read(entry: JournalEntry): Promise<ReadResult> {
    const cached = this.recent.get(entry);
    if (cached) return { ok: true, ...cached };
    let handle: FileHandle | undefined;
    try {
      handle = await fs.open(path.join(this.dir, entry.segment.name), 'r');
      const buffer = Buffer.alloc(entry.bytes);
      const { bytesRead } = await handle.read(buffer, 0, entry.bytes, entry.offset);
      const header = buffer.subarray(0, HEADER_BYTES);
      const check = checkHeader(header);
      if (!check.ok) return check;
      return decodePayload(header, buffer.subarray(HEADER_BYTES, bytesRead), check.payloadBytes);
    } catch (error) {
      return { ok: false, reason: messageOf(error) };
    } finally {
      await handle?.close();
    }
  }

  /** The entry is stored: forget it, and delete or empty its segment once nothing in it is left. */
  ack(entry: JournalEntry): Promise<void> {
    const index = this.entries.indexOf(entry);
    // After close the files belong to the next process; a late commit is skipped there, not trimmed here.
    if (index < 0 || this.closed) return Promise.resolve();
    this.entries.splice(index, 1);
    this.forget(entry);
    this.liveEvents -= entry.count;
    entry.segment.live--;
    // A segment that cannot be removed now is removed with the next one, or replayed (idempotently) by the next process.
    return this.enqueue(() => this.trim(entry.segment)).catch((error: unknown) => {
      this.options.logger.warn('Cannot trim the activity journal', { file: entry.segment.name, error: String(error) });
    });
  }

  /** Keeps an event the database refused, with the reason, in rejects.jsonl (fsync'd). */
  reject(event: ActivityEvent, reason: string, code: string | null): Promise<void> {
    const line = `${JSON.stringify({ rejectedAt: new Date().toISOString(), reason, code, event })}\n`;
    return this.enqueue(async () => {
      const handle = await fs.open(path.join(this.dir, 'rejects.jsonl'), 'a', PRIVATE_FILE_MODE);
      try {
        await handle.write(line);
        await handle.datasync();
      } finally {
        await handle.close();
      }
    });
  }

  /** Keeps the bytes of an entry that no longer reads back, for inspection, and forgets it. */
  async discardTorn(entry: JournalEntry, reason: string): Promise<void> {
    this.tornCount++;
    try {
      await this.enqueue(() => this.saveTorn(entry.segment.name, entry.offset, entry.bytes, reason));
    } catch (error) {
      this.options.logger.error('A journal record was torn or unreadable and could not be kept aside; it was not replayed', { file: entry.segment.name, offset: entry.offset, reason, error: String(error) });
    }
    await this.ack(entry);
  }

  /** Adopts segments whose owners are gone; returns how many batches that added. */
  async adoptOrphans(): Promise<number> {
    if (this.closed) return 0;
    const orphans = await orphanedOwners(this.dir, this.owner, this.staleMs);
    const adopted: JournalEntry[] = [];
    for (const [owner, names] of orphans) {
      for (const name of names) {
        const mine = segmentName(this.owner, this.nextSeq++);
        try {
          await fs.rename(path.join(this.dir, name), path.join(this.dir, mine));
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue; // another process took it first
          throw error;
        }
        await this.ensureLock();
        adopted.push(...(await this.scan(mine, name)));
      }
      await fs.rm(lockPath(this.dir, owner), { force: true });
    }
    if (adopted.length === 0) return 0;
    // Batches another process journaled are older than anything this one captured; within them,
    // event ids (time-ordered) restore capture order even where a failed batch went in front.
    adopted.sort((a, b) => (a.firstId < b.firstId ? -1 : a.firstId > b.firstId ? 1 : 0));
    this.entries.unshift(...adopted);
    const events = adopted.reduce((n, e) => n + e.count, 0);
    this.liveEvents += events;
    this.options.logger.warn('Found activity journaled by a process that stopped; replaying it', { batches: adopted.length, events });
    return adopted.length;
  }

  /** Waits for writes in progress, then lets go of the folder: segments with events stay for the next process. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    await this.chain;
    if (this.active) {
      await this.active.handle.close();
      this.active = undefined;
    }
    for (const segment of this.segments) {
      if (segment.live === 0) await fs.rm(path.join(this.dir, segment.name), { force: true });
    }
    if (this.lockWritten) await fs.rm(lockPath(this.dir, this.owner), { force: true });
    releaseOwner(this.owner);
  }

  private remember(entry: JournalEntry, events: readonly ActivityEvent[]): void {
    this.recent.set(entry, { events: events as ActivityEvent[] });
    this.recentEvents += events.length;
    const limit = this.options.cacheEvents ?? DEFAULT_CACHE_EVENTS;
    while (this.recentEvents > limit && this.recent.size > 0) this.forget(this.recent.keys().next().value as JournalEntry);
  }

  private forget(entry: JournalEntry): void {
    const cached = this.recent.get(entry);
    if (!cached) return;
    this.recent.delete(entry);
    this.recentEvents -= cached.events.length;
  }

  private enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.chain.then(task);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async writePending(): Promise<void> {
    this.writeScheduled = false;
    const batch = this.pending;
    this.pending = [];
    const count = batch.reduce((n, p) => n + p.events.length, 0);
    const bytes = batch.reduce((n, p) => n + p.record.length, 0);
    try {
      const { segment, handle } = await this.activeSegment();
      const start = segment.size;
      try {
        await writeFully(handle, batch.map((p) => p.record));
        await handle.datasync();
      } catch (error) {
        // Part of the bytes may be on disk: later offsets must follow them, and a scan skips them.
        segment.size = (await handle.stat()).size;
        throw error;
      }
      let offset = start;
      const front: JournalEntry[] = [];
      for (const write of batch) {
        const entry: JournalEntry = {
          segment, offset, bytes: write.record.length, count: write.events.length,
          firstId: write.events[0]?.id ?? '', capturedAt: capturedAt(write.events[0]),
        };
        offset += write.record.length;
        segment.live++;
        this.remember(entry, write.events);
        if (write.front) front.push(entry);
        else this.entries.push(entry);
      }
      this.entries.unshift(...front);
      segment.size = offset;
      this.liveEvents += count;
      for (const write of batch) write.resolve();
    } catch (error) {
      for (const write of batch) write.reject(error);
    } finally {
      this.pendingEventCount -= count;
      this.unwrittenBytes -= bytes;
    }
  }

  private async activeSegment(): Promise<{ segment: Segment; handle: FileHandle }> {
    if (this.active && this.active.segment.size < this.segmentBytes) return this.active;
    if (this.active) {
      await this.active.handle.close();
      const old = this.active.segment;
      this.active = undefined;
      await this.trim(old);
    }
    await this.ensureLock();
    const segment: Segment = { name: segmentName(this.owner, this.nextSeq++), size: 0, live: 0 };
    const handle = await fs.open(path.join(this.dir, segment.name), 'a', PRIVATE_FILE_MODE);
    this.segments.push(segment);
    this.active = { segment, handle };
    return this.active;
  }

  private async trim(segment: Segment): Promise<void> {
    if (segment.live > 0) return;
    if (this.active?.segment === segment) {
      if (this.pending.length > 0 || segment.size === 0) return;
      await this.active.handle.truncate(0);
      segment.size = 0;
      return;
    }
    const index = this.segments.indexOf(segment);
    if (index >= 0) this.segments.splice(index, 1);
    await fs.rm(path.join(this.dir, segment.name), { force: true });
  }

  private async ensureLock(): Promise<void> {
    if (this.lockWritten) return;
    await writeLock(this.dir, this.owner);
    this.lockWritten = true;
    this.heartbeat = setInterval(() => {
      touchLock(this.dir, this.owner).catch((error: unknown) => this.options.logger.error('Cannot refresh the activity journal lock', { error: String(error) }));
    }, this.options.heartbeatMs ?? 10_000);
    this.heartbeat.unref();
  }

  /** Reads an adopted segment record by record; what does not check out is kept aside and reported. */
  private async scan(name: string, originalName: string): Promise<JournalEntry[]> {
    const file = path.join(this.dir, name);
    const data = await fs.readFile(file);
    const segment: Segment = { name, size: data.length, live: 0 };
    this.segments.push(segment);
    const entries: JournalEntry[] = [];
    let offset = 0;
    while (offset < data.length) {
      const header = data.subarray(offset, offset + HEADER_BYTES);
      const check = checkHeader(header);
      const result = check.ok
        ? decodePayload(header, data.subarray(offset + HEADER_BYTES, offset + HEADER_BYTES + check.payloadBytes), check.payloadBytes)
        : check;
      if (check.ok && result.ok) {
        const bytes = HEADER_BYTES + check.payloadBytes;
        entries.push({ segment, offset, bytes, count: result.events.length, firstId: result.events[0]?.id ?? '', capturedAt: capturedAt(result.events[0]) });
        segment.live++;
        offset += bytes;
        continue;
      }
      // Skip to the next place a whole, valid record starts (or the end): those bytes are torn.
      const next = nextRecordStart(data, offset + 1);
      this.tornCount++;
      await this.saveTorn(name, offset, next - offset, result.ok ? 'unreadable' : result.reason, originalName);
      offset = next;
    }
    return entries;
  }

  private async saveTorn(name: string, offset: number, bytes: number, reason: string, originalName = name): Promise<void> {
    const tornDir = path.join(this.dir, 'torn');
    await fs.mkdir(tornDir, { recursive: true, mode: PRIVATE_DIR_MODE });
    const handle = await fs.open(path.join(this.dir, name), 'r');
    const buffer = Buffer.alloc(bytes);
    try {
      await handle.read(buffer, 0, bytes, offset);
    } finally {
      await handle.close();
    }
    const target = path.join(tornDir, `${originalName}@${offset}.bin`);
    await fs.writeFile(target, buffer, { mode: PRIVATE_FILE_MODE });
    this.options.logger.error('A journal record was torn or corrupt; it was not replayed', { file: originalName, offset, bytes, reason, keptAt: target });
  }
}

function nextRecordStart(data: Buffer, from: number): number {
  let at = data.indexOf(RECORD_MAGIC, from);
  while (at >= 0) {
    const header = data.subarray(at, at + HEADER_BYTES);
    const check = checkHeader(header);
    if (check.ok && decodePayload(header, data.subarray(at + HEADER_BYTES, at + HEADER_BYTES + check.payloadBytes), check.payloadBytes).ok) return at;
    at = data.indexOf(RECORD_MAGIC, at + 1);
  }
  return data.length;
}

async function writeFully(handle: FileHandle, buffers: Buffer[]): Promise<void> {
  const data = buffers.length === 1 ? (buffers[0] as Buffer) : Buffer.concat(buffers);
  let written = 0;
  while (written < data.length) {
    const { bytesWritten } = await handle.write(data, written, data.length - written);
    written += bytesWritten;
  }
}

function capturedAt(event: ActivityEvent | undefined): number {
  return event?.endTime ?? event?.startTime ?? Date.now();
}
