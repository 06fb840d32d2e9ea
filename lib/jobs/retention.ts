import { systemEvent } from '../store/systemEvent';
import { appendToChain } from '../store/activityStore';
import type { Database } from '../store/database';
import { chainHead } from '../store/chain/head';
import { withChainLock } from '../store/chain/lock';
import { expiredPrefix, recordRetentionRun, removeChainPrefix, type ExpiredPrefix } from '../store/jobs/retention';
import type { ActivityEvent } from '../types';
import type { BatchSigningKey } from '../integrity/batchSignatures';

/** Rows removed per transaction: a run never holds one statement over the whole table. */
export const RETENTION_BATCH_SIZE = 1000;

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
}

export interface RetentionResult {
  cutoff: string;
  /** Rows removed (or that would be, on a dry run). */
  removed: number;
  /** Chain positions removed, or null when nothing was. */
  fromPosition: number | null;
  toPosition: number | null;
  batches: number;
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
  const batchSize = options.batchSize ?? RETENTION_BATCH_SIZE;
  const result: RetentionResult = { cutoff: cutoff.toISOString(), removed: 0, fromPosition: null, toPosition: null, batches: 0, dryRun: options.dryRun === true };

  if (options.dryRun) {
    const removable = await expiredPrefix(db, cutoff, null);
    if (removable) Object.assign(result, { removed: removable.count, fromPosition: removable.from, toPosition: removable.to });
    return result;
  }

  for (;;) {
    const batch = await withChainLock(db, async (trx) => {
      const prefix = await expiredPrefix(trx, cutoff, batchSize);
      if (!prefix) return null;
      await appendToChain(trx, [retentionRecord(prefix, cutoff, options.job)], options.signingKey);
      // The record just appended is the head: the lock keeps every other writer out.
      await recordRetentionRun(trx, { prefix, cutoff, job: options.job, recordPosition: (await chainHead(trx)).position });
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

function retentionRecord(prefix: ExpiredPrefix, cutoff: Date, job: RetentionOptions['job']): ActivityEvent {
  return systemEvent({
    entityType: 'activity_trail', action: 'retention.removed',
    details: { fromPosition: prefix.from, toPosition: prefix.to, removed: prefix.count, lastRemovedHash: prefix.lastHash, cutoff: cutoff.toISOString(), job },
  });
}
