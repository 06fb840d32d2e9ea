import type { ReportContext, ReportHandler } from '../context';
import { allowOnly, describeFilters, identifier, limitOffset, type RawQuery } from '../params';
import { activeSessions, userSessions } from '../../store/reports/sessions';
import { readInTenant } from '../../store/rowLevelSecurity';
import { userSummary } from '../../store/reports/stats';
import { reportPeriod } from './stats';

export const ACTIVE_SESSIONS_PARAMS = ['limit', 'offset', 'userId'] as const;
export const MY_SESSIONS_PARAMS = ['limit', 'offset'] as const;
export const MY_SUMMARY_PARAMS = ['startDate', 'endDate'] as const;

/** `GET /sessions/active`: sessions flagged active that saw activity within the session timeout, latest first. */
export function activeSessionsRoute(ctx: ReportContext): ReportHandler {
  return async (req, res, _principal, describe, scope) => {
    const query = req.query as RawQuery;
    allowOnly(query, ACTIVE_SESSIONS_PARAMS);
    const paging = limitOffset(query);
    const userId = identifier(query, 'userId', 256);
    const since = new Date(Date.now() - ctx.config.sessionTimeoutMinutes * 60_000);

    const found = await readInTenant(ctx.knex, scope, ctx.config.rowLevelSecurity, (db) => activeSessions(db, { since, ...(userId !== undefined ? { userId } : {}) }, paging, scope));
    describe({ filters: describeFilters({ ...(userId !== undefined ? { userId } : {}), since, ...paging }), rows: found.rows.length });
    res.json({ data: found.rows, pagination: { total: found.total, ...paging } });
  };
}

/** `GET /me/sessions`: the caller's own sessions, newest first. Whose sessions is never a parameter. */
export function mySessionsRoute(ctx: ReportContext): ReportHandler {
  return async (req, res, principal, describe) => {
    const query = req.query as RawQuery;
    allowOnly(query, MY_SESSIONS_PARAMS);
    const paging = limitOffset(query);

    const found = await userSessions(ctx.knex, principal.userId, paging);
    describe({ filters: { ...paging }, rows: found.rows.length });
    res.json({ data: found.rows, pagination: { total: found.total, ...paging } });
  };
}

/** `GET /me/summary`: what the caller did in a period (default: the last 30 days). */
export function mySummaryRoute(ctx: ReportContext): ReportHandler {
  return async (req, res, principal, describe) => {
    const query = req.query as RawQuery;
    allowOnly(query, MY_SUMMARY_PARAMS);
    const period = reportPeriod(query);

    const summary = await userSummary(ctx.knex, principal.userId, period);
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
