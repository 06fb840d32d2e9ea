import type { Knex } from 'knex';
import type { Database } from '../database';
import { dimension, type DimensionName } from '../rollups/dimensions';
import type { RollupPlan } from '../rollups/plan';
import { tenantCondition, type TenantScope } from './tenantScope';

/**
 * The reads of GET /stats, GET /compliance-report and GET /me/summary over a rollup plan: each is
 * one statement that adds up the rollups of the whole days and the same aggregate over the rows
 * the plan reads from user_activity. Keys, conditions and orders are constants of the callers.
 */
export interface RollupSource {
  db: Database;
  plan: RollupPlan;
  scope: TenantScope;
  /** Only this user's rows (GET /me/summary): the rollups' user_type and user_session keys. */
  userId?: string;
}

export interface Sql { sql: string; bindings: Knex.RawBinding[] }

const ROLLUP_COLUMNS = 'tenant_id, owner_id, key, key2, count, errors, duration_sum, duration_count, max_start';

/**
 * The rollup rows of a dimension in the plan's days and hours and the scope (alias r): the daily
 * and the hourly rollups as one set of rows.
 */
function rollupRows(source: RollupSource, name: DimensionName, extra: Sql[] = []): Sql {
  const { days, hours } = source.plan;
  const branches: string[] = [];
  const bindings: Knex.RawBinding[] = [];
  if (days.length > 0) {
    branches.push(`select ${ROLLUP_COLUMNS} from activity_daily_rollups where dimension = ? and (${days.map(() => 'day between ?::date and ?::date').join(' or ')})`);
    bindings.push(name, ...days.flat());
  }
  if (hours.length > 0 && dimension(name).hourly !== false) {
    branches.push(`select ${ROLLUP_COLUMNS} from activity_hourly_rollups where dimension = ? and (${hours.map(() => '(hour >= ? and hour < ?)').join(' or ')})`);
    bindings.push(name, ...hours.flatMap(([from, to]) => [new Date(from), new Date(to)]));
  }
  // A plan has days or hours; an empty branch list cannot happen, but must not make invalid SQL.
  if (branches.length === 0) branches.push(`select ${ROLLUP_COLUMNS} from activity_daily_rollups where false`);
  const where = ['true'];
  const scope = tenantCondition(source.scope, 'r', ['tenant_id', 'owner_id']);
  if (scope) { where.push(scope.sql); bindings.push(...scope.bindings); }
  if (source.userId !== undefined) { where.push('r.key = ?'); bindings.push(source.userId); }
  for (const e of extra) { where.push(e.sql); bindings.push(...e.bindings); }
  return { sql: `from (${branches.join(' union all ')}) r where ${where.join(' and ')}`, bindings };
}

/** The user_activity rows the plan reads, counted in dimension `name`, in the scope. */
function rawRows(source: RollupSource, name: DimensionName, extra: Sql[] = []): Sql {
  const { rows, hourly } = dimension(name);
  const raw = hourly === false ? source.plan.rawWithoutHours : source.plan.raw;
  const where = [raw.sql];
  const bindings: Knex.RawBinding[] = [...raw.bindings];
  const scope = tenantCondition(source.scope);
  if (scope) { where.push(scope.sql); bindings.push(...scope.bindings); }
  if (source.userId !== undefined) { where.push('user_activity.user_id = ?'); bindings.push(source.userId); }
  if (rows !== null) where.push(`(${rows})`);
  for (const e of extra) { where.push(e.sql); bindings.push(...e.bindings); }
  return { sql: `from user_activity where ${where.join(' and ')}`, bindings };
}

/**
 * Runs one read without parallel workers: it reads some thousands of rollup rows and the rows of
 * partial hours, and starting workers cost more than they saved (measured: /stats over 30 days of
 * 3M rows 481 ms with them, 310 ms without), while the report runs its reads side by side already.
 */
async function rowsOf(source: RollupSource, sql: string, bindings: Knex.RawBinding[]): Promise<Array<Record<string, unknown>>> {
  return source.db.transaction(async (trx) => {
    await trx.raw('set local max_parallel_workers_per_gather = 0');
    return ((await trx.raw(sql, bindings)) as { rows: Array<Record<string, unknown>> }).rows;
  });
}

export interface RollupGroup { key: string | null; count: number; errors: number }

/**
 * Rows (and failures) per key of a dimension, ordered by `order` (over the columns key and count),
 * at most `limit`. `of`: which key ('key2' for user_type and user_session).
 */
export async function rollupGroups(source: RollupSource, name: DimensionName, options: { order: string; limit?: number; of?: 'key' | 'key2'; rollupExtra?: Sql[]; rawExtra?: Sql[] }): Promise<RollupGroup[]> {
  const d = dimension(name);
  const column = options.of ?? 'key';
  const rawKey = column === 'key' ? d.key : d.key2 ?? 'null';
  const rolled = rollupRows(source, name, options.rollupExtra);
  const raw = rawRows(source, name, options.rawExtra);
  const rows = await rowsOf(source, `select key, sum(count) as count, sum(errors) as errors from (
      select r.${column} as key, r.count, r.errors ${rolled.sql}
      union all
      select (${rawKey})::text, count(*), count(*) filter (where not success) ${raw.sql} group by 1
    ) g group by key order by ${options.order}${options.limit === undefined ? '' : ' limit ?'}`,
  [...rolled.bindings, ...raw.bindings, ...(options.limit === undefined ? [] : [options.limit])]);
  return rows.map((r) => ({ key: r['key'] === null || r['key'] === undefined ? null : String(r['key']), count: Number(r['count']), errors: Number(r['errors']) }));
}

/** How many distinct keys a dimension has over the plan (non-null ones: the dimensions store no null key they count). */
export async function rollupDistinct(source: RollupSource, name: DimensionName, of: 'key' | 'key2'): Promise<number> {
  const d = dimension(name);
  const rawKey = of === 'key' ? d.key : d.key2 ?? 'null';
  const rolled = rollupRows(source, name);
  const raw = rawRows(source, name);
  const rows = await rowsOf(source, `select count(*) as n from (select r.${of} as key ${rolled.sql} union select (${rawKey})::text ${raw.sql}) g`, [...rolled.bindings, ...raw.bindings]);
  return Number(rows[0]?.['n'] ?? 0);
}

export interface RollupTotals { total: number; errors: number; durationSum: number | null; durationCount: number; lastActivity: unknown }

/** Rows, failures, the durations' sum and count and the latest start over a dimension's rows (`extra`: which of them). */
export async function rollupTotals(source: RollupSource, name: DimensionName, extra: { rollup?: Sql[]; raw?: Sql[] } = {}): Promise<RollupTotals> {
  const rolled = rollupRows(source, name, extra.rollup);
  const raw = rawRows(source, name, extra.raw);
  const rows = await rowsOf(source, `select sum(count) as total, sum(errors) as errors, sum(duration_sum) as duration_sum, sum(duration_count) as duration_count, max(max_start) as last_activity from (
      select r.count, r.errors, r.duration_sum, r.duration_count, r.max_start ${rolled.sql}
      union all
      select count(*), count(*) filter (where not success), sum(duration), count(duration), max(start_time) ${raw.sql}
    ) t`, [...rolled.bindings, ...raw.bindings]);
  const row = rows[0] ?? {};
  return {
    total: Number(row['total'] ?? 0),
    errors: Number(row['errors'] ?? 0),
    durationSum: row['duration_sum'] === null || row['duration_sum'] === undefined ? null : Number(row['duration_sum']),
    durationCount: Number(row['duration_count'] ?? 0),
    lastActivity: row['last_activity'] ?? null,
  };
}
