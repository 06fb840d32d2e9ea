import type { Page, SessionRow } from '../api/types';
import { useConsole } from '../context';
import { useI18n } from '../i18n/i18n';
import { useLoad } from '../hooks/useLoad';
import { Link, useNavigation } from '../routing/navigation';
import { Empty, ErrorNotice, Status } from '../components/Notice';
import { OffsetPager } from '../components/Pager';
import { TableHead } from '../components/TableHead';
import { Time } from '../components/Time';
import { ViewRoot } from '../components/ViewRoot';
import { deviceText, locationText, Missing } from '../components/values';
import { M } from '../i18n/keys';

const PAGE = 50;

/** GET /sessions/active: who is using the app now, from where and on what. */
export function Sessions() {
  const { api } = useConsole();
  const { t } = useI18n();
  const { route, navigate } = useNavigation();
  const offset = Math.max(0, Number(route.params.get('offset')) || 0);
  const loaded = useLoad((signal) => api.get<Page<SessionRow>>('/sessions/active', { limit: PAGE, offset }, signal), [offset]);
  const page = loaded.data;
  return (
    <ViewRoot view="sessions" ready={!loaded.loading} title={t(M.sessionsTitle)}
      actions={<button type="button" class="button" onClick={loaded.reload} disabled={loaded.loading}>{t(M.commonRefresh)}</button>}>
      <p class="muted">{t(M.sessionsIntro)}</p>
      <Status>{loaded.loading ? t(M.commonLoading) : ''}</Status>
      {loaded.error && <ErrorNotice error={loaded.error} />}
      {page && page.data.length === 0 && <Empty>{t(M.sessionsEmpty)}</Empty>}
      {page && page.data.length > 0 && <SessionTable rows={page.data} caption={t(M.sessionsCaption)} />}
      {page && <OffsetPager offset={offset} limit={PAGE} total={page.pagination.total} shown={page.data.length} label={t(M.pagerLabel)}
        onPage={(next) => navigate('sessions', { offset: next > 0 ? String(next) : null })} />}
    </ViewRoot>
  );
}

/** Sessions as a table; `own` adds whether each ended and how long it lasted (the caller's own sessions). */
export function SessionTable({ rows, caption, own = false, hideCaption = false }: { rows: SessionRow[]; caption: string; own?: boolean; hideCaption?: boolean }) {
  const { t, fmt } = useI18n();
  return (
    <div class="table-scroll">
      <table class="data sessions">
        <caption class={hideCaption ? 'visually-hidden' : undefined}>{caption}</caption>
        <TableHead cols={[!own && M.sessionsUsers, M.sessionsDevice, M.sessionsBrowserOs, M.fieldLocation, M.fieldIpAddress, M.sessionsStarted, M.sessionsLastActivity,
          own && M.sessionsState, [M.sessionsPages, 'num'], [M.sessionsActions, 'num'], !own && [M.sessionsTimeline, 'hidden']]} />
        <tbody>
          {rows.map((session) => {
            const users = session.users.length > 0 ? session.users.map((u) => u.userId) : [session.userId];
            const browserOs = [session.browser, session.operatingSystem].filter(Boolean).join(' · ');
            return (
              <tr key={session.sessionId} data-session-id={session.sessionId}>
                {!own && (
                  <td>
                    <ul class="plain">
                      {users.map((userId, index) => <li key={index}>{userId === null ? <span class="muted">{t(M.timelineAnonymous)}</span> : <Link view="timeline" params={{ kind: 'user', id: userId }}>{userId}</Link>}</li>)}
                    </ul>
                  </td>
                )}
                <td>{deviceText(session.deviceInfo) || <Missing />}</td>
                <td class="ua">{browserOs ? <span title={session.userAgent ?? undefined}>{browserOs}</span> : session.userAgent ? session.userAgent.slice(0, 60) : <Missing />}</td>
                <td>{locationText(session.location) || <Missing />}</td>
                <td class="mono">{session.ipAddress ?? <Missing />}</td>
                <td class="nowrap"><Time iso={session.startTime} /></td>
                <td class="nowrap"><Time iso={session.lastActivity} /></td>
                {own && <td>{session.isActive ? <span class="badge badge-ok">{t(M.sessionsActive)}</span> : <>{t(M.sessionsEnded)}{session.duration !== null && session.duration !== undefined ? ` · ${fmt.duration(session.duration)}` : ''}</>}</td>}
                <td class="num">{fmt.number(session.pageViews)}</td>
                <td class="num">{fmt.number(session.actionsCount)}</td>
                {!own && <td><Link view="timeline" params={{ kind: 'session', id: session.sessionId }}>{t(M.sessionsTimeline)}</Link></td>}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
