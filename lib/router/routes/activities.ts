import type { ReportContext, ReportHandler } from '../context';
import { ACTIVITY_FILTER_PARAMS, activityFilters, allowOnly, describeFilters, ORDER_BY_COLUMNS, pageParams } from '../params';
import { applyActivityFilters, toActivityJson } from '../../store/reports/activityRows';

export const ACTIVITIES_PARAMS = [...ACTIVITY_FILTER_PARAMS, 'limit', 'offset', 'orderBy', 'order'] as const;

/** `GET /activities`: filtered, paged, sorted by an allowlisted column with the id as tie-breaker. */
export function activitiesRoute(ctx: ReportContext): ReportHandler {
  return async (req, res, _principal, describe) => {
    const query = req.query as Record<string, unknown>;
    allowOnly(query, ACTIVITIES_PARAMS);
    const filters = activityFilters(query);
    const page = pageParams(query);
    const column = ORDER_BY_COLUMNS[page.orderBy];

    const [rows, counted] = await Promise.all([
      applyActivityFilters(ctx.knex('user_activity').select('*'), filters)
        .orderBy([{ column, order: page.order, nulls: page.order === 'asc' ? 'first' : 'last' }, { column: 'id', order: page.order }])
        .limit(page.limit)
        .offset(page.offset),
      applyActivityFilters(ctx.knex('user_activity').count({ total: '*' }), filters).first(),
    ]);
    const data = (rows as Array<Record<string, unknown>>).map(toActivityJson);
    describe({ filters: { ...describeFilters(filters), ...page }, rows: data.length });
    res.json({ data, pagination: { total: Number((counted as { total?: unknown } | undefined)?.total ?? 0), limit: page.limit, offset: page.offset } });
  };
}
