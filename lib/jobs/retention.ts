import type { Knex } from 'knex';
import { uuidv7 } from '../util/ids';
import { appendToChain, lockChain } from '../store/activityStore';
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
export async function removeExpiredActivity(knex: Knex, options: RetentionOptions): Promise<RetentionResult> {
  const cutoff = new Date((options.now ?? new Date()).getTime() - options.retentionDays * 86_400_000);
  const batchSize = options.batchSize ?? RETENTION_BATCH_SIZE;
  const result: RetentionResult = { cutoff: cutoff.toISOString(), removed: 0, fromPosition: null, toPosition: null, batches: 0, dryRun: options.dryRun === true };

  if (options.dryRun) {
    const removable = await expiredPrefix(knex, cutoff, Number.MAX_SAFE_INTEGER);
    if (removable) Object.assign(result, { removed: removable.count, fromPosition: removable.from, toPosition: removable.to });
    return result;
  }

  for (;;) {
    const batch = await knex.transaction(async (trx) => {
      await lockChain(trx);
      const prefix = await expiredPrefix(trx, cutoff, batchSize);
      if (!prefix) return null;
      await appendToChain(trx, [retentionRecord(prefix, cutoff, options.job)], options.signingKey);
      const head = (await trx('user_activity').select('chain_position').orderBy('chain_position', 'desc').first()) as { chain_position: unknown };
      await trx('activity_retention').insert({
        from_position: prefix.from, to_position: prefix.to, removed: prefix.count, last_removed_hash: prefix.lastHash,
        cutoff, job: options.job, record_position: Number(head.chain_position),
      });
      // Through the function, which runs as the tables' owner: the app's writer role may not delete rows itself.
      await trx.raw('select activity_tracking_remove_prefix(?::bigint, ?::bigint)', [prefix.from, prefix.to]);
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

interface Prefix {
  from: number;
  to: number;
  count: number;
  lastHash: string;
}

/**
 * The longest run of kept rows, from the first kept position, that all started before the cutoff
 * (at most `limit`). Uses the chain_position key: the first row after the run stops the scan.
 */
async function expiredPrefix(knex: Knex | Knex.Transaction, cutoff: Date, limit: number): Promise<Prefix | null> {
  const result = (await knex.raw(`
    with kept as (
      select chain_position, row_hash, start_time < ? as expired
        from user_activity
       order by chain_position
       limit ?
    ), run as (
      select chain_position, row_hash,
             bool_and(expired) over (order by chain_position rows between unbounded preceding and current row) as in_prefix
        from kept
    )
    select min(chain_position) as from_position, max(chain_position) as to_position, count(*) as removed,
           (array_agg(row_hash order by chain_position desc))[1] as last_hash
      from run where in_prefix`, [cutoff, limit === Number.MAX_SAFE_INTEGER ? null : limit])) as { rows: Array<Record<string, unknown>> };
  const row = result.rows[0];
  const count = Number(row?.['removed'] ?? 0);
  if (!row || count === 0) return null;
  return { from: Number(row['from_position']), to: Number(row['to_position']), count, lastHash: String(row['last_hash']) };
}

function retentionRecord(prefix: Prefix, cutoff: Date, job: RetentionOptions['job']): ActivityEvent {
  const now = Date.now();
  return {
    id: uuidv7(now), userId: null, sessionId: null, activityType: 'system_action', entityType: 'activity_trail', entityId: null,
    action: 'retention.removed',
    details: { fromPosition: prefix.from, toPosition: prefix.to, removed: prefix.count, lastRemovedHash: prefix.lastHash, cutoff: cutoff.toISOString(), job },
    ipAddress: null, userAgent: null, browser: null, operatingSystem: null, deviceInfo: null, location: null, duration: null,
    startTime: now, endTime: null, method: null, path: null, route: null, statusCode: null, success: true, requestSize: null, responseSize: null,
  };
}
