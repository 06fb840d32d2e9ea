import type { ReportContext, ReportHandler } from '../context';
import { invalidParam } from '../apiError';
import { allowOnly, dateRange, DEFAULT_LIMIT, describeFilters, integer, MAX_LIMIT, oneOf } from '../params';
import { SUSPICIOUS_RULES } from '../../store/reports/suspicious';

export const SUSPICIOUS_PARAMS = ['startDate', 'endDate', 'limit', 'rule'] as const;

const DEFAULT_PERIOD_MS = 24 * 60 * 60 * 1000;

/**
 * `GET /suspicious`: activities that match a rule (failed logins, 401, 403, slow requests, large
 * responses) and bursts of failed logins per IP and per account, newest first, over the last 24
 * hours unless a period is given. The period always has both ends, so no rule scans all history.
 */
export function suspiciousRoute(ctx: ReportContext): ReportHandler {
  return async (req, res, { describe, reader }) => {
    const query = req.query as Record<string, unknown>;
    allowOnly(query, SUSPICIOUS_PARAMS);
    const given = dateRange(query);
    const endDate = given.endDate ?? new Date();
    const startDate = given.startDate ?? new Date(endDate.getTime() - DEFAULT_PERIOD_MS);
    if (startDate > endDate) throw invalidParam('startDate', '"startDate" must not be after "endDate", which is now unless given');
    const limit = integer(query, 'limit', 1, MAX_LIMIT, DEFAULT_LIMIT);
    const rule = oneOf(query, 'rule', SUSPICIOUS_RULES);
    const thresholds = { ...ctx.config.suspicious };

    const { data, byRule } = await reader.suspicious({ startDate, endDate, limit, thresholds, ...(rule ? { rule } : {}) });
    describe({ filters: describeFilters({ startDate, endDate, limit, ...(rule ? { rule } : {}) }), rows: data.length });
    res.json({ data, summary: { byRule }, thresholds, period: { startDate: startDate.toISOString(), endDate: endDate.toISOString() } });
  };
}
