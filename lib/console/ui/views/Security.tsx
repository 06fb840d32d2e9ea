import { useState } from 'preact/hooks';
import type { SuspiciousAnswer } from '../api/types';
import { useConsole } from '../context';
import { useI18n } from '../i18n/i18n';
import { useLoad } from '../hooks/useLoad';
import { useNavigation } from '../routing/navigation';
import { withChanges } from '../routing/routes';
import { BarTable } from '../components/Charts';
import { DetailPanel } from '../components/DetailPanel';
import { Empty, ErrorNotice, Status } from '../components/Notice';
import { PeriodPicker, periodOfParams } from '../components/PeriodPicker';
import { PeriodText } from '../components/PeriodText';
import { TableHead } from '../components/TableHead';
import { Time } from '../components/Time';
import { ViewRoot } from '../components/ViewRoot';
import { Missing } from '../components/values';
import { AlertsSection } from './security/AlertsSection';
import { M } from '../i18n/keys';

/** Suspicious activity of a period (GET /suspicious) and the alerts the rules raised (GET /alerts). */
export function Security() {
  const { api } = useConsole();
  const { t } = useI18n();
  const { route, navigate } = useNavigation();
  const asked = periodOfParams(route.params);
  const [detailId, setDetailId] = useState<string | null>(null);
  const suspicious = useLoad((signal) => api.get<SuspiciousAnswer>('/suspicious', asked, signal), [asked.startDate, asked.endDate]);
  const [alertsReady, setAlertsReady] = useState(false);
  const withParams = (changes: Record<string, string | undefined>) => navigate('security', withChanges(route.params, changes));
  const answer = suspicious.data;
  return (
    <ViewRoot view="security" ready={!suspicious.loading && alertsReady} title={t(M.securityTitle)}>
      <AlertsSection params={route.params} onParams={withParams} onReady={setAlertsReady} />
      <section class="panel" aria-labelledby="suspicious-heading">
        <h2 id="suspicious-heading">{t(M.securitySuspicious)}</h2>
        <p class="muted small">{answer ? <PeriodText period={answer.period} /> : null}</p>
        <PeriodPicker period={asked.startDate || asked.endDate ? asked : answer?.period}
          onChange={(p) => withParams({ startDate: p.startDate, endDate: p.endDate })} />
        <Status>{suspicious.loading ? t(M.commonLoading) : ''}</Status>
        {suspicious.error && <ErrorNotice error={suspicious.error} />}
        {answer && (
          <div class="stack">
            <BarTable caption={t(M.securityByRule)} labelHeader={t(M.securityRule)}
              items={Object.entries(answer.summary.byRule).map(([rule, count]) => ({ label: rule, count }))} />
            <div>
              {answer.data.length === 0 ? <Empty>{t(M.securityNoSuspicious)}</Empty> : (
                <div class="table-scroll">
                  <table class="data">
                    <caption>{t(M.securitySuspiciousCaption)}</caption>
                    <TableHead cols={[M.fieldStartTime, M.securityRule, M.fieldUserId, M.fieldIpAddress, M.fieldActivityType, M.fieldPath, M.securityMeasure, [M.commonDetails, 'hidden']]} />
                    <tbody>
                      {answer.data.map((item, index) => (
                        <tr key={item.activityId ?? `${item.rule}:${index}`}>
                          <td class="nowrap"><Time iso={item.startTime} /></td>
                          <td><ul class="tags">{(item.rules.length > 0 ? item.rules : [item.rule]).map((rule) => <li key={rule}>{rule}</li>)}</ul></td>
                          <td>{item.userId ?? <Missing />}</td>
                          <td class="mono">{item.ipAddress ?? <Missing />}</td>
                          <td>{item.activityType}</td>
                          <td class="mono">{item.path ?? <Missing />}</td>
                          <td><Measure item={item} /></td>
                          <td>{item.activityId && <button type="button" class="button small" onClick={() => setDetailId(item.activityId)}>{t(M.commonDetails)}</button>}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              )}
            </div>
          </div>
        )}
      </section>
      {detailId !== null && <DetailPanel id={detailId} onClose={() => setDetailId(null)} />}
    </ViewRoot>
  );
}

/** What made the item suspicious: the burst's count and window, or the status, duration and size. */
function Measure({ item }: { item: SuspiciousAnswer['data'][number] }) {
  const { t, fmt } = useI18n();
  if (item.count !== null) {
    return <>{t(M.securityBurst, { count: fmt.number(item.count) })}{item.windowStart && <> · <Time iso={item.windowStart} /></>}</>;
  }
  const parts = [
    item.statusCode !== null ? `HTTP ${item.statusCode}` : '',
    item.duration !== null ? fmt.duration(item.duration) : '',
    item.responseSize !== null ? fmt.bytes(item.responseSize) : '',
  ].filter(Boolean);
  return parts.length > 0 ? <>{parts.join(' · ')}</> : <Missing />;
}
