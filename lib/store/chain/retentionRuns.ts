import type { Database } from '../database';

/** An activity_retention row with what the chain holds at its record_position (all null when no row is there). */
export interface RetentionRunRow {
  id: string;
  fromPosition: string;
  toPosition: string;
  removed: number;
  lastRemovedHash: string | null;
  recordPosition: string | null;
  /** The chain_position found at record_position: null when no row is there. */
  found: string | null;
  action: string | null;
  activityType: string | null;
  entityType: string | null;
  /** The record's details as JSON text. */
  details: string | null;
}

const PAGE_SQL = `select r.id::text as id, r.from_position::text as from_position, r.to_position::text as to_position, r.removed,
    r.last_removed_hash, r.record_position::text as record_position, u.chain_position::text as found,
    u.action, u.activity_type, u.entity_type, u.details::text as details
  from activity_retention r left join user_activity u on u.chain_position = r.record_position
  where r.id > ?::bigint order by r.id limit ?`;

/** The runs listed in activity_retention after id `after`, in id order, at most `limit`, each with the chained row it names. */
export async function retentionRunsAfter(db: Database, after: string, limit: number): Promise<RetentionRunRow[]> {
  const found = (await db.raw(PAGE_SQL, [after, limit])) as { rows: Array<Record<string, string | number | null>> };
  return found.rows.map((r) => ({
    id: String(r['id']), fromPosition: String(r['from_position']), toPosition: String(r['to_position']), removed: Number(r['removed']),
    lastRemovedHash: textOrNull(r['last_removed_hash']), recordPosition: r['record_position'] === null ? null : String(r['record_position']),
    found: r['found'] === null ? null : String(r['found']), action: textOrNull(r['action']), activityType: textOrNull(r['activity_type']),
    entityType: textOrNull(r['entity_type']), details: textOrNull(r['details']),
  }));
}

function textOrNull(value: string | number | null | undefined): string | null {
  return typeof value === 'string' ? value : null;
}
