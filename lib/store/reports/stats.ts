import type { Knex } from 'knex';
import type { Database } from '../database';
import { applyActivityFilters } from './activityRows';
import { errorRate, type Counted } from './aggregates';
import type { Period, StatsFilters } from './filters';
import { isoOrNull, textOrNull } from './rowValues';
import { EVERY_TENANT, type TenantScope } from './tenantScope';
import { readWithRollups, type ReportReadOptions } from './withRollups';
import { statsFromRollups, summaryFromRollups } from './statsRollups';

/** The filters with whose rows they may cover: every aggregate of this file is tenant-scoped. */
type ScopedStatsFilters = StatsFilters & { scope: TenantScope };

export interface ActivityStats {
  totalActivities: number;
  uniqueUsers: number;
  uniqueSessions: number;
  totalDuration: number;
  averageDuration: number;
  errorRate: number;
  byType: Counted<'activityType'>;
  byHour: Counted<'hour', number>;
  topPages: Counted<'path'>;
  topUsers: Counted<'userId'>;
  byDevice: Counted<'deviceType', string | null>;
  byBrowser: Counted<'browser', string | null>;
  byOperatingSystem: Counted<'operatingSystem', string | null>;
  byLocation: Counted<'country', string | null>;
  /** Actions, largest first (at most TOP_ACTIONS): approvals, rejections, invalid token attempts… */
  byAction: Counted<'action'>;
  /** user, admin, agent, system, service; null for requests. */
  byActorType: Counted<'actorType', string | null>;
}

export interface ActivityTotals {
  totalActivities: number;
  uniqueUsers: number;
  uniqueSessions: number;
  totalDuration: number;
  averageDuration: number;
  errorCount: number;
  /** Start of the latest activity in the range; null when there is none. */
  lastActivity: string | null;
}

/** Breakdowns other than by type and by hour name their ten largest groups; the rest is a long tail nobody reads on a dashboard. */
export const TOP_N = 10;
/** Actions are what apps name themselves; a dashboard of them needs more than ten. */
export const TOP_ACTIONS = 50;

/**
 * Counts, sums and the failure count of the range. Distinct users and sessions are counted over a
 * `select distinct` each: PostgreSQL hashes those, where count(distinct) sorts every row of the
 * range (half the time on a million-row table, measured).
 */
async function activityTotals(knex: Database, filters: ScopedStatsFilters): Promise<ActivityTotals> {
  const distinct = (column: string): Knex.QueryBuilder =>
    statsRows(knex('user_activity').distinct(column).whereNotNull(column), filters);
  const row = (await statsRows(knex('user_activity'), filters)
    .select(knex.raw(`count(*) as total,
      (select count(*) from (?) as distinct_users) as users,
      (select count(*) from (?) as distinct_sessions) as sessions,
      coalesce(sum(duration), 0) as total_duration,
      coalesce(avg(duration), 0) as average_duration,
      count(*) filter (where not success) as errors,
      max(start_time) as last_activity`, [distinct('user_id'), distinct('session_id')]))
    .first()) as Record<string, unknown> | undefined;
  return {
    totalActivities: Number(row?.['total'] ?? 0),
    uniqueUsers: Number(row?.['users'] ?? 0),
    uniqueSessions: Number(row?.['sessions'] ?? 0),
    totalDuration: Number(row?.['total_duration'] ?? 0),
    averageDuration: Number(row?.['average_duration'] ?? 0),
    errorCount: Number(row?.['errors'] ?? 0),
    lastActivity: isoOrNull(row?.['last_activity']),
  };
}

/**
 * The rows the statistics count: asset requests (a favicon, robots.txt, static files) only when
 * activityType names them, so that a browser's housekeeping is not counted as use or as errors.
 */
function statsRows(query: Knex.QueryBuilder, filters: ScopedStatsFilters): Knex.QueryBuilder {
  applyActivityFilters(query, filters, filters.scope);
  if (filters.activityTypes === undefined) query.whereNot('user_activity.activity_type', 'asset');
  return query;
}

export interface Group { key: unknown; count: number }

/**
 * Row counts per value of `expression` (a fixed SQL expression of this file, never caller input),
 * largest first. Text keys tie-break in byte order (collate "C") so PostgreSQL and PGlite agree
 * whatever their locale; null keys come last.
 */
async function groupCounts(knex: Database, filters: ScopedStatsFilters, expression: string, options: { limit?: number; skipNull?: boolean; byKey?: boolean; text?: boolean } = {}): Promise<Group[]> {
  const query = statsRows(knex('user_activity'), filters)
    .select(knex.raw(`${expression} as "key"`), knex.raw('count(*) as "count"'))
    .groupByRaw('1');
  if (options.skipNull) query.whereRaw(`(${expression}) is not null`);
  // An ordinal ("order by 1") cannot take a collation, so the expression is repeated, in
  // parentheses because collate binds tighter than ->>.
  const keyOrder = `(${expression})${options.text ? ' collate "C"' : ''} asc nulls last`;
  query.orderByRaw(options.byKey ? keyOrder : `count(*) desc, ${keyOrder}`);
  if (options.limit !== undefined) query.limit(options.limit);
  const rows = (await query) as Array<{ key: unknown; count: unknown }>;
  return rows.map((row) => ({ key: row.key ?? null, count: Number(row.count) }));
}

/** The breakdowns of `GET /stats`, in the order of ActivityStats, each as its query returns it. */
type StatsGroups = [Group[], Group[], Group[], Group[], Group[], Group[], Group[], Group[], Group[], Group[]];

/**
 * Everything `GET /stats` reports about the activities in the range; each breakdown is its own
 * query with its own limit. A range with whole days the rollups job has built, and no filter but
 * the range, reads those days from the rollups (lib/store/reports/statsRollups.ts); the numbers
 * are the same.
 */
export async function activityStats(knex: Database, scope: TenantScope, statsFilters: StatsFilters, options: ReportReadOptions = {}): Promise<ActivityStats> {
  if (options.rollups !== false && onlyPeriod(statsFilters)) {
    const rolled = await readWithRollups(knex, statsFilters, { scope }, statsFromRollups);
    if (rolled) return statsOf(...rolled);
  }
  const filters: ScopedStatsFilters = { ...statsFilters, scope };
  const top = { limit: TOP_N, text: true };
  const [totals, ...groups] = await Promise.all([
    activityTotals(knex, filters),
    groupCounts(knex, filters, 'activity_type', { text: true }),
    // date_part, not extract: extract returns numeric since PostgreSQL 14 (about 100 ms against 60 ms over a week of npm run bench:console's rows).
    groupCounts(knex, filters, `date_part('hour', start_time at time zone 'UTC')`, { byKey: true }),
    groupCounts(knex, filters, 'path', { ...top, skipNull: true }),
    groupCounts(knex, filters, 'user_id', { ...top, skipNull: true }),
    groupCounts(knex, filters, `device_info->>'type'`, top),
    groupCounts(knex, filters, 'browser', top),
    groupCounts(knex, filters, 'operating_system', top),
    groupCounts(knex, filters, `location->>'country'`, top),
    groupCounts(knex, filters, 'action', { limit: TOP_ACTIONS, text: true, skipNull: true }),
    groupCounts(knex, filters, 'actor_type', { text: true }),
  ]);
  return statsOf(totals, groups as StatsGroups);
}

function statsOf(totals: ActivityTotals, [byType, byHour, pages, users, devices, browsers, systems, countries, actions, actorTypes]: StatsGroups): ActivityStats {
  return {
    totalActivities: totals.totalActivities,
    uniqueUsers: totals.uniqueUsers,
    uniqueSessions: totals.uniqueSessions,
    totalDuration: totals.totalDuration,
    averageDuration: totals.averageDuration,
    errorRate: errorRate(totals.errorCount, totals.totalActivities),
    byType: byType.map((g) => ({ activityType: String(g.key), count: g.count })),
    byHour: byHour.map((g) => ({ hour: Number(g.key), count: g.count })),
    topPages: pages.map((g) => ({ path: String(g.key), count: g.count })),
    topUsers: users.map((g) => ({ userId: String(g.key), count: g.count })),
    byDevice: devices.map((g) => ({ deviceType: textOrNull(g.key), count: g.count })),
    byBrowser: browsers.map((g) => ({ browser: textOrNull(g.key), count: g.count })),
    byOperatingSystem: systems.map((g) => ({ operatingSystem: textOrNull(g.key), count: g.count })),
    byLocation: countries.map((g) => ({ country: textOrNull(g.key), count: g.count })),
    byAction: actions.map((g) => ({ action: String(g.key), count: g.count })),
    byActorType: actorTypes.map((g) => ({ actorType: textOrNull(g.key), count: g.count })),
  };
}

/**
 * The statistics' filters the rollups can answer: the range alone (the tenant scope is always
 * theirs). Any other filter, including one added to StatsFilters later, sends the report to the rows.
 */
function onlyPeriod(filters: StatsFilters): boolean {
  return Object.entries(filters).every(([key, value]) => key === 'startDate' || key === 'endDate' || value === undefined);
}

/** What `GET /me/summary` reports about one user's activities in the range. */
export interface UserSummary {
  totalActivities: number;
  sessions: number;
  byType: Counted<'activityType'>;
  lastActivity: string | null;
  errorCount: number;
  averageDuration: number;
}

/**
 * One user's activities in the range; the user filter is mandatory here, so (user_id, start_time)
 * serves both queries. Whole days the rollups job has built are read from the rollups.
 */
export async function userSummary(knex: Database, userId: string, range: Period, options: ReportReadOptions = {}): Promise<UserSummary> {
  if (options.rollups !== false) {
    const rolled = await readWithRollups(knex, range, { scope: EVERY_TENANT, userId }, summaryFromRollups);
    if (rolled) return summaryOf(...rolled);
  }
  // Mandatory user filter, and no tenant filter: /me/summary is about the caller's own rows.
  const filters: ScopedStatsFilters = { ...range, userId, scope: EVERY_TENANT };
  const [totals, byType] = await Promise.all([
    activityTotals(knex, filters),
    groupCounts(knex, filters, 'activity_type', { text: true }),
  ]);
  return summaryOf(totals, byType);
}

function summaryOf(totals: ActivityTotals, byType: Group[]): UserSummary {
  return {
    totalActivities: totals.totalActivities,
    sessions: totals.uniqueSessions,
    byType: byType.map((g) => ({ activityType: String(g.key), count: g.count })),
    lastActivity: totals.lastActivity,
    errorCount: totals.errorCount,
    averageDuration: totals.averageDuration,
  };
}
