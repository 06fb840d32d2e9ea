import type { Knex } from 'knex';
import type { Database } from '../database';
import { cursorTextSql, KEYSET_ORDER_BY, type KeysetCursor, type KeysetOrderBy } from './keyset';
import { applyActivityFilters, toActivityJson, type ActivityJson } from './activityRows';
import { ORDER_BY_COLUMNS, type ActivityFilters, type ActivityPage } from './filters';
import type { TenantScope } from './tenantScope';

/**
 * Matches counted exactly; beyond it `total` is this and `totalIsLowerBound` is true. Counting is
 * the first page's main cost on a broad filter no index serves: on ten million rows, counting the
 * matches of `success=false` took 731 ms up to 100,000 and 52 ms up to 10,000.
 */
export const COUNT_CAP = 10_000;

/** One page of `GET /activities` and how many rows match (at most COUNT_CAP). */
export interface ActivityList {
  data: ActivityJson[];
  total: number;
  /** More than COUNT_CAP rows match; `total` is COUNT_CAP. */
  totalIsLowerBound: boolean;
  /** Where the next page starts, when there is one and the sort can be paged by keyset (keyset.ts). */
  nextCursor: KeysetCursor | null;
}

/** The filtered rows of the scope, sorted by an allowlisted column with start time and id as tie-breakers. */
export async function listActivities(db: Database, scope: TenantScope, filters: ActivityFilters, page: ActivityPage): Promise<ActivityList> {
  const column = ORDER_BY_COLUMNS[page.orderBy];
  const keyset = (KEYSET_ORDER_BY as readonly string[]).includes(page.orderBy);
  const pageQuery = applyActivityFilters(db('user_activity').select('*'), filters, scope);
  if (keyset) {
    pageQuery.select(db.raw(`${cursorTextSql('start_time')} as keyset_start_time`));
    if (page.orderBy === 'createdAt') pageQuery.select(db.raw(`${cursorTextSql('created_at')} as keyset_created_at`));
  }
  if (page.after) afterCursor(pageQuery, page.after);
  const [rows, counted] = await Promise.all([
    pageQuery
      // No NULLS clause: the default (nulls first descending, last ascending) is what a btree index
      // yields in either direction, and any other would force a sort of every matching row.
      .orderBy([...(column === 'start_time' ? [] : [{ column, order: page.order }]), { column: 'start_time', order: page.order }, { column: 'id', order: page.order }])
      // One row more than the page: whether there is a next page, without a second query.
      .limit(page.limit + 1)
      .offset(page.offset),
    // Counting stops past COUNT_CAP: an exact count of a broad filter reads every matching row,
    // and would grow with the table however small the page.
    db.count({ total: '*' }).from(applyActivityFilters(db('user_activity').select(db.raw('1')), filters, scope).limit(COUNT_CAP + 1).as('matching')).first(),
  ]);
  const pageRows = (rows as Array<Record<string, unknown>>).slice(0, page.limit);
  const last = pageRows[pageRows.length - 1];
  const nextCursor: KeysetCursor | null = keyset && rows.length > page.limit && last !== undefined
    ? {
      orderBy: page.orderBy as KeysetOrderBy, order: page.order, startTime: String(last['keyset_start_time']), id: String(last['id']),
      ...(page.orderBy === 'createdAt' ? { createdAt: String(last['keyset_created_at']) } : {}),
    }
    : null;
  const data = pageRows.map(toActivityJson);
  const matched = Number((counted as { total?: unknown } | undefined)?.total ?? 0);
  return matched > COUNT_CAP ? { data, total: COUNT_CAP, totalIsLowerBound: true, nextCursor } : { data, total: matched, totalIsLowerBound: false, nextCursor };
}

/** Rows after the cursor in the page's order: a row comparison, which the (sort column, start_time) indexes answer as a range. */
function afterCursor(query: Knex.QueryBuilder, after: KeysetCursor): void {
  const operator = after.order === 'desc' ? '<' : '>';
  if (after.createdAt !== undefined) {
    query.whereRaw(`(created_at, start_time, id) ${operator} (?::timestamptz, ?::timestamptz, ?::uuid)`, [after.createdAt, after.startTime, after.id]);
  } else {
    query.whereRaw(`(start_time, id) ${operator} (?::timestamptz, ?::uuid)`, [after.startTime, after.id]);
  }
}
