import type { Database } from '../database';
import { applyActivityFilters, toActivityJson, type ActivityJson } from './activityRows';
import type { ActivityFilters } from './filters';
import type { TenantScope } from './tenantScope';

export type LiveRow = ActivityJson & { chainPosition: number };

/**
 * The chain position a live stream starts after: the last of the rows it would show, so it
 * shows only rows stored from now on. A backward walk of the chain_position index.
 */
export async function lastPosition(db: Database, scope: TenantScope, filters: ActivityFilters): Promise<number> {
  const row = (await applyActivityFilters(db('user_activity').select('chain_position'), filters, scope)
    .orderBy('chain_position', 'desc').limit(1).first()) as { chain_position?: unknown } | undefined;
  return row?.chain_position === undefined || row.chain_position === null ? 0 : Number(row.chain_position);
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
