import type { Knex } from 'knex';
import type { Database } from '../database';
import { DIMENSION_VALUES, HOURLY_DIMENSION_VALUES } from './dimensions';

/**
 * The lock that keeps building, merging and forgetting rollups apart: each holds it for its
 * transaction, so a rollup never counts rows that retention removed meanwhile. Not the rollups
 * job's own lock (`activity_tracking:rollups`, lib/store/jobs/jobLock.ts), which the job holds
 * on another connection while it runs.
 */
const ROLLUP_LOCK = 'activity_tracking:rollup-tables';

async function lockRollups(trx: Knex.Transaction): Promise<void> {
  await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [ROLLUP_LOCK]);
}

/** A rollup granularity: its table of counts, its table of built buckets and a row's bucket. */
interface Granularity {
  rollups: string;
  built: string;
  column: 'day' | 'hour';
  bucketOf: string;
  dimensions: string;
}

const DAILY: Granularity = { rollups: 'activity_daily_rollups', built: 'activity_rollup_days', column: 'day', bucketOf: `(u.start_time at time zone 'UTC')::date`, dimensions: DIMENSION_VALUES };
// date_trunc on the UTC time, not on the timestamptz: the session's time zone must not move hours.
const HOURLY: Granularity = { rollups: 'activity_hourly_rollups', built: 'activity_rollup_hours', column: 'hour', bucketOf: `(date_trunc('hour', u.start_time at time zone 'UTC') at time zone 'UTC')`, dimensions: HOURLY_DIMENSION_VALUES };

/**
 * Adds the rows with chain_position in (`after`, `through`] and start_time in [`from`, `to`) of the
 * built buckets to their rollups, each row only once: only rows past its bucket's
 * built_through_position. Every column adds up, so a bucket built earlier takes its late rows the same way.
 */
function mergeSql(g: Granularity): string {
  return `
insert into ${g.rollups} as r (${g.column}, tenant_id, owner_id, dimension, key, key2, count, errors, duration_sum, duration_count, max_start)
select ${g.bucketOf}, u.tenant_id, u.owner_id, d.dimension, d.key, d.key2,
       count(*), count(*) filter (where not u.success), sum(u.duration), count(u.duration), max(u.start_time)
  from user_activity u
  join ${g.built} b on b.${g.column} = ${g.bucketOf}
  cross join lateral ${g.dimensions}
 where u.chain_position > ? and u.chain_position <= ? and u.chain_position > b.built_through_position
   and u.start_time >= ? and u.start_time < ?
   and d.dimension is not null
 group by 1, 2, 3, 4, 5, 6
on conflict (dimension, ${g.column}, tenant_id, owner_id, key, key2) do update set
  count = r.count + excluded.count,
  errors = r.errors + excluded.errors,
  duration_sum = coalesce(r.duration_sum + excluded.duration_sum, r.duration_sum, excluded.duration_sum),
  duration_count = r.duration_count + excluded.duration_count,
  max_start = greatest(r.max_start, excluded.max_start)`;
}

/** Far past and future bounds for a merge that is not limited to some buckets. */
const EVERY_TIME: [Date, Date] = [new Date('0001-01-01T00:00:00Z'), new Date('9999-01-01T00:00:00Z')];
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

async function chainHeadPosition(trx: Knex.Transaction): Promise<number> {
  const result = (await trx.raw('select coalesce(max(chain_position), 0) as head from user_activity')) as { rows: Array<{ head: unknown }> };
  return Number(result.rows[0]?.head ?? 0);
}

/**
 * Brings the built days and hours up to the chain's head: rows stored since for them (journal
 * replay, backdated events) join their rollups. Reads only the rows appended since the last run,
 * through the chain_position key. Returns the rollup groups that took rows.
 */
export async function mergeLateRows(db: Database): Promise<number> {
  return db.transaction(async (trx) => {
    await lockRollups(trx);
    // Positions are given out under the chain lock and committed in order: every one up to the head read here is visible.
    const head = await chainHeadPosition(trx);
    let merged = 0;
    for (const g of [DAILY, HOURLY]) {
      const oldest = (await trx.raw(`select min(built_through_position) as position from ${g.built}`)) as { rows: Array<{ position: unknown }> };
      const after = oldest.rows[0]?.position;
      if (after === null || after === undefined || Number(after) >= head) continue;
      const result = (await trx.raw(mergeSql(g), [Number(after), head, ...EVERY_TIME])) as { rowCount?: number };
      merged += Number(result.rowCount ?? 0);
      await trx.raw(`update ${g.built} set built_through_position = ? where built_through_position < ?`, [head, head]);
    }
    return merged;
  });
}

/**
 * Builds one closed UTC day (`YYYY-MM-DD`) and its 24 hours from their rows up to the chain's
 * head, replacing what was built for them.
 */
export async function buildRollupDay(db: Database, day: string): Promise<void> {
  const from = new Date(`${day}T00:00:00.000Z`);
  const to = new Date(from.getTime() + DAY_MS);
  await db.transaction(async (trx) => {
    await lockRollups(trx);
    const head = await chainHeadPosition(trx);
    await trx.raw('delete from activity_rollup_days where day = ?', [day]);
    await trx.raw('delete from activity_rollup_hours where hour >= ? and hour < ?', [from, to]);
    await trx.raw('insert into activity_rollup_days (day, built_through_position) values (?, ?)', [day, 0]);
    await trx.raw('insert into activity_rollup_hours (hour, built_through_position) select generate_series(?::timestamptz, ?::timestamptz, interval \'1 hour\'), 0', [from, new Date(to.getTime() - HOUR_MS)]);
    await trx.raw(mergeSql(DAILY), [0, head, from, to]);
    await trx.raw(mergeSql(HOURLY), [0, head, from, to]);
    await trx.raw('update activity_rollup_days set built_through_position = ? where day = ?', [head, day]);
    await trx.raw('update activity_rollup_hours set built_through_position = ? where hour >= ? and hour < ?', [head, from, to]);
  });
}

/** Builds one closed UTC hour (its start) from its rows up to the chain's head, replacing what was built for it. */
export async function buildRollupHour(db: Database, hour: Date): Promise<void> {
  const to = new Date(hour.getTime() + HOUR_MS);
  await db.transaction(async (trx) => {
    await lockRollups(trx);
    const head = await chainHeadPosition(trx);
    await trx.raw('delete from activity_rollup_hours where hour = ?', [hour]);
    await trx.raw('insert into activity_rollup_hours (hour, built_through_position) values (?, ?)', [hour, 0]);
    await trx.raw(mergeSql(HOURLY), [0, head, hour, to]);
    await trx.raw('update activity_rollup_hours set built_through_position = ? where hour = ?', [head, hour]);
  });
}

/**
 * Forgets the rollups of every day (and its hours) that has rows at chain positions
 * `fromPosition` to `toPosition`, which retention is about to remove (call it in the transaction
 * that removes them): those days are read from user_activity again until they are rebuilt.
 */
export async function forgetRollupDays(trx: Knex.Transaction, positions: { fromPosition: number; toPosition: number }): Promise<void> {
  await lockRollups(trx);
  const range = (await trx.raw(`select min(start_time at time zone 'UTC')::date as first, max(start_time at time zone 'UTC')::date + 1 as next
      from user_activity where chain_position between ? and ?`, [positions.fromPosition, positions.toPosition])) as { rows: Array<{ first: unknown; next: unknown }> };
  const { first, next } = range.rows[0] ?? {};
  if (first === null || first === undefined) return;
  await forgetDays(trx, first as string, next as string);
}

/**
 * The same for rows whose starts are known to lie in [earliest, latest] (a whole partition's, read
 * from its start_time index): no pass over the rows, which a month of them would make long under
 * the chain lock.
 */
export async function forgetRollupStarts(trx: Knex.Transaction, starts: { earliest: Date; latest: Date }): Promise<void> {
  await lockRollups(trx);
  const day = (time: Date): string => time.toISOString().slice(0, 10);
  await forgetDays(trx, day(starts.earliest), day(new Date(starts.latest.getTime() + 86_400_000)));
}

async function forgetDays(trx: Knex.Transaction, first: string, next: string): Promise<void> {
  await trx.raw('delete from activity_rollup_days where day >= ?::date and day < ?::date', [first, next]);
  await trx.raw(`delete from activity_rollup_hours where hour >= (?::date)::timestamp at time zone 'UTC' and hour < (?::date)::timestamp at time zone 'UTC'`, [first, next]);
}

/** The built days from `fromDay` to `toDay` (`YYYY-MM-DD`, inclusive). */
export async function builtDays(db: Database, fromDay: string, toDay: string): Promise<Array<{ day: string; builtThrough: number }>> {
  const result = (await db.raw(`select to_char(day, 'YYYY-MM-DD') as day, built_through_position from activity_rollup_days where day between ?::date and ?::date order by day`, [fromDay, toDay])) as { rows: Array<{ day: string; built_through_position: unknown }> };
  return result.rows.map((r) => ({ day: r.day, builtThrough: Number(r.built_through_position) }));
}

/**
 * The built hours in [`from`, `to`) (epoch milliseconds) other than those of the built days in
 * [`skipFrom`, `skipTo`) (whole days a report reads from the daily rollups).
 */
export async function builtHours(db: Database, from: number, to: number, skipFrom: number, skipTo: number): Promise<Array<{ hour: number; builtThrough: number }>> {
  const result = (await db.raw(`select (extract(epoch from h.hour) * 1000)::bigint as hour, h.built_through_position from activity_rollup_hours h
      where h.hour >= ? and h.hour < ?
        and not (h.hour >= ? and h.hour < ? and exists (select 1 from activity_rollup_days d where d.day = (h.hour at time zone 'UTC')::date))
      order by h.hour`, [new Date(from), new Date(to), new Date(skipFrom), new Date(skipTo)])) as { rows: Array<{ hour: unknown; built_through_position: unknown }> };
  return result.rows.map((r) => ({ hour: Number(r.hour), builtThrough: Number(r.built_through_position) }));
}
