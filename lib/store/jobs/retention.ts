import type { Database } from '../database';

/** A run of chain positions, oldest first, that retention may remove: all kept rows from the first one on that started before the cutoff. */
export interface ExpiredPrefix {
  from: number;
  to: number;
  count: number;
  /** row_hash of the row at `to`. */
  lastHash: string;
}

const PREFIX_SQL = `
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
      from run where in_prefix`;

/**
 * The longest run of kept rows, from the first kept position, that all started before the cutoff
 * (at most `limit`; null: no limit), or null when the first kept row is not expired. Uses the
 * chain_position key: the first row after the run stops the scan.
 */
export async function expiredPrefix(db: Database, cutoff: Date, limit: number | null): Promise<ExpiredPrefix | null> {
  const result = (await db.raw(PREFIX_SQL, [cutoff, limit])) as { rows: Array<Record<string, unknown>> };
  const row = result.rows[0];
  const count = Number(row?.['removed'] ?? 0);
  if (!row || count === 0) return null;
  return { from: Number(row['from_position']), to: Number(row['to_position']), count, lastHash: String(row['last_hash']) };
}

/** Lists a retention batch in activity_retention, the index of runs (it authorizes nothing: the chained record does). */
export async function recordRetentionRun(db: Database, run: { prefix: ExpiredPrefix; cutoff: Date; job: string; recordPosition: bigint }): Promise<void> {
  const { prefix } = run;
  await db('activity_retention').insert({
    from_position: prefix.from, to_position: prefix.to, removed: prefix.count, last_removed_hash: prefix.lastHash,
    cutoff: run.cutoff, job: run.job, record_position: Number(run.recordPosition),
  });
}

/**
 * Deletes the positions `from` to `to` through activity_tracking_remove_prefix, which runs as the
 * tables' owner: the app's writer role may not delete rows itself, and the append-only trigger
 * still lets a row go only when a chained retention record covers it.
 */
export async function removeChainPrefix(db: Database, from: number, to: number): Promise<void> {
  await db.raw('select activity_tracking_remove_prefix(?::bigint, ?::bigint)', [from, to]);
}
