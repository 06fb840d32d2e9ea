import { useEffect, useState } from 'preact/hooks';
import type { ApiFailure } from '../api/client';
import { downloadFile } from '../api/download';
import type { ComplianceReport, Period } from '../api/types';
import { useConsole } from '../context';
import { useI18n } from '../i18n/i18n';
import { asFailure, useLoad } from '../hooks/useLoad';
import { Link, useNavigation } from '../routing/navigation';
import { BarTable } from '../components/Charts';
import { Empty, ErrorNotice, Status } from '../components/Notice';
import { PeriodPicker, periodOfParams } from '../components/PeriodPicker';
import { PeriodText } from '../components/PeriodText';
import { TableHead } from '../components/TableHead';
import { Time } from '../components/Time';
import { ViewRoot } from '../components/ViewRoot';
import { Missing } from '../components/values';
import { M } from '../i18n/keys';

/** GET /compliance-report of a period, laid out as a report that prints cleanly (window.print). */
export function Compliance() {
  const { api } = useConsole();
  const { t, fmt } = useI18n();
  const { route, navigate } = useNavigation();
  const asked = periodOfParams(route.params);
  const loaded = useLoad((signal) => api.get<{ data: ComplianceReport }>('/compliance-report', asked, signal).then((r) => r.data), [asked.startDate, asked.endDate]);
  const report = loaded.data;
  const [csv, setCsv] = useState<{ busy: boolean; error: ApiFailure | null }>({ busy: false, error: null });

  // The printed page's header is the document's title: name the report and its period there.
  useEffect(() => {
    const before = document.title;
    if (report) document.title = `${t(M.complianceTitle)} · ${fmt.dateTime(report.period.startDate)} – ${fmt.dateTime(report.period.endDate)}`;
    return () => { document.title = before; };
  }, [report, t, fmt]);

  const downloadCsv = async () => {
    setCsv({ busy: true, error: null });
    try {
      const period = report?.period ?? asked;
      await downloadFile(api, '/compliance-report', { ...period, format: 'csv' }, 'compliance-report.csv');
      setCsv({ busy: false, error: null });
    } catch (error) {
      setCsv({ busy: false, error: asFailure(error) });
    }
  };

  return (
    <ViewRoot view="compliance" ready={!loaded.loading} title={t(M.complianceTitle)}
      subtitle={report ? <PeriodText period={report.period} /> : undefined}
      actions={<>
        <button type="button" class="button" onClick={() => void downloadCsv()} disabled={!report || csv.busy}>{t(M.complianceCsv)}</button>
        <button type="button" class="button primary" onClick={() => window.print()} disabled={!report}>{t(M.compliancePrint)}</button>
      </>}>
      <PeriodPicker period={asked.startDate || asked.endDate ? asked : report?.period} onChange={(p) => navigate('compliance', p)} />
      <Status>{loaded.loading ? t(M.commonLoading) : ''}</Status>
      {loaded.error && <ErrorNotice error={loaded.error} />}
      {csv.error && <ErrorNotice error={csv.error} context={t(M.complianceCsv)} />}
      {report && <ReportBody report={report} />}
    </ViewRoot>
  );
}

function ReportBody({ report }: { report: ComplianceReport }) {
  const { t, fmt } = useI18n();
  const auth = report.authentication;
  const explorer = (period: Period, extra: Record<string, string>) => ({ ...extra, startDate: period.startDate, endDate: period.endDate });
  return (
    <article class="report">
      <p class="muted small">{t(M.complianceGeneratedAt)} <Time iso={report.generatedAt} /></p>

      <section class="report-section">
        <h2>{t(M.complianceSummary)}</h2>
        <dl class="figures">
          <Figure label={t(M.complianceLogins)} value={fmt.number(auth.logins)} />
          <Figure label={t(M.complianceLogouts)} value={fmt.number(auth.logouts)} />
          <Figure label={t(M.complianceFailedLogins)} value={fmt.number(auth.failedLogins)} />
          <Figure label={t(M.complianceTokenRefreshes)} value={fmt.number(auth.tokenRefreshes)} />
          <Figure label={t(M.complianceSessionsStarted)} value={fmt.number(report.sessions.started)} />
          <Figure label={t(M.complianceDistinctUsers)} value={fmt.number(report.sessions.distinctUsers)} />
          <Figure label={t(M.overviewErrorRate)} value={fmt.percent(report.errorRate)} />
          <Figure label={t(M.compliancePrivilegedCount)} value={fmt.number(report.privilegedActions.count)} />
        </dl>
      </section>

      <section class="report-section">
        <h2>{t(M.complianceActivityByType)}</h2>
        <BarTable hideCaption caption={t(M.complianceActivityByType)} labelHeader={t(M.fieldActivityType)}
          items={report.activityByType.map((row) => ({ label: row.activityType, count: row.count, cell: <Link view="explorer" params={explorer(report.period, { activityType: row.activityType })}>{row.activityType}</Link> }))} />
      </section>

      <section class="report-section">
        <h2>{t(M.complianceAuthentication)}</h2>
        <div class="grid-2">
          <table class="data">
            <caption>{t(M.complianceTopFailingIps)}</caption>
            <TableHead cols={[M.fieldIpAddress, [M.complianceFailures, 'num']]} />
            <tbody>
              {auth.topFailingIps.length === 0 && <tr><td colSpan={2} class="muted">{t(M.commonNone)}</td></tr>}
              {auth.topFailingIps.map((row) => <tr key={row.ipAddress}><th scope="row" class="mono">{row.ipAddress}</th><td class="num">{fmt.number(row.failures)}</td></tr>)}
            </tbody>
          </table>
          <table class="data">
            <caption>{t(M.complianceTopFailingAccounts)}</caption>
            <TableHead cols={[M.fieldUserId, [M.complianceFailures, 'num']]} />
            <tbody>
              {auth.topFailingAccounts.length === 0 && <tr><td colSpan={2} class="muted">{t(M.commonNone)}</td></tr>}
              {auth.topFailingAccounts.map((row) => <tr key={row.userId}><th scope="row">{row.userId}</th><td class="num">{fmt.number(row.failures)}</td></tr>)}
            </tbody>
          </table>
        </div>
      </section>

      <section class="report-section">
        <h2>{t(M.compliancePrivileged)}</h2>
        <p class="small">{report.privilegedActions.rule}</p>
        <p>{t(M.compliancePrivilegedTotal, { count: fmt.number(report.privilegedActions.count), shown: fmt.number(report.privilegedActions.items.length) })}</p>
        {report.privilegedActions.items.length === 0 ? <Empty>{t(M.commonNone)}</Empty> : (
          <table class="data">
            <caption>{t(M.compliancePrivileged)}</caption>
            <TableHead cols={[M.fieldStartTime, M.fieldUserId, M.fieldActivityType, M.fieldAction, M.fieldPath]} />
            <tbody>
              {report.privilegedActions.items.map((item, index) => (
                <tr key={index}>
                  <td class="nowrap"><Time iso={item.time} /></td>
                  <td>{item.userId ?? <Missing />}</td>
                  <td>{item.activityType}</td>
                  <td>{item.action ?? <Missing />}</td>
                  <td class="mono">{item.path ?? <Missing />}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      <section class="report-section">
        <h2>{t(M.complianceTrailAccess)}</h2>
        <p class="small">{t(M.complianceTrailAccessIntro, { count: fmt.number(report.trailAccess.length) })}</p>
        {report.trailAccess.length === 0 ? <Empty>{t(M.commonNone)}</Empty> : (
          <table class="data">
            <caption>{t(M.complianceTrailAccess)}</caption>
            <TableHead cols={[M.fieldStartTime, M.fieldUserId, M.fieldActivityType, M.fieldRoute]} />
            <tbody>
              {report.trailAccess.map((item, index) => (
                <tr key={index}>
                  <td class="nowrap"><Time iso={item.time} /></td>
                  <td>{item.userId ?? <Missing />}</td>
                  <td>{item.activityType}</td>
                  <td class="mono">{item.route ?? <Missing />}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      <section class="report-section">
        <h2>{t(M.complianceRetention)}</h2>
        <dl class="figures">
          <Figure label={t(M.complianceRetentionDays)} value={fmt.number(report.retention.retentionDays)} />
          <div class="figure"><dt>{t(M.complianceOldestRecord)}</dt><dd><Time iso={report.retention.oldestRecord} /></dd></div>
        </dl>
      </section>
    </article>
  );
}

function Figure({ label, value }: { label: string; value: string }) {
  return <div class="figure"><dt>{label}</dt><dd>{value}</dd></div>;
}
