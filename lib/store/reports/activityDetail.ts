import type { Database } from '../database';
import { applyTenantScope, type TenantScope } from './tenantScope';
import { toActivityJson, type ActivityJson } from './activityRows';

/** Where a row stands in the hash chain: what `verify` recomputes and links. */
export interface ChainLink {
  position: number;
  prevHash: string;
  rowHash: string;
  hashVersion: number | null;
}

export type ActivityDetail = ActivityJson & { chain: ChainLink };

/** One row of the scope by id, with its chain link; null when the scope holds no such row. */
export async function findActivity(db: Database, scope: TenantScope, id: string): Promise<ActivityDetail | null> {
  const query = db('user_activity').select('*').where('user_activity.id', id).first();
  applyTenantScope(query, scope, 'user_activity');
  const row = (await query) as Record<string, unknown> | undefined;
  if (row === undefined) return null;
  return {
    ...toActivityJson(row),
    chain: {
      position: Number(row['chain_position']),
      prevHash: String(row['prev_hash']),
      rowHash: String(row['row_hash']),
      hashVersion: row['hash_version'] === null || row['hash_version'] === undefined ? null : Number(row['hash_version']),
    },
  };
}
