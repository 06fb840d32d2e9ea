import type { Database } from '../database';
import { applyActivityFilters, toActivityJson, type ActivityJson } from './activityRows';
import type { ActivityFilters } from './filters';
import type { TenantScope } from './tenantScope';

export type LiveRow = ActivityJson & { chainPosition: number };

/**
 * The chain position a live stream starts after: the chain's head, so it shows only rows stored
 * from now on. Not the last of the rows it would show: with a filter or a tenant that matches
 * few rows, that backward walk of the index would read most of the table to find one.
 */
export async function lastPosition(db: Database): Promise<number> {
  const row = (await db('user_activity').max({ head: 'chain_position' }).first()) as { head?: unknown } | undefined;
  return row?.head === undefined || row.head === null ? 0 : Number(row.head);
}

/**
 * Rows of the scope stored after a chain position, in chain order. Chain positions are given
 * under the chain lock in commit order with no gaps, so a stream that asks again after the last
 * position it showed misses no row and shows none twice, whichever instance stored it.
 */
export async function rowsAfterPosition(db: Database, scope: TenantScope, filters: ActivityFilters, after: number, limit: number): Promise<LiveRow[]> {
  const rows = (await applyActivityFilters(db('user_activity').select('*'), filters, scope)
    .where('user_activity.chain_position', '>', after)
    .orderBy('chain_position', 'asc')
    .limit(limit)) as Array<Record<string, unknown>>;
  return rows.map((row) => ({ ...toActivityJson(row), chainPosition: Number(row['chain_position']) }));
}
