import type { ReportContext, ReportHandler } from '../context';
import { ACTIVITY_FILTER_PARAMS, activityFilters, allowOnly, describeFilters, ORDER_BY_COLUMNS, pageParams } from '../params';
import { applyActivityFilters, toActivityJson } from '../../store/reports/activityRows';
import { readInTenant } from '../../store/rowLevelSecurity';

/** Matches counted exactly; beyond it `pagination.total` is this and `totalIsLowerBound` is true. */
export const COUNT_CAP = 100_000;

export const ACTIVITIES_PARAMS = [...ACTIVITY_FILTER_PARAMS, 'limit', 'offset', 'orderBy', 'order'] as const;

/** `GET /activities`: filtered, paged, sorted by an allowlisted column with the id as tie-breaker. */
export function activitiesRoute(ctx: ReportContext): ReportHandler {
  return async (req, res, _principal, describe, scope) => {
    const query = req.query as Record<string, unknown>;
    allowOnly(query, ACTIVITIES_PARAMS);
    const filters = activityFilters(query);
    const page = pageParams(query);
    const column = ORDER_BY_COLUMNS[page.orderBy];

    const [rows, counted] = await readInTenant(ctx.knex, scope, ctx.config.rowLevelSecurity, (db) => Promise.all([
      applyActivityFilters(db('user_activity').select('*'), filters, scope)
        // No NULLS clause: the default (nulls first descending, last ascending) is what a btree index
        // yields in either direction, and any other would force a sort of every matching row.
        .orderBy([...(column === 'start_time' ? [] : [{ column, order: page.order }]), { column: 'start_time', order: page.order }, { column: 'id', order: page.order }])
        .limit(page.limit)
        .offset(page.offset),
      // Counting stops past COUNT_CAP: an exact count of a broad filter reads every matching row,
      // and would grow with the table however small the page.
      db.count({ total: '*' }).from(applyActivityFilters(db('user_activity').select(db.raw('1')), filters, scope).limit(COUNT_CAP + 1).as('matching')).first(),
    ]));
    const data = (rows as Array<Record<string, unknown>>).map(toActivityJson);
    const matched = Number((counted as { total?: unknown } | undefined)?.total ?? 0);
    const pagination = matched > COUNT_CAP
      ? { total: COUNT_CAP, totalIsLowerBound: true, limit: page.limit, offset: page.offset }
      : { total: matched, limit: page.limit, offset: page.offset };
    describe({ filters: { ...describeFilters(filters), ...page }, rows: data.length });
    res.json({ data, pagination });
  };
}
