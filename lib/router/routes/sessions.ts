import type { Response } from 'express';
import type { ReportCall, ReportContext, ReportHandler } from '../context';
import { allowOnly, describeFilters, identifier, limitOffset, type RawQuery } from '../params';
import type { Paging } from '../../store/reports/filters';
import type { SessionPage } from '../../store/reports/sessions';
import { reportPeriod } from './stats';

export const ACTIVE_SESSIONS_PARAMS = ['limit', 'offset', 'userId'] as const;
export const MY_SESSIONS_PARAMS = ['limit', 'offset'] as const;
export const MY_SUMMARY_PARAMS = ['startDate', 'endDate'] as const;

/** `GET /sessions/active`: sessions flagged active that saw activity within the session timeout, latest first. */
export function activeSessionsRoute(ctx: ReportContext): ReportHandler {
  return async (req, res, call) => {
    const query = req.query as RawQuery;
    allowOnly(query, ACTIVE_SESSIONS_PARAMS);
    const paging = limitOffset(query);
    const userId = identifier(query, 'userId', 256);
    const filter = { since: new Date(Date.now() - ctx.config.sessionTimeoutMinutes * 60_000), ...(userId !== undefined ? { userId } : {}) };

    const found = await call.reader.activeSessions(filter, paging);
    sendSessions(res, call, found, paging, describeFilters({ ...(userId !== undefined ? { userId } : {}), since: filter.since, ...paging }));
  };
}

/** `GET /me/sessions`: the caller's own sessions, newest first. Whose sessions is never a parameter. */
export function mySessionsRoute(): ReportHandler {
  return async (req, res, call) => {
    const query = req.query as RawQuery;
    allowOnly(query, MY_SESSIONS_PARAMS);
    const paging = limitOffset(query);

    const found = await call.reader.userSessions(call.principal.userId, paging);
    sendSessions(res, call, found, paging, { ...paging });
  };
}

/** Both session lists answer alike: the page, its paging and the total, described on the trail with the filters. */
function sendSessions<T>(res: Response, call: ReportCall, found: SessionPage<T>, paging: Paging, filters: Record<string, unknown>): void {
  call.describe({ filters, rows: found.rows.length });
  res.json({ data: found.rows, pagination: { total: found.total, ...paging } });
}

/** `GET /me/summary`: what the caller did in a period (default: the last 30 days). */
export function mySummaryRoute(): ReportHandler {
  return async (req, res, { principal, describe, reader }) => {
    const query = req.query as RawQuery;
    allowOnly(query, MY_SUMMARY_PARAMS);
    const period = reportPeriod(query);

    const summary = await reader.userSummary(principal.userId, period);
    describe({ filters: describeFilters(period) });
    res.json({
      data: {
        userId: principal.userId,
        period: { startDate: period.startDate.toISOString(), endDate: period.endDate.toISOString() },
        ...summary,
      },
    });
  };
}
