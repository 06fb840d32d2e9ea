import type { Knex } from 'knex';
import type { SuspiciousThresholds } from '../../types';
import type { Database } from '../database';
import { isoOf, numberOrNull } from './rowValues';
import { applyTenantScope, tenantCondition, type TenantScope } from './tenantScope';

/** The rules of `GET /suspicious`, in the order items of the same time are listed. */
export const SUSPICIOUS_RULES = [
  'failed_login',
  'unauthorized',
  'forbidden',
  'slow_request',
  'large_response',
  'repeated_failed_logins_ip',
  'repeated_failed_logins_user',
] as const;
export type SuspiciousRule = (typeof SUSPICIOUS_RULES)[number];

/** One finding: a stored activity that matched a rule, or (repeated_* rules) a burst of failed logins. */
export interface SuspiciousItem {
  /** The first rule it matched, in SUSPICIOUS_RULES order. */
  rule: SuspiciousRule;
  /** Every rule the activity matched, in SUSPICIOUS_RULES order: an activity is listed once. */
  rules: SuspiciousRule[];
  /** The matching row; null for the repeated_* rules, which are about many rows. */
  activityId: string | null;
  userId: string | null;
  ipAddress: string | null;
  /** When it happened; for repeated_* rules the latest failure of the burst (= windowEnd). */
  startTime: string;
  activityType: string;
  path: string | null;
  statusCode: number | null;
  duration: number | null;
  responseSize: number | null;
  /** repeated_* rules: failed logins from windowStart to windowEnd; null otherwise. */
  count: number | null;
  windowStart: string | null;
  windowEnd: string | null;
}

export interface SuspiciousQuery {
  startDate: Date;
  endDate: Date;
  /** Items returned at most, over all rules. */
  limit: number;
  /** Evaluate only this rule. */
  rule?: SuspiciousRule;
  thresholds: SuspiciousThresholds;
}

export interface SuspiciousResult {
  /** Newest first, at most `limit`. */
  data: SuspiciousItem[];
  /** Every match in the period per evaluated rule, not only those returned. */
  byRule: Partial<Record<SuspiciousRule, number>>;
}

type SingleRowRule = Exclude<SuspiciousRule, 'repeated_failed_logins_ip' | 'repeated_failed_logins_user'>;

/** The condition each single-row rule adds to the time range; thresholds are bound, never spliced. */
const SINGLE_ROW_RULES: Record<SingleRowRule, (q: Knex.QueryBuilder, t: SuspiciousThresholds) => Knex.QueryBuilder> = {
  failed_login: (q) => q.where('activity_type', 'login_failed'),
  unauthorized: (q) => q.where('status_code', 401),
  forbidden: (q) => q.where('status_code', 403),
  slow_request: (q, t) => q.where('duration', '>', t.slowRequestMs),
  large_response: (q, t) => q.where('response_size', '>', t.largeResponseBytes),
};

/** The column a repeated_* rule groups failures by. */
const REPEATED_RULES = {
  repeated_failed_logins_ip: 'ip_address',
  repeated_failed_logins_user: 'user_id',
} as const;

/**
 * Evaluates the rules over `[startDate, endDate]`. Every query is bounded on start_time, so it
 * runs on the start_time index (or (activity_type, start_time) for failed logins), and each rule
 * returns at most `limit` items, of which the newest `limit` overall are kept.
 */
export async function findSuspicious(knex: Database, scope: TenantScope, query: SuspiciousQuery): Promise<SuspiciousResult> {
  const rules = query.rule ? [query.rule] : SUSPICIOUS_RULES;
  const results = await Promise.all(rules.map((rule) => (rule in REPEATED_RULES
    ? repeatedFailures(knex, rule as keyof typeof REPEATED_RULES, query, scope)
    : singleRowMatches(knex, rule as SingleRowRule, query, scope))));

  const byRule: Partial<Record<SuspiciousRule, number>> = {};
  rules.forEach((rule, i) => { byRule[rule] = results[i]?.total ?? 0; });
  const data = oncePerActivity(results.flatMap((r) => r.items)).sort(newestFirst).slice(0, query.limit);
  return { data, byRule };
}

/**
 * One item per activity, with every rule it matched (results come in rule order). Each rule's
 * newest `limit` were read, so an activity that falls out of one rule's list is older than `limit`
 * other items and never among the newest `limit` kept.
 */
function oncePerActivity(items: SuspiciousItem[]): SuspiciousItem[] {
  const byActivity = new Map<string, SuspiciousItem>();
  const out: SuspiciousItem[] = [];
  for (const item of items) {
    const seen = item.activityId === null ? undefined : byActivity.get(item.activityId);
    if (seen) {
      seen.rules.push(item.rule);
      continue;
    }
    if (item.activityId !== null) byActivity.set(item.activityId, item);
    out.push(item);
  }
  return out;
}

interface RuleResult {
  items: SuspiciousItem[];
  total: number;
}

async function singleRowMatches(knex: Database, rule: SingleRowRule, query: SuspiciousQuery, scope: TenantScope): Promise<RuleResult> {
  const builder = applyTenantScope(knex('user_activity'), scope)
    .select('id', 'user_id', 'ip_address', 'start_time', 'activity_type', 'path', 'status_code', 'duration', 'response_size')
    // The total rides along on every row, so one statement gives both the page and the count.
    .select(knex.raw('count(*) over () as total'))
    .where('start_time', '>=', query.startDate)
    .where('start_time', '<=', query.endDate)
    // A favicon's 404 or a large static file is the browser's doing, not a user's.
    .whereNot('activity_type', 'asset');
  const rows = (await SINGLE_ROW_RULES[rule](builder, query.thresholds)
    .orderBy([{ column: 'start_time', order: 'desc' }, { column: 'id', order: 'desc' }])
    .limit(query.limit)) as Array<Record<string, unknown>>;
  return {
    total: Number(rows[0]?.['total'] ?? 0),
    items: rows.map((row) => ({
      rule,
      rules: [rule],
      activityId: row['id'] as string,
      userId: (row['user_id'] as string | null) ?? null,
      ipAddress: (row['ip_address'] as string | null) ?? null,
      startTime: isoOf(row['start_time']),
      activityType: row['activity_type'] as string,
      path: (row['path'] as string | null) ?? null,
      statusCode: numberOrNull(row['status_code']),
      duration: numberOrNull(row['duration']),
      responseSize: numberOrNull(row['response_size']),
      count: null,
      windowStart: null,
      windowEnd: null,
    })),
  };
}

/*
 * Bursts of failed logins per IP or per account. For each failure at t, `in_window` counts the
 * failures of the same key in [t - window, t]; a failure where that reaches the threshold is a
 * trigger. Triggers whose windows overlap are one burst (one attack is one finding, not one per
 * extra attempt); a burst runs from the first failure of its first window to its last trigger.
 * `before_window` (failures earlier than the window) turns the burst into a count exactly, ties
 * in start_time included. Failures up to one window before startDate are read so that a burst
 * straddling startDate is judged on all its failures; only triggers inside the period count.
 */
const REPEATED_SQL = `
with failures as (
  select ?? as key, start_time,
    count(*) over recent as in_window,
    min(start_time) over recent as window_start,
    count(*) over (partition by ?? order by start_time range between unbounded preceding and current row) - count(*) over recent as before_window
  from user_activity
  where activity_type = 'login_failed' and ?? is not null and start_time >= ? and start_time <= ? and %TENANT%
  window recent as (partition by ?? order by start_time range between make_interval(mins => ?::int) preceding and current row)
),
triggers as (
  select key, start_time, window_start, before_window, in_window,
    lag(start_time) over (partition by key order by start_time) as previous_trigger
  from failures
  where in_window >= ? and start_time >= ?
),
bursts as (
  select *, sum(case when previous_trigger is null or window_start > previous_trigger then 1 else 0 end)
    over (partition by key order by start_time rows between unbounded preceding and current row) as burst
  from triggers
)
select key, min(window_start) as window_start, max(start_time) as window_end,
  max(before_window + in_window) - min(before_window) as failures,
  count(*) over () as total
from bursts
group by key, burst
order by window_end desc, key
limit ?`;

async function repeatedFailures(knex: Database, rule: keyof typeof REPEATED_RULES, query: SuspiciousQuery, scope: TenantScope): Promise<RuleResult> {
  const column = REPEATED_RULES[rule];
  const { failedLoginThreshold, failedLoginWindowMinutes } = query.thresholds;
  const lookBack = new Date(query.startDate.getTime() - failedLoginWindowMinutes * 60_000);
  // Bursts are counted over the scope's rows only: another tenant's failures neither show nor add up.
  const tenant = tenantCondition(scope) ?? { sql: 'true', bindings: [] };
  const result = (await knex.raw(REPEATED_SQL.replace('%TENANT%', tenant.sql), [
    column, column, column, lookBack, query.endDate, ...tenant.bindings, column, failedLoginWindowMinutes,
    failedLoginThreshold, query.startDate, query.limit,
  ])) as { rows: Array<Record<string, unknown>> };
  return {
    total: Number(result.rows[0]?.['total'] ?? 0),
    items: result.rows.map((row) => ({
      rule,
      rules: [rule],
      activityId: null,
      userId: column === 'user_id' ? (row['key'] as string) : null,
      ipAddress: column === 'ip_address' ? (row['key'] as string) : null,
      startTime: isoOf(row['window_end']),
      activityType: 'login_failed',
      path: null,
      statusCode: null,
      duration: null,
      responseSize: null,
      count: Number(row['failures']),
      windowStart: isoOf(row['window_start']),
      windowEnd: isoOf(row['window_end']),
    })),
  };
}

/** Newest first; at the same time, in rule order, then by activity id, so pages are stable. */
function newestFirst(a: SuspiciousItem, b: SuspiciousItem): number {
  if (a.startTime !== b.startTime) return a.startTime < b.startTime ? 1 : -1;
  const byRule = SUSPICIOUS_RULES.indexOf(a.rule) - SUSPICIOUS_RULES.indexOf(b.rule);
  if (byRule !== 0) return byRule;
  const keyA = a.activityId ?? a.ipAddress ?? a.userId ?? '';
  const keyB = b.activityId ?? b.ipAddress ?? b.userId ?? '';
  return keyA < keyB ? 1 : keyA > keyB ? -1 : 0;
}
