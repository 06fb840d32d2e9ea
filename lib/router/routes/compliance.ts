import type { Response } from 'express';
import type { ReportContext, ReportHandler } from '../context';
import { invalidParam } from '../apiError';
import { allowOnly, dateRange, oneOf } from '../params';
import { csvFileName, startCsv } from '../csv';
import type { ComplianceFigures } from '../../store/reports/compliance';

/** The period of a report asked for without startDate: this many days before endDate (or now). */
export const DEFAULT_PERIOD_DAYS = 30;
export const COMPLIANCE_PARAMS = ['startDate', 'endDate', 'format'] as const;
/** A year, leap day included: long enough for an annual review, short enough to stay one index range. */
export const MAX_PERIOD_DAYS = 366;

/** The JSON body's `data`. */
export interface ComplianceReport extends Omit<ComplianceFigures, 'oldestRecord'> {
  period: { startDate: string; endDate: string };
  generatedAt: string;
  retention: { retentionDays: number; oldestRecord: string | null };
}

/**
 * `GET /compliance-report`: what happened in a period (at most 366 days, both ends inclusive; by
 * default the last 30 days up to now, and without startDate the 30 days before endDate) from an
 * auditor's point of view, as JSON or as one CSV download.
 */
export function complianceReportRoute(ctx: ReportContext): ReportHandler {
  return async (req, res, { describe, reader }) => {
    const query = req.query as Record<string, unknown>;
    allowOnly(query, COMPLIANCE_PARAMS);
    const given = dateRange(query);
    // A compliance officer's first call has no dates: the last DEFAULT_PERIOD_DAYS, up to now.
    const endDate = given.endDate ?? new Date();
    const startDate = given.startDate ?? new Date(endDate.getTime() - DEFAULT_PERIOD_DAYS * 86_400_000);
    if (startDate.getTime() > endDate.getTime()) {
      throw invalidParam('endDate', '"endDate" is before "startDate" (without endDate the period ends now); give an endDate after the startDate');
    }
    if (endDate.getTime() - startDate.getTime() > MAX_PERIOD_DAYS * 86_400_000) {
      throw invalidParam('endDate', `The period may span at most ${MAX_PERIOD_DAYS} days; ask for several shorter periods`);
    }
    const format = oneOf(query, 'format', ['json', 'csv'] as const, 'json');
    describe({ type: format === 'csv' ? 'audit_export' : 'audit_read', filters: { startDate: startDate.toISOString(), endDate: endDate.toISOString(), format } });

    const generatedAt = new Date();
    const { oldestRecord, ...figures } = await reader.compliance({ startDate, endDate });
    const report: ComplianceReport = {
      period: { startDate: startDate.toISOString(), endDate: endDate.toISOString() },
      generatedAt: generatedAt.toISOString(),
      ...figures,
      retention: { retentionDays: ctx.config.retentionDays, oldestRecord },
    };
    if (format === 'json') {
      res.setHeader('Cache-Control', 'no-store');
      res.json({ data: report });
      return;
    }
    await sendCsv(res, report, generatedAt);
  };
}

/**
 * The CSV layout: one row per figure or list entry, every row with the same columns.
 * Figures and ranked lists fill `section,key,value` (e.g. `authentication,failedLogins,3`,
 * `topFailingIps,198.51.100.9,2`); the event lists (`privilegedAction`, `trailAccess`) leave
 * key and value empty and fill `userId,activityType,action,path,route,time`.
 */
export const COMPLIANCE_CSV_COLUMNS = ['section', 'key', 'value', 'userId', 'activityType', 'action', 'path', 'route', 'time'] as const;

type CsvRow = Partial<Record<(typeof COMPLIANCE_CSV_COLUMNS)[number], unknown>>;

export function complianceCsvRows(report: ComplianceReport): CsvRow[] {
  const { authentication: auth, privilegedActions: privileged } = report;
  const figure = (section: string, key: string, value: unknown): CsvRow => ({ section, key, value });
  return [
    figure('period', 'startDate', report.period.startDate),
    figure('period', 'endDate', report.period.endDate),
    figure('report', 'generatedAt', report.generatedAt),
    ...report.activityByType.map((t) => figure('activityByType', t.activityType, t.count)),
    figure('authentication', 'logins', auth.logins),
    figure('authentication', 'logouts', auth.logouts),
    figure('authentication', 'failedLogins', auth.failedLogins),
    figure('authentication', 'tokenRefreshes', auth.tokenRefreshes),
    ...auth.topFailingIps.map((r) => figure('topFailingIps', r.ipAddress, r.failures)),
    ...auth.topFailingAccounts.map((r) => figure('topFailingAccounts', r.userId, r.failures)),
    figure('privilegedActions', 'rule', privileged.rule),
    figure('privilegedActions', 'count', privileged.count),
    ...privileged.items.map((i) => ({ section: 'privilegedAction', userId: i.userId, activityType: i.activityType, action: i.action, path: i.path, time: i.time })),
    ...report.trailAccess.map((t) => ({ section: 'trailAccess', userId: t.userId, activityType: t.activityType, route: t.route, time: t.time })),
    figure('sessions', 'started', report.sessions.started),
    figure('sessions', 'distinctUsers', report.sessions.distinctUsers),
    figure('errorRate', 'errorRate', report.errorRate),
    figure('retention', 'retentionDays', report.retention.retentionDays),
    figure('retention', 'oldestRecord', report.retention.oldestRecord),
  ];
}

async function sendCsv(res: Response, report: ComplianceReport, generatedAt: Date): Promise<void> {
  const csv = startCsv(res, csvFileName('compliance-report', generatedAt), COMPLIANCE_CSV_COLUMNS);
  for (const row of complianceCsvRows(report)) {
    if (csv.closed) return;
    await csv.write(COMPLIANCE_CSV_COLUMNS.map((column) => row[column]));
  }
  await csv.end();
}
