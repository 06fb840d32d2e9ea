import type { ReportHandler } from '../context';
import { invalidParam } from '../apiError';
import { activityTypes, allowOnly, dateRange, describeFilters, domainFilters, identifier, type RawQuery } from '../params';
import type { Period, StatsFilters } from '../../store/reports/filters';

export const STATS_PARAMS = ['startDate', 'endDate', 'userId', 'activityType', 'action', 'actorType', 'category'] as const;

/** How far back a report looks when the caller gives no startDate. */
export const DEFAULT_PERIOD_DAYS = 30;
/**
 * `/stats` aggregates every activity of its period, so its default is a week: a month of a busy
 * app is a million rows (1.5 s measured by `npm run bench`), a week about a quarter of that.
 */
export const STATS_DEFAULT_PERIOD_DAYS = 7;

/**
 * The period a report covers: as given, else ending now and starting DEFAULT_PERIOD_DAYS before
 * its end. Never open-ended, so every aggregate is bounded by a start_time index range.
 */
export function reportPeriod(query: RawQuery, now: Date = new Date(), days = DEFAULT_PERIOD_DAYS): Period {
  const given = dateRange(query);
  const endDate = given.endDate ?? now;
  const startDate = given.startDate ?? new Date(endDate.getTime() - days * 86_400_000);
  if (startDate > endDate) throw invalidParam('startDate', '"startDate" is in the future; give an endDate after it, or leave endDate out only for periods that have started');
  return { startDate, endDate };
}

/** `GET /stats`: totals and breakdowns of the activities in a period, optionally for one user or some activity types. */
export function statsRoute(): ReportHandler {
  return async (req, res, { describe, reader }) => {
    const query = req.query as RawQuery;
    allowOnly(query, STATS_PARAMS);
    const filters: StatsFilters = reportPeriod(query, new Date(), STATS_DEFAULT_PERIOD_DAYS);
    const userId = identifier(query, 'userId', 256);
    if (userId !== undefined) filters.userId = userId;
    const types = activityTypes(query);
    if (types !== undefined) filters.activityTypes = types;
    Object.assign(filters, domainFilters(query));

    const data = await reader.stats(filters);
    describe({ filters: describeFilters(filters) });
    res.json({ data, period: { startDate: filters.startDate.toISOString(), endDate: filters.endDate.toISOString() } });
  };
}
