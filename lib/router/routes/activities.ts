import type { ReportHandler } from '../context';
import { ACTIVITY_FILTER_PARAMS, activityFilters, allowOnly, describeFilters, pageParams } from '../params';

export const ACTIVITIES_PARAMS = [...ACTIVITY_FILTER_PARAMS, 'limit', 'offset', 'orderBy', 'order'] as const;

/** `GET /activities`: filtered, paged, sorted by an allowlisted column with the id as tie-breaker. */
export function activitiesRoute(): ReportHandler {
  return async (req, res, { describe, reader }) => {
    const query = req.query as Record<string, unknown>;
    allowOnly(query, ACTIVITIES_PARAMS);
    const filters = activityFilters(query);
    const page = pageParams(query);

    const { data, total, totalIsLowerBound } = await reader.activities(filters, page);
    const pagination = totalIsLowerBound
      ? { total, totalIsLowerBound: true, limit: page.limit, offset: page.offset }
      : { total, limit: page.limit, offset: page.offset };
    describe({ filters: { ...describeFilters(filters), ...page }, rows: data.length });
    res.json({ data, pagination });
  };
}
