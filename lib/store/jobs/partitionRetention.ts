import type { Database } from '../database';
import type { Partition } from '../partitions/partitions';
import type { ExpiredPrefix } from './retention';

/** What a dated partition holds: its chain positions, row count and latest start. */
export interface PartitionContent extends ExpiredPrefix {
  partition: string;
  /** The earliest and latest start_time in the partition. */
  earliestStart: Date;
  latestStart: Date;
}

/*
 * Read through the parent with the partition's own created_at range, which PostgreSQL prunes to that
 * one partition: the writer role reads user_activity and no partition by name.
 */
const IN_PARTITION = 'created_at >= ?::timestamptz and created_at < ?::timestamptz';
const STARTS_SQL = `select (extract(epoch from min(start_time)) * 1000)::float8 as earliest_start_ms, (extract(epoch from max(start_time)) * 1000)::float8 as latest_start_ms
  from user_activity where ${IN_PARTITION}`;
const CONTENT_SQL = `select min(chain_position)::text as first, max(chain_position)::text as last, count(*)::text as n from user_activity where ${IN_PARTITION}`;

function rangeOf(partition: Partition): [string, string] {
  if (partition.isDefault || partition.to === null) throw new Error(`partition ${partition.name} has no upper bound`);
  return [partition.from === null ? '-infinity' : partition.from.toISOString(), partition.to.toISOString()];
}

/** The earliest and latest start_time in the partition (a probe at each end of its start_time index), or null when it is empty. */
export async function startsIn(db: Database, partition: Partition): Promise<{ earliest: Date; latest: Date } | null> {
  const found = (await db.raw(STARTS_SQL, rangeOf(partition))) as { rows: Array<{ earliest_start_ms: number | null; latest_start_ms: number | null }> };
  const row = found.rows[0];
  if (!row || row.earliest_start_ms === null || row.latest_start_ms === null) return null;
  return { earliest: new Date(Number(row.earliest_start_ms)), latest: new Date(Number(row.latest_start_ms)) };
}

/** The partition's positions, row count and last hash (a count of its rows), or null when it is empty. */
export async function partitionContent(db: Database, partition: Partition, starts: { earliest: Date; latest: Date }): Promise<PartitionContent | null> {
  const found = (await db.raw(CONTENT_SQL, rangeOf(partition))) as { rows: Array<{ first: string | null; last: string | null; n: string }> };
  const row = found.rows[0];
  if (!row || row.first === null || row.last === null || Number(row.n) === 0) return null;
  const hash = (await db.raw('select row_hash from user_activity where chain_position = ?', [row.last])) as { rows: Array<{ row_hash: string }> };
  return { partition: partition.name, from: Number(row.first), to: Number(row.last), count: Number(row.n), lastHash: String(hash.rows[0]?.row_hash), earliestStart: starts.earliest, latestStart: starts.latest };
}

/** The first position the chain still holds (null when it holds none). */
export async function firstKeptPosition(db: Database): Promise<number | null> {
  const found = (await db.raw('select min(chain_position)::text as first from user_activity')) as { rows: Array<{ first: string | null }> };
  const first = found.rows[0]?.first;
  return first === null || first === undefined ? null : Number(first);
}

/**
 * Detaches and drops the partition through activity_tracking_drop_partition (as the owner), which
 * checks again that a chained retention record covers exactly its rows. The detach waits for the
 * reads in progress on user_activity; it gives up after `lockTimeoutMs` rather than hold every
 * writer behind it, and the next run tries again.
 */
export async function dropPartition(db: Database, name: string, lockTimeoutMs: number): Promise<number> {
  await db.raw(`select set_config('lock_timeout', ?, true)`, [`${lockTimeoutMs}ms`]);
  const dropped = (await db.raw('select activity_tracking_drop_partition(?)::text as n', [name])) as { rows: Array<{ n: string }> };
  return Number(dropped.rows[0]?.n ?? 0);
}
