import type { Database } from '../database';
import { applyActivityFilters } from './activityRows';
import type { ActivityFilters, SortOrder } from './filters';
import type { TenantScope } from './tenantScope';

/** Runs one page's query; the report reader passes one that sets the tenant for row-level security. */
export type PageReader = <T>(query: (db: Database) => Promise<T>) => Promise<T>;

/** Rows per query of an export: enough to keep round trips few, small enough to keep memory flat. */
export const EXPORT_PAGE_SIZE = 1000;

/** Where the previous page ended. */
interface Cursor {
  startTime: Date | string;
  id: string;
}

/**
 * The filtered user_activity rows, newest first (or oldest first), one page at a time.
 *
 * Keyset paging on (start_time, id) rather than offset: every page is a range scan of the
 * start_time index that starts where the previous one stopped, so the thousandth page costs what
 * the first did, and rows written while the export runs (always newer) never shift a page.
 * Stops when the consumer stops asking.
 */
export async function* exportPages(read: PageReader, scope: TenantScope, filters: ActivityFilters, order: SortOrder, pageSize = EXPORT_PAGE_SIZE): AsyncGenerator<Array<Record<string, unknown>>> {
  let cursor: Cursor | undefined;
  for (;;) {
    const rows = await read((knex) => pageQuery(knex, filters, scope, order, pageSize, cursor));
    if (rows.length === 0) return;
    yield rows;
    if (rows.length < pageSize) return;
    const last = rows[rows.length - 1] as Record<string, unknown>;
    cursor = { startTime: last['start_time'] as Date | string, id: String(last['id']) };
  }
}

async function pageQuery(knex: Database, filters: ActivityFilters, scope: TenantScope, order: SortOrder, pageSize: number, cursor: Cursor | undefined): Promise<Array<Record<string, unknown>>> {
  const query = applyActivityFilters(knex('user_activity').select('*'), filters, scope);
  if (cursor) {
    const comparison = order === 'desc' ? '<' : '>';
    // The row comparison alone is not an index condition on a start_time-only index; the plain
    // bound on start_time is, so each page starts where the last stopped instead of at the top.
    query.where('start_time', order === 'desc' ? '<=' : '>=', cursor.startTime);
    query.whereRaw(`(start_time, id) ${comparison} (cast(? as timestamptz), cast(? as uuid))`, [cursor.startTime, cursor.id]);
  }
  return (await query.orderBy([{ column: 'start_time', order }, { column: 'id', order }]).limit(pageSize)) as Array<Record<string, unknown>>;
}
