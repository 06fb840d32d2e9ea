import type { Knex } from 'knex';
import type { Database } from '../database';
import { errorRate, type Counted } from './aggregates';
import type { Period } from './filters';
import { isoOf, textOrNull } from './rowValues';
import { applyTenantScope, type TenantScope } from './tenantScope';
import { readWithRollups, type ReportReadOptions } from './withRollups';
import { complianceCounts } from './complianceRollups';

import { PRIVILEGED_ROLES, PRIVILEGED_TYPES } from './privileged';

// Their own file, so the rollups' dimensions (lib/store/rollups/dimensions.ts) read them without importing this one.
export { PRIVILEGED_ROLES, PRIVILEGED_TYPES };

/** The rule the privileged-actions section applies, in words, for the report itself. */
export const PRIVILEGED_RULE = `Rows whose recorded caller role (details.custom.role, or details.role for events recorded without the capture middleware) is ${PRIVILEGED_ROLES.join(' or ')}, and every ${PRIVILEGED_TYPES.join(' or ')} row whoever performed it.`;

export const TOP_FAILING_LIMIT = 10;
export const PRIVILEGED_ITEMS_LIMIT = 100;
export const TRAIL_ACCESS_LIMIT = 500;

export interface ComplianceFigures {
  activityByType: Counted<'activityType'>;
  authentication: {
    logins: number;
    logouts: number;
    failedLogins: number;
    tokenRefreshes: number;
    topFailingIps: Array<{ ipAddress: string; failures: number }>;
    topFailingAccounts: Array<{ userId: string; failures: number }>;
  };
  privilegedActions: {
    rule: string;
    count: number;
    items: Array<{ userId: string | null; activityType: string; action: string | null; path: string | null; time: string }>;
  };
  trailAccess: Array<{ userId: string | null; activityType: string; route: string | null; time: string }>;
  sessions: { started: number; distinctUsers: number };
  errorRate: number;
  oldestRecord: string | null;
}

type Row = Record<string, unknown>;

const scanned = (query: Knex.QueryBuilder): Promise<Row[]> => query as unknown as Promise<Row[]>;

/**
 * Everything the compliance report states about a period, over the rows of the tenant scope. Every
 * user_activity query is bounded by the period on start_time (or by activity_type and start_time),
 * so it reads one index range.
 */
export async function complianceFigures(knex: Database, scope: TenantScope, period: Period, options: ReportReadOptions = {}): Promise<ComplianceFigures> {
  const { startDate, endDate } = period;
  // Whole days the rollups job has built: the counts come from the rollups (complianceRollups.ts).
  const rolled = options.rollups === false ? null : await readWithRollups(knex, period, { scope }, complianceCounts);
  const inPeriod = (query: Knex.QueryBuilder): Knex.QueryBuilder => applyTenantScope(query.whereBetween('start_time', [startDate, endDate]), scope);
  const roleIsPrivileged = `coalesce(details->'custom'->>'role', details->>'role') in (${PRIVILEGED_ROLES.map(() => '?').join(', ')})`;

  const [byType, failingIps, failingAccounts, privileged, trail, sessions, oldest] = await Promise.all([
    rolled?.byType ?? scanned(
    // Per type with its failures: the type breakdown, the login counts and the error rate in one scan.
    inPeriod(knex('user_activity').select('activity_type').count({ count: '*' }).select(knex.raw('count(*) filter (where not success) as failures')))
      .groupBy('activity_type').orderBy([{ column: 'count', order: 'desc' }, { column: 'activity_type', order: 'asc' }])),
    rolled?.failingIps ?? scanned(inPeriod(knex('user_activity').select('ip_address').count({ failures: '*' }).where('activity_type', 'login_failed').whereNotNull('ip_address'))
      .groupBy('ip_address').orderBy([{ column: 'failures', order: 'desc' }, { column: 'ip_address', order: 'asc' }]).limit(TOP_FAILING_LIMIT)),
    rolled?.failingAccounts ?? scanned(inPeriod(knex('user_activity').select('user_id').count({ failures: '*' }).where('activity_type', 'login_failed').whereNotNull('user_id'))
      .groupBy('user_id').orderBy([{ column: 'failures', order: 'desc' }, { column: 'user_id', order: 'asc' }]).limit(TOP_FAILING_LIMIT)),
    // The window count is taken before the limit, so it is the total however many items are listed;
    // the rollups count them without reading them all.
    inPeriod(knex('user_activity').select('user_id', 'activity_type', 'action', 'path', 'start_time').select(knex.raw(rolled ? '? as total' : 'count(*) over () as total', rolled ? [rolled.privilegedCount] : [])))
      .where((q) => { q.whereRaw(roleIsPrivileged, [...PRIVILEGED_ROLES]).orWhereIn('activity_type', [...PRIVILEGED_TYPES]); })
      .orderBy([{ column: 'start_time', order: 'desc' }, { column: 'id', order: 'desc' }]).limit(PRIVILEGED_ITEMS_LIMIT) as Promise<Row[]>,
    inPeriod(knex('user_activity').select('user_id', 'activity_type', 'start_time').select(knex.raw(`coalesce(details->'custom'->>'route', details->>'route') as route`)))
      .whereIn('activity_type', ['audit_read', 'audit_export'])
      .orderBy([{ column: 'start_time', order: 'desc' }, { column: 'id', order: 'desc' }]).limit(TRAIL_ACCESS_LIMIT) as Promise<Row[]>,
    (applyTenantScope(knex('activity_sessions').count({ started: '*' }).select(knex.raw('count(distinct user_id) as distinct_users'))
      .whereBetween('start_time', [startDate, endDate]), scope, 'activity_sessions').first()) as Promise<Row | undefined>,
    // Over the whole table, not the period: how far back the trail (of the scope) reaches now.
    applyTenantScope(knex('user_activity').select('start_time'), scope).orderBy('start_time', 'asc').limit(1).first() as Promise<Row | undefined>,
  ]);

  const countOf = (type: string): number => Number(byType.find((r) => r['activity_type'] === type)?.['count'] ?? 0);
  // activityByType still lists asset requests; the error rate, like GET /stats, leaves them out.
  const used = byType.filter((r) => r['activity_type'] !== 'asset');
  const total = used.reduce((sum, r) => sum + Number(r['count']), 0);
  const failures = used.reduce((sum, r) => sum + Number(r['failures']), 0);

  return {
    activityByType: byType.map((r) => ({ activityType: String(r['activity_type']), count: Number(r['count']) })),
    authentication: {
      logins: countOf('login'),
      logouts: countOf('logout'),
      failedLogins: countOf('login_failed'),
      tokenRefreshes: countOf('token_refresh'),
      topFailingIps: failingIps.map((r) => ({ ipAddress: String(r['ip_address']), failures: Number(r['failures']) })),
      topFailingAccounts: failingAccounts.map((r) => ({ userId: String(r['user_id']), failures: Number(r['failures']) })),
    },
    privilegedActions: {
      rule: PRIVILEGED_RULE,
      count: Number(privileged[0]?.['total'] ?? 0),
      items: privileged.map((r) => ({
        userId: textOrNull(r['user_id']),
        activityType: String(r['activity_type']),
        action: textOrNull(r['action']),
        path: textOrNull(r['path']),
        time: isoOf(r['start_time']),
      })),
    },
    trailAccess: trail.map((r) => ({ userId: textOrNull(r['user_id']), activityType: String(r['activity_type']), route: textOrNull(r['route']), time: isoOf(r['start_time']) })),
    sessions: { started: Number(sessions?.['started'] ?? 0), distinctUsers: Number(sessions?.['distinct_users'] ?? 0) },
    errorRate: errorRate(failures, total),
    oldestRecord: oldest ? isoOf(oldest['start_time']) : null,
  };
}
