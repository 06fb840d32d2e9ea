import type { ActivityStats, Period } from '../api/types';
import { useConsole } from '../context';
import { useI18n, type MessageKey } from '../i18n/i18n';
import { useLoad } from '../hooks/useLoad';
import { Link, useNavigation } from '../routing/navigation';
import { BarTable, HourChart, type BarItem } from '../components/Charts';
import { ErrorNotice, Status } from '../components/Notice';
import { PeriodPicker, periodOfParams } from '../components/PeriodPicker';
import { PeriodText } from '../components/PeriodText';
import { ViewRoot } from '../components/ViewRoot';
import { M } from '../i18n/keys';

type Breakdown = Array<Record<string, unknown> & { count: number }>;

/** The breakdowns of /stats this view knows, in the order shown, with the field that names each group. */
const BREAKDOWNS: Array<{ key: string; label: string; caption: MessageKey; header: MessageKey }> = [
  { key: 'byType', label: 'activityType', caption: M.overviewByType, header: M.fieldActivityType },
  { key: 'topPages', label: 'path', caption: M.overviewTopPages, header: M.fieldPath },
  { key: 'topUsers', label: 'userId', caption: M.overviewTopUsers, header: M.fieldUserId },
  { key: 'byAction', label: 'action', caption: M.overviewByAction, header: M.fieldAction },
  { key: 'byBrowser', label: 'browser', caption: M.overviewByBrowser, header: M.fieldBrowser },
  { key: 'byOperatingSystem', label: 'operatingSystem', caption: M.overviewByOperatingSystem, header: M.fieldOperatingSystem },
  { key: 'byDevice', label: 'deviceType', caption: M.overviewByDevice, header: M.overviewDeviceType },
  { key: 'byLocation', label: 'country', caption: M.overviewByLocation, header: M.overviewCountry },
  { key: 'byActorType', label: 'actorType', caption: M.overviewByActorType, header: M.fieldActorType },
];
const KNOWN = new Set(['totalActivities', 'uniqueUsers', 'uniqueSessions', 'totalDuration', 'averageDuration', 'errorRate', 'byHour', ...BREAKDOWNS.map((b) => b.key)]);

/** GET /stats of a period: the headline numbers, activity by hour, and every breakdown it returns. */
export function Overview() {
  const { api } = useConsole();
  const { t } = useI18n();
  const { route, navigate } = useNavigation();
  const asked = periodOfParams(route.params);
  const loaded = useLoad((signal) => api.get<{ data: ActivityStats; period: Period }>('/stats', asked, signal), [route.params.toString()]);
  const stats = loaded.data?.data;
  const period = loaded.data?.period;
  return (
    <ViewRoot view="overview" ready={!loaded.loading} title={t(M.overviewTitle)} subtitle={<PeriodText period={period} />}>
      <PeriodPicker period={asked.startDate || asked.endDate ? asked : period} onChange={(p) => navigate('overview', p)} />
      <Status>{loaded.loading ? t(M.commonLoading) : ''}</Status>
      {loaded.error && <ErrorNotice error={loaded.error} />}
      {stats && period && <OverviewBody stats={stats} period={period} />}
    </ViewRoot>
  );
}

function OverviewBody({ stats, period }: { stats: ActivityStats; period: Period }) {
  const { t, fmt } = useI18n();
  const unknownLabel = t(M.commonUnknown);
  // By name: the breakdowns are listed in BREAKDOWNS, and fields the server adds later are shown too.
  const fields = stats as unknown as Record<string, unknown>;
  const itemsOf = (key: string, label: string): BarItem[] => ((fields[key] as Breakdown | undefined) ?? []).map((row) => {
    const value = row[label];
    const text = value === null || value === undefined ? unknownLabel : String(value);
    return { label: text, count: row.count, cell: linkFor(label, value, period) ?? text };
  });
  const extraNumbers = Object.entries(stats).filter(([key, value]) => !KNOWN.has(key) && typeof value === 'number');
  const extraLists = Object.entries(stats).filter(([key, value]) => !KNOWN.has(key) && Array.isArray(value)) as Array<[string, Breakdown]>;
  return (
    <>
      <section class="stat-grid" aria-label={t(M.overviewTotals)}>
        <Stat name="total" label={t(M.overviewTotal)} value={fmt.number(stats.totalActivities)} />
        <Stat name="uniqueUsers" label={t(M.overviewUniqueUsers)} value={fmt.number(stats.uniqueUsers)} />
        <Stat name="uniqueSessions" label={t(M.overviewUniqueSessions)} value={fmt.number(stats.uniqueSessions)} />
        <Stat name="errorRate" label={t(M.overviewErrorRate)} value={fmt.percent(stats.errorRate)} tone={stats.errorRate >= 0.05 ? 'warn' : undefined} />
        <Stat name="averageDuration" label={t(M.overviewAverageDuration)} value={fmt.duration(stats.averageDuration)} />
        <Stat name="totalDuration" label={t(M.overviewTotalDuration)} value={fmt.duration(stats.totalDuration)} />
        {extraNumbers.map(([key, value]) => <Stat key={key} name={key} label={key} value={fmt.number(value as number)} />)}
      </section>
      <section class="panel">
        <h2>{t(M.overviewByHourCaption)}</h2>
        <HourChart counts={stats.byHour ?? []} caption={t(M.overviewByHourCaption)} />
      </section>
      <div class="grid-2">
        {BREAKDOWNS.filter((b) => fields[b.key] !== undefined).map((b) => (
          <section class="panel" key={b.key}>
            <BarTable caption={t(b.caption)} labelHeader={t(b.header)} items={itemsOf(b.key, b.label)} />
          </section>
        ))}
        {extraLists.map(([key, rows]) => {
          const label = Object.keys(rows[0] ?? {}).find((k) => k !== 'count') ?? key;
          return (
            <section class="panel" key={key}>
              <BarTable caption={key} labelHeader={label} items={itemsOf(key, label)} />
            </section>
          );
        })}
      </div>
    </>
  );
}

/** A group that is a filter of the explorer or a timeline links there, for the same period. */
function linkFor(label: string, value: unknown, period: Period) {
  if (typeof value !== 'string' || value === '') return null;
  if (label === 'userId') return <Link view="timeline" params={{ kind: 'user', id: value }}>{value}</Link>;
  if (label === 'activityType' || label === 'action' || label === 'actorType') {
    return <Link view="explorer" params={{ [label]: value, startDate: period.startDate, endDate: period.endDate }}>{value}</Link>;
  }
  return null;
}

function Stat({ name, label, value, tone }: { name: string; label: string; value: string; tone?: 'warn' }) {
  return (
    <div class={`stat${tone ? ` stat-${tone}` : ''}`}>
      <div class="stat-label">{label}</div>
      <div class="stat-value" data-stat={name}>{value}</div>
    </div>
  );
}
