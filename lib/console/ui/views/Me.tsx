import type { Page, SessionRow, UserSummary } from '../api/types';
import { useConsole } from '../context';
import { useI18n } from '../i18n/i18n';
import { useLoad } from '../hooks/useLoad';
import { useNavigation } from '../routing/navigation';
import { withChanges } from '../routing/routes';
import { BarTable } from '../components/Charts';
import { Empty, ErrorNotice, Status } from '../components/Notice';
import { OffsetPager } from '../components/Pager';
import { PeriodPicker, periodOfParams } from '../components/PeriodPicker';
import { PeriodText } from '../components/PeriodText';
import { Time } from '../components/Time';
import { ViewRoot } from '../components/ViewRoot';
import { SessionTable } from './Sessions';
import { M } from '../i18n/keys';

const PAGE = 20;

/** What the signed-in user did (GET /me/summary) and their sessions (GET /me/sessions): all a plain user may see. */
export function Me() {
  const { api, session } = useConsole();
  const { t, fmt } = useI18n();
  const { route, navigate } = useNavigation();
  const asked = periodOfParams(route.params);
  const offset = Math.max(0, Number(route.params.get('offset')) || 0);
  const summary = useLoad((signal) => api.get<{ data: UserSummary }>('/me/summary', asked, signal).then((r) => r.data), [asked.startDate, asked.endDate]);
  const sessions = useLoad((signal) => api.get<Page<SessionRow>>('/me/sessions', { limit: PAGE, offset }, signal), [offset]);
  const data = summary.data;
  const withParams = (changes: Record<string, string | undefined>) => navigate('me', withChanges(route.params, changes));
  return (
    <ViewRoot view="me" ready={!summary.loading && !sessions.loading} title={t(M.meTitle)} subtitle={t(M.meSubtitle, { user: session.userId })}>
      <section class="panel" aria-labelledby="me-summary">
        <h2 id="me-summary">{t(M.meSummary)}</h2>
        <p class="muted small">{data ? <PeriodText period={data.period} /> : null}</p>
        <PeriodPicker period={asked.startDate || asked.endDate ? asked : data?.period} onChange={(p) => withParams({ startDate: p.startDate, endDate: p.endDate })} />
        <Status>{summary.loading ? t(M.commonLoading) : ''}</Status>
        {summary.error && <ErrorNotice error={summary.error} />}
        {data && (
          <>
            <dl class="figures">
              <div class="figure"><dt>{t(M.meActivities)}</dt><dd>{fmt.number(data.totalActivities)}</dd></div>
              <div class="figure"><dt>{t(M.meSessions)}</dt><dd>{fmt.number(data.sessions)}</dd></div>
              <div class="figure"><dt>{t(M.meErrors)}</dt><dd>{fmt.number(data.errorCount)}</dd></div>
              <div class="figure"><dt>{t(M.overviewAverageDuration)}</dt><dd>{fmt.duration(data.averageDuration)}</dd></div>
              <div class="figure"><dt>{t(M.meLastActivity)}</dt><dd><Time iso={data.lastActivity} /></dd></div>
            </dl>
            <BarTable caption={t(M.overviewByType)} labelHeader={t(M.fieldActivityType)} items={data.byType.map((row) => ({ label: row.activityType, count: row.count }))} />
          </>
        )}
      </section>
      <section class="panel" aria-labelledby="me-sessions">
        <h2 id="me-sessions">{t(M.meYourSessions)}</h2>
        {sessions.error && <ErrorNotice error={sessions.error} />}
        {sessions.data && sessions.data.data.length === 0 && <Empty>{t(M.meNoSessions)}</Empty>}
        {sessions.data && sessions.data.data.length > 0 && <SessionTable rows={sessions.data.data} caption={t(M.meYourSessions)} own hideCaption />}
        {sessions.data && <OffsetPager offset={offset} limit={PAGE} total={sessions.data.pagination.total} shown={sessions.data.data.length} label={t(M.pagerLabel)}
          onPage={(next) => withParams({ offset: next > 0 ? String(next) : undefined })} />}
      </section>
    </ViewRoot>
  );
}
