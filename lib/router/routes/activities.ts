import type { ReportHandler } from '../context';
import { encodeCursor } from '../../store/reports/keyset';
import { ACTIVITY_FILTER_PARAMS, activityFilters, allowOnly, describeFilters, pageParams } from '../params';

export const ACTIVITIES_PARAMS = [...ACTIVITY_FILTER_PARAMS, 'limit', 'offset', 'orderBy', 'order', 'after'] as const;

/**
 * `GET /activities`: filtered, paged (by offset, or by keyset with `after` = the `nextCursor` of the
 * page before), sorted by an allowlisted column with the id as tie-breaker.
 */
export function activitiesRoute(): ReportHandler {
  return async (req, res, { describe, reader }) => {
    const query = req.query as Record<string, unknown>;
    allowOnly(query, ACTIVITIES_PARAMS);
    const filters = activityFilters(query);
    const page = pageParams(query);

    const { data, total, totalIsLowerBound, nextCursor } = await reader.activities(filters, page);
    const pagination = {
      total, ...(totalIsLowerBound ? { totalIsLowerBound: true } : {}), limit: page.limit, offset: page.offset,
      nextCursor: nextCursor === null ? null : encodeCursor(nextCursor),
    };
    const { after, ...paging } = page;
    describe({ filters: { ...describeFilters(filters), ...paging, ...(after ? { after: { startTime: after.startTime, id: after.id } } : {}) }, rows: data.length });
    res.json({ data, pagination });
  };
}
