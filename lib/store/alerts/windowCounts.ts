import type { Knex } from 'knex';

/** What one grouped count reads: rows of user_activity matching `where`, counted per key and fixed window. */
export interface WindowCountQuery {
  /** SQL expression of the key (a column or an expression of columns; never user input). */
  key: string;
  /** SQL condition the counted rows meet, with its bindings. */
  where: string;
  whereBindings?: readonly Knex.Value[];
  /** Extra aggregates, `expression as name` each, with their bindings. */
  measures?: string;
  measureBindings?: readonly Knex.Value[];
  /** The condition a key and window must meet to fire, over the aggregates, with its bindings. */
  having: string;
  havingBindings?: readonly Knex.Value[];
  windowMinutes: number;
  /** Rows from here (the start of a window) up to `until`, inclusive. */
  from: Date;
  until: Date;
}

/** One key and window that met a rule's condition. */
export interface WindowCount {
  key: string;
  windowStart: Date;
  windowEnd: Date;
  count: number;
  firstSeen: Date;
  lastSeen: Date;
  /** The tenant every counted row names; null when some name none or they name several. */
  tenantId: string | null;
  /** The extra aggregates, by name, as the driver returns them. */
  measures: Record<string, unknown>;
}

/**
 * Counts the rows of each key per fixed window (window start = floor(epoch / window) * window, so
 * every evaluation and every process cuts the same windows) and returns those meeting `having`.
 * One statement, bounded on start_time: it runs on the start_time index (or a (column,
 * start_time) index the condition names).
 */
export async function countByKeyAndWindow(knex: Knex, query: WindowCountQuery): Promise<WindowCount[]> {
  const windowSeconds = query.windowMinutes * 60;
  const sql = `
select ${query.key} as alert_key,
  floor(extract(epoch from start_time) / ?::int) as bucket,
  count(*) as matched,
  min(start_time) as first_seen,
  max(start_time) as last_seen,
  case when count(tenant_id) = count(*) and count(distinct tenant_id) = 1 then min(tenant_id) end as tenant_id
  ${query.measures ? `, ${query.measures}` : ''}
from user_activity
where start_time >= ? and start_time <= ? and (${query.where}) and ${query.key} is not null
group by 1, 2
having ${query.having}
order by 2, 1`;
  const result = (await knex.raw(sql, [
    windowSeconds, ...(query.measureBindings ?? []), query.from, query.until, ...(query.whereBindings ?? []), ...(query.havingBindings ?? []),
  ])) as { rows: Array<Record<string, unknown>> };
  return result.rows.map((row) => {
    const windowStart = new Date(Number(row['bucket']) * windowSeconds * 1000);
    const { alert_key: key, bucket: _bucket, matched, first_seen: firstSeen, last_seen: lastSeen, tenant_id: tenantId, ...measures } = row;
    return {
      key: String(key),
      windowStart,
      windowEnd: new Date(windowStart.getTime() + windowSeconds * 1000),
      count: Number(matched),
      firstSeen: asDate(firstSeen),
      lastSeen: asDate(lastSeen),
      tenantId: tenantId === null || tenantId === undefined ? null : String(tenantId),
      measures,
    };
  });
}

/** A user seen in one country, then in another: their rows' consecutive countries that differ. */
export interface CountryMove {
  userId: string;
  fromCountry: string;
  toCountry: string;
  fromTime: Date;
  toTime: Date;
  fromTenant: string | null;
  toTenant: string | null;
}

/**
 * Every change of country between a user's consecutive located rows whose later row started in
 * [from, until] and whose earlier row started at most `lookbackMs` before `from` (so a move that
 * straddles `from` is found). One statement on the start_time index; the rows are few once the
 * unchanged ones are left out.
 */
export async function countryMoves(knex: Knex, range: { from: Date; until: Date }, lookbackMs: number): Promise<CountryMove[]> {
  const result = (await knex.raw(`
select user_id, country, start_time, tenant_id, prev_country, prev_time, prev_tenant
from (
  select user_id, start_time, tenant_id, location->>'country' as country,
    lag(location->>'country') over located as prev_country,
    lag(start_time) over located as prev_time,
    lag(tenant_id) over located as prev_tenant
  from user_activity
  where start_time >= ? and start_time <= ? and user_id is not null and location->>'country' is not null and location->>'country' <> ''
  window located as (partition by user_id order by start_time, id)
) consecutive
where prev_country is not null and prev_country <> country and start_time >= ?
order by user_id, start_time`, [new Date(range.from.getTime() - lookbackMs), range.until, range.from])) as { rows: Array<Record<string, unknown>> };
  return result.rows.map((row) => ({
    userId: String(row['user_id']),
    fromCountry: String(row['prev_country']),
    toCountry: String(row['country']),
    fromTime: asDate(row['prev_time']),
    toTime: asDate(row['start_time']),
    fromTenant: (row['prev_tenant'] as string | null) ?? null,
    toTenant: (row['tenant_id'] as string | null) ?? null,
  }));
}

export function asDate(value: unknown): Date {
  return value instanceof Date ? value : new Date(value as string);
}
