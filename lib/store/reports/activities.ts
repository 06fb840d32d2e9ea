import type { Database } from '../database';
import { applyActivityFilters, toActivityJson, type ActivityJson } from './activityRows';
import { ORDER_BY_COLUMNS, type ActivityFilters, type ActivityPage } from './filters';
import type { TenantScope } from './tenantScope';

/** Matches counted exactly; beyond it `total` is this and `totalIsLowerBound` is true. */
export const COUNT_CAP = 100_000;

/** One page of `GET /activities` and how many rows match (at most COUNT_CAP). */
export interface ActivityList {
  data: ActivityJson[];
  total: number;
  /** More than COUNT_CAP rows match; `total` is COUNT_CAP. */
  totalIsLowerBound: boolean;
}

/** The filtered rows of the scope, sorted by an allowlisted column with start time and id as tie-breakers. */
export async function listActivities(db: Database, scope: TenantScope, filters: ActivityFilters, page: ActivityPage): Promise<ActivityList> {
  const column = ORDER_BY_COLUMNS[page.orderBy];
  const [rows, counted] = await Promise.all([
    applyActivityFilters(db('user_activity').select('*'), filters, scope)
      // No NULLS clause: the default (nulls first descending, last ascending) is what a btree index
      // yields in either direction, and any other would force a sort of every matching row.
      .orderBy([...(column === 'start_time' ? [] : [{ column, order: page.order }]), { column: 'start_time', order: page.order }, { column: 'id', order: page.order }])
      .limit(page.limit)
      .offset(page.offset),
    // Counting stops past COUNT_CAP: an exact count of a broad filter reads every matching row,
    // and would grow with the table however small the page.
    db.count({ total: '*' }).from(applyActivityFilters(db('user_activity').select(db.raw('1')), filters, scope).limit(COUNT_CAP + 1).as('matching')).first(),
  ]);
  const data = (rows as Array<Record<string, unknown>>).map(toActivityJson);
  const matched = Number((counted as { total?: unknown } | undefined)?.total ?? 0);
  return matched > COUNT_CAP ? { data, total: COUNT_CAP, totalIsLowerBound: true } : { data, total: matched, totalIsLowerBound: false };
}
