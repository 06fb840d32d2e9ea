import type { Database } from '../database';

/** How much time each dated partition of user_activity covers. */
export type PartitionInterval = 'day' | 'week' | 'month';
export const PARTITION_INTERVALS: readonly PartitionInterval[] = ['day', 'week', 'month'];

/** A partition of user_activity and the created_at range it holds ([from, to)); null bounds are open. */
export interface Partition {
  name: string;
  /** Null for the first partition of an upgraded table (from MINVALUE) and for the default partition. */
  from: Date | null;
  /** Null for the default partition. */
  to: Date | null;
  isDefault: boolean;
}

/*
 * The bounds are read back from the catalog's own text of each partition (FOR VALUES FROM (…) TO (…))
 * and cast in the same session, so the time zone they were printed in is the one they are read in.
 */
const PARTITIONS_SQL = `
  select c.relname as name, b.bound = 'DEFAULT' as is_default,
         (extract(epoch from f.v[1]::timestamptz) * 1000)::float8 as from_ms,
         (extract(epoch from t.v[1]::timestamptz) * 1000)::float8 as to_ms
    from pg_inherits i
    join pg_class c on c.oid = i.inhrelid
    cross join lateral (select pg_get_expr(c.relpartbound, c.oid) as bound) b
    left join lateral (select regexp_match(b.bound, 'FROM \\(''([^'']+)''\\)') as v) f on true
    left join lateral (select regexp_match(b.bound, 'TO \\(''([^'']+)''\\)') as v) t on true
   where i.inhparent = 'user_activity'::regclass
   order by b.bound = 'DEFAULT', t.v[1]::timestamptz nulls last`;

/** The partitions of user_activity, oldest range first, the default partition last. */
export async function listPartitions(db: Database): Promise<Partition[]> {
  const found = (await db.raw(PARTITIONS_SQL)) as { rows: Array<{ name: string; is_default: boolean; from_ms: number | null; to_ms: number | null }> };
  return found.rows.map((r) => ({ name: r.name, isDefault: r.is_default, from: dateOrNull(r.from_ms), to: dateOrNull(r.to_ms) }));
}

/** The start of the UTC period after the one `time` is in (weeks start on Monday, as ISO 8601's). */
export function nextBoundary(time: Date, interval: PartitionInterval): Date {
  const y = time.getUTCFullYear();
  const m = time.getUTCMonth();
  const d = time.getUTCDate();
  if (interval === 'month') return new Date(Date.UTC(y, m + 1, 1));
  if (interval === 'day') return new Date(Date.UTC(y, m, d + 1));
  const sinceMonday = (time.getUTCDay() + 6) % 7;
  return new Date(Date.UTC(y, m, d - sinceMonday + 7));
}

/** The start of the UTC period `time` is in. */
export function periodStart(time: Date, interval: PartitionInterval): Date {
  const next = nextBoundary(time, interval);
  if (interval === 'month') return new Date(Date.UTC(next.getUTCFullYear(), next.getUTCMonth() - 1, 1));
  return new Date(next.getTime() - (interval === 'day' ? 1 : 7) * 86_400_000);
}

export interface EnsurePartitionsOptions {
  interval: PartitionInterval;
  /** Periods after the current one that must already have a partition. */
  ahead: number;
  now?: Date;
}

/**
 * Creates the dated partitions missing from the end of the newest one (or from the start of the
 * current period, on a table that has none) to the end of the period `ahead` periods after now, one
 * per period of `interval` (the first may be shorter, to reach the next period's start), through
 * activity_tracking_create_partition. Ranges never overlap: each starts where the last ended, so a
 * change of interval applies from there on. Returns the names created.
 */
export async function ensurePartitions(db: Database, options: EnsurePartitionsOptions): Promise<string[]> {
  const now = options.now ?? new Date();
  let until = nextBoundary(now, options.interval);
  for (let i = 0; i < options.ahead; i++) until = nextBoundary(until, options.interval);
  const dated = (await listPartitions(db)).filter((p) => !p.isDefault && p.to !== null);
  let from = dated.length > 0 ? (dated[dated.length - 1]?.to as Date) : periodStart(now, options.interval);
  const created: string[] = [];
  while (from < until) {
    const to = nextBoundary(from, options.interval);
    const result = (await db.raw('select activity_tracking_create_partition(?::timestamptz, ?::timestamptz) as name', [from.toISOString(), to.toISOString()])) as { rows: Array<{ name: string | null }> };
    const name = result.rows[0]?.name;
    if (name) created.push(name);
    from = to;
  }
  return created;
}

function dateOrNull(ms: number | null): Date | null {
  return ms === null ? null : new Date(Number(ms));
}
