import { systemEvent } from '../store/systemEvent';
import { ActivityTrackingError } from '../errors';
import { appendToChain } from '../store/activityStore';
import type { Database } from '../store/database';
import { chainHead } from '../store/chain/head';
import { withChainLock } from '../store/chain/lock';
import { forgetRollupDays, forgetRollupStarts } from '../store/rollups/build';
import { expiredPrefix, recordRetentionRun, removeChainPrefix, type ExpiredPrefix } from '../store/jobs/retention';
import type { ActivityEvent } from '../types';
import type { BatchSigningKey } from '../integrity/batchSignatures';
import { listPartitions } from '../store/partitions/partitions';
import { dropPartition, firstKeptPosition, partitionContent, startsIn, type PartitionContent } from '../store/jobs/partitionRetention';
import type { ArchiveSink } from '../archive/sink';
import { archiveBeforeRemoval, type ArchivedRemoval } from './retentionArchive';

/** How long dropping a partition waits for the reads in progress on user_activity before it gives up until the next run. */
export const PARTITION_DROP_LOCK_TIMEOUT_MS = 10_000;
/** Rows removed per transaction: a run never holds one statement over the whole table. */
export const RETENTION_BATCH_SIZE = 1000;
/** Rows per transaction, and per archive, when retention archives: fewer, larger archives. */
export const ARCHIVED_BATCH_SIZE = 10_000;

export interface RetentionOptions {
  retentionDays: number;
  /** Who removes: recorded in the chain's retention record and in activity_retention. */
  job: 'retention-job' | 'cleanup-command';
  /** Report what would be removed, remove nothing. */
  dryRun?: boolean;
  batchSize?: number;
  /** The time the cutoff is measured from. Default: now. */
  now?: Date;
  /** The writer's key: each retention record is signed as it joins the chain. Default: none. */
  signingKey?: BatchSigningKey | null;
  /**
   * Archive what each transaction removes first (lib/archive), and remove it only once the archive
   * reads back intact; its retention record names the archive. Default: none.
   */
  archive?: ArchiveSink | null;
}

export interface RetentionResult {
  cutoff: string;
  /** Rows removed (or that would be, on a dry run). */
  removed: number;
  /** Chain positions removed, or null when nothing was. */
  fromPosition: number | null;
  toPosition: number | null;
  batches: number;
  /** Whole partitions dropped (each counted in removed and in batches), oldest first. */
  partitionsDropped: string[];
  /** The archives written, one per partition or batch, with the time each took to write and read back. */
  archives: Array<{ name: string; rows: number; ms: number }>;
  dryRun: boolean;
}

/**
 * Removes activity that started before the retention cutoff, oldest chain positions first, in
 * batches of one transaction each, under the chain lock. Each batch first appends a retention
 * record to the chain (the range, the count, the hash of the last removed row and the cutoff): that
 * chained record is what lets the append-only trigger allow exactly these deletes, and what verify
 * checks the gap against. The run is also listed in activity_retention, an index that authorizes
 * nothing. Rows leave only as a prefix of the chain: an old row behind a newer one waits until
 * everything before it has gone.
 */
export async function removeExpiredActivity(db: Database, options: RetentionOptions): Promise<RetentionResult> {
  const cutoff = new Date((options.now ?? new Date()).getTime() - options.retentionDays * 86_400_000);
  const batchSize = options.batchSize ?? (options.archive ? ARCHIVED_BATCH_SIZE : RETENTION_BATCH_SIZE);
  const result: RetentionResult = { cutoff: cutoff.toISOString(), removed: 0, fromPosition: null, toPosition: null, batches: 0, partitionsDropped: [], archives: [], dryRun: options.dryRun === true };
  const archive = async (prefix: ExpiredPrefix): Promise<ArchivedRemoval | null> => {
    if (!options.archive) return null;
    const started = performance.now();
    const archived = await archiveBeforeRemoval(db, options.archive, prefix, cutoff, options.signingKey);
    result.archives.push({ name: archived.name, rows: prefix.count, ms: performance.now() - started });
    return archived;
  };

  if (options.dryRun) {
    const removable = await expiredPrefix(db, cutoff, null);
    if (removable) Object.assign(result, { removed: removable.count, fromPosition: removable.from, toPosition: removable.to });
    return result;
  }

  for (const removed of await removeExpiredPartitions(db, cutoff, options, archive)) {
    result.batches++;
    result.removed += removed.count;
    result.fromPosition ??= removed.from;
    result.toPosition = removed.to;
    result.partitionsDropped.push(removed.partition);
  }

  for (;;) {
    // With an archive, the prefix is archived before the lock is taken (rows never change), and must be the same under it.
    const archived = options.archive ? await expiredPrefix(db, cutoff, batchSize) : null;
    if (options.archive && !archived) break;
    const archivedAs = archived ? await archive(archived) : null;
    const batch = await withChainLock(db, async (trx) => {
      const prefix = await expiredPrefix(trx, cutoff, batchSize);
      if (!prefix) return null;
      if (archived && !samePrefix(prefix, archived)) throw new ActivityTrackingError('ERR_AT_ARCHIVE', `Retention stopped: chain positions ${archived.from} to ${archived.to} changed while they were archived (another retention run?). Fix: nothing; the next run archives again`);
      await appendToChain(trx, [retentionRecord(prefix, cutoff, options.job, undefined, archivedAs)], options.signingKey);
      // The record just appended is the head: the lock keeps every other writer out.
      await recordRetentionRun(trx, { prefix, cutoff, job: options.job, recordPosition: (await chainHead(trx)).position });
      // Days losing rows are read from user_activity again, never from rollups that still count them.
      await forgetRollupDays(trx, { fromPosition: prefix.from, toPosition: prefix.to });
      await removeChainPrefix(trx, prefix.from, prefix.to);
      return prefix;
    });
    if (!batch) break;
    result.batches++;
    result.removed += batch.count;
    result.fromPosition ??= batch.from;
    result.toPosition = batch.to;
    if (batch.count < batchSize) break;
  }
  return result;
}

/**
 * Drops, oldest first, the dated partitions whose range has passed, once all their rows have expired and form the chain's prefix, each in one transaction under the chain lock: the
 * retention record covering exactly its positions joins the chain (in a newer partition), then the
 * partition is detached and dropped (activity_tracking_drop_partition checks the record again). It
 * stops at the first partition that does not qualify (a row started after the cutoff, or one sits
 * behind an older row elsewhere): the batched deletes take the rest. A partition's content is read
 * before the lock is taken: no row is stored in a range that has passed, and the drop checks anyway.
 */
async function removeExpiredPartitions(db: Database, cutoff: Date, options: RetentionOptions, archive: (prefix: ExpiredPrefix) => Promise<ArchivedRemoval | null>): Promise<PartitionContent[]> {
  const dropped: PartitionContent[] = [];
  for (const partition of await listPartitions(db)) {
    // A range still open may yet take rows (and would take this run's own record).
    if (partition.isDefault || partition.to === null || partition.to.getTime() > Date.now()) break;
    const starts = await startsIn(db, partition);
    if (starts !== null && starts.latest >= cutoff) break;
    const content = starts === null ? null : await partitionContent(db, partition, starts);
    if (content !== null && (content.count !== content.to - content.from + 1 || await firstKeptPosition(db) !== content.from)) break;
    const archivedAs = content === null ? null : await archive(content);
    const removed = await withChainLock(db, async (trx) => {
      if (content === null) return dropPartition(trx, partition.name, PARTITION_DROP_LOCK_TIMEOUT_MS);
      if (await firstKeptPosition(trx) !== content.from) return null;
      await appendToChain(trx, [retentionRecord(content, cutoff, options.job, content.partition, archivedAs)], options.signingKey);
      await recordRetentionRun(trx, { prefix: content, cutoff, job: options.job, recordPosition: (await chainHead(trx)).position });
      await forgetRollupStarts(trx, { earliest: content.earliestStart, latest: content.latestStart });
      return dropPartition(trx, partition.name, PARTITION_DROP_LOCK_TIMEOUT_MS);
    });
    if (removed === null) break;
    if (content !== null) dropped.push(content);
  }
  return dropped;
}

function retentionRecord(prefix: ExpiredPrefix, cutoff: Date, job: RetentionOptions['job'], partition?: string, archive?: ArchivedRemoval | null): ActivityEvent {
  return systemEvent({
    entityType: 'activity_trail', action: 'retention.removed',
    details: {
      fromPosition: prefix.from, toPosition: prefix.to, removed: prefix.count, lastRemovedHash: prefix.lastHash, cutoff: cutoff.toISOString(), job,
      ...(partition === undefined ? {} : { partition }),
      ...(archive ? { archive: { name: archive.name, dataSha256: archive.dataSha256 } } : {}),
    },
  });
}

function samePrefix(a: ExpiredPrefix, b: ExpiredPrefix): boolean {
  return a.from === b.from && a.to === b.to && a.count === b.count && a.lastHash === b.lastHash;
}
