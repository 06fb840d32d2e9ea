import type { Knex } from 'knex';
import type { AlertRuleName } from '../types';
import { SECURITY_EVENTS } from '../securityEvents';
import { countByKeyAndWindow, countryMoves, type WindowCount, type WindowCountQuery } from '../store/alerts/windowCounts';
import { countSliding } from '../store/alerts/slidingCounts';
import type { AlertCandidate } from '../store/alerts/alertCandidate';
import { distanceBetweenCountries } from './countryCentroids';
import type { ResolvedAlertRule } from './settings';

export type { AlertCandidate };

/** The actions `token_abuse` counts; apps record them (tracker.record) when they refuse a token. */
export const TOKEN_ABUSE_ACTIONS = [SECURITY_EVENTS.AUTHN_TOKEN_INVALID, SECURITY_EVENTS.AUTHN_TOKEN_EXPIRED, SECURITY_EVENTS.AUTHN_TOKEN_REUSE] as const;

const HALF_EARTH_CIRCUMFERENCE_KM = 20_037;

/** Lists in details stop here, so one alert stays small however big the attack. */
const MAX_LISTED = 20;

type Range = { from: Date; until: Date };
type RuleEvaluator = (knex: Knex, rule: ResolvedAlertRule, range: Range) => Promise<AlertCandidate[]>;

type Describe = (found: WindowCount, rule: ResolvedAlertRule) => { summary: string; details?: Record<string, unknown>; count?: number };
type Spec = (rule: ResolvedAlertRule) => Omit<WindowCountQuery, 'windowMinutes' | 'from' | 'until'>;

/**
 * A rule that counts rows of a key (an IP, an account) within any span of its window, however the
 * span falls on the clock: what an attacker does cannot slip between two fixed windows. An alert
 * covers its first row and the window after it; the key's next alert needs rows after that, so a
 * sustained attack gives one alert per window, not one per row. Without `minRows`, `having` must be
 * atLeast(rule); with it, `having` counts something else and `minRows` is a row count it implies.
 */
function sliding(name: AlertRuleName, spec: Spec, describe: Describe, minRows?: (rule: ResolvedAlertRule) => number): RuleEvaluator {
  return async (knex, rule, range) => {
    const found = await countSliding(knex, {
      ...spec(rule), windowMinutes: rule.windowMinutes, ...range, rule: name,
      minRows: Math.max(1, Math.ceil(minRows ? minRows(rule) : rule.threshold)), countOnly: minRows === undefined,
    });
    return found.map((f) => candidate(name, f, rule, describe));
  };
}

/** A rule that counts rows per key and fixed window (a rate or a total per period); `describe` turns a firing into the alert's words. */
function counting(name: AlertRuleName, spec: Spec, describe: Describe): RuleEvaluator {
  return async (knex, rule, range) => {
    const found = await countByKeyAndWindow(knex, { ...spec(rule), windowMinutes: rule.windowMinutes, ...range });
    return found.map((f) => candidate(name, f, rule, describe));
  };
}

function candidate(name: AlertRuleName, f: WindowCount, rule: ResolvedAlertRule, describe: Describe): AlertCandidate {
  const described = describe(f, rule);
  return {
    rule: name, key: f.key, windowStart: f.windowStart, windowEnd: f.windowEnd, severity: rule.severity, tenantId: f.tenantId,
    count: described.count ?? f.count, firstSeen: f.firstSeen, lastSeen: f.lastSeen, summary: described.summary,
    details: { threshold: rule.threshold, windowMinutes: rule.windowMinutes, ...described.details },
  };
}

const atLeast = (rule: ResolvedAlertRule): Pick<WindowCountQuery, 'having' | 'havingBindings'> => ({ having: 'count(*) >= ?', havingBindings: [rule.threshold] });
const minutes = (rule: ResolvedAlertRule): string => `${rule.windowMinutes} minute${rule.windowMinutes === 1 ? '' : 's'}`;
const scopeKey = (rule: ResolvedAlertRule): string => (rule.groupBy === 'tenant' ? 'tenant_id' : "'global'");
const forKey = (key: string, rule: ResolvedAlertRule): string => (rule.groupBy === 'tenant' ? ` in tenant ${key}` : '');
const list = (value: unknown): string[] => (Array.isArray(value) ? (value as unknown[]).map(String).sort().slice(0, MAX_LISTED) : []);

/**
 * The built-in rules. Each reads user_activity from `range.from` (the start of a window) to
 * `range.until` with one statement and returns the keys and windows that met it.
 */
export const RULES: Readonly<Record<AlertRuleName, RuleEvaluator>> = {
  failed_logins_per_ip: sliding('failed_logins_per_ip', (rule) => ({
    key: 'ip_address', where: "activity_type = 'login_failed'", measures: 'jsonb_agg(distinct user_id) filter (where user_id is not null) as accounts', ...atLeast(rule),
  }), (f, rule) => ({
    summary: `${f.count} failed logins from IP ${f.key} within ${minutes(rule)}`,
    details: { accounts: list(f.measures['accounts']) },
  })),
  failed_logins_per_account: sliding('failed_logins_per_account', (rule) => ({
    key: 'user_id', where: "activity_type = 'login_failed'", measures: 'jsonb_agg(distinct ip_address) filter (where ip_address is not null) as ips', ...atLeast(rule),
  }), (f, rule) => ({
    summary: `${f.count} failed logins against account ${f.key} within ${minutes(rule)}`,
    details: { ipAddresses: list(f.measures['ips']) },
  })),
  ip_many_accounts: sliding('ip_many_accounts', (rule) => ({
    key: 'ip_address', where: "activity_type = 'login_failed' and user_id is not null",
    measures: 'count(distinct user_id) as account_count, jsonb_agg(distinct user_id) as accounts',
    having: 'count(distinct user_id) >= ?', havingBindings: [rule.threshold],
  }), (f, rule) => ({
    summary: `IP ${f.key} failed to log in to ${Number(f.measures['account_count'])} accounts within ${minutes(rule)} (${f.count} attempts)`,
    details: { accountCount: Number(f.measures['account_count']), accounts: list(f.measures['accounts']) },
  }), (rule) => rule.threshold),
  auth_failure_burst: sliding('auth_failure_burst', (rule) => ({
    key: 'ip_address', where: 'status_code in (401, 403)',
    measures: 'count(*) filter (where status_code = 401) as unauthorized, count(*) filter (where status_code = 403) as forbidden', ...atLeast(rule),
  }), (f, rule) => ({
    summary: `${f.count} responses 401 or 403 to IP ${f.key} within ${minutes(rule)}`,
    details: { unauthorized: Number(f.measures['unauthorized']), forbidden: Number(f.measures['forbidden']) },
  })),
  scanning_404: sliding('scanning_404', (rule) => ({
    key: 'ip_address', where: 'status_code = 404', measures: 'count(distinct path) as distinct_paths', ...atLeast(rule),
  }), (f, rule) => ({
    summary: `${f.count} responses 404 to IP ${f.key} within ${minutes(rule)} (${Number(f.measures['distinct_paths'])} distinct paths)`,
    details: { distinctPaths: Number(f.measures['distinct_paths']) },
  })),
  impossible_travel: impossibleTravel,
  mass_export: sliding('mass_export', (rule) => ({
    key: 'user_id', where: "activity_type in ('audit_export', 'file_download')",
    measures: "count(*) filter (where activity_type = 'audit_export') as exports, count(*) filter (where activity_type = 'file_download') as downloads", ...atLeast(rule),
  }), (f, rule) => ({
    summary: `User ${f.key} exported or downloaded ${f.count} times within ${minutes(rule)}`,
    details: { exports: Number(f.measures['exports']), downloads: Number(f.measures['downloads']) },
  })),
  error_rate: counting('error_rate', (rule) => ({
    key: scopeKey(rule), where: 'status_code is not null',
    measures: 'count(*) filter (where status_code >= 500) as errors',
    having: 'count(*) >= ? and count(*) filter (where status_code >= 500) > ?::float8 * count(*)', havingBindings: [rule.minRequests, rule.threshold],
  }), (f, rule) => {
    const errors = Number(f.measures['errors']);
    const rate = Math.round((errors / f.count) * 10_000) / 10_000;
    return {
      count: errors,
      summary: `${errors} of ${f.count} responses (${Math.round(rate * 1000) / 10}%) were server errors within ${minutes(rule)}${forKey(f.key, rule)}`,
      details: { minRequests: rule.minRequests, requests: f.count, errors, rate },
    };
  }),
  critical_events: counting('critical_events', (rule) => ({
    key: scopeKey(rule), where: "severity = 'critical'", measures: 'jsonb_agg(distinct action) filter (where action is not null) as actions', ...atLeast(rule),
  }), (f, rule) => ({
    summary: `${f.count} critical events within ${minutes(rule)}${forKey(f.key, rule)}`,
    details: { actions: list(f.measures['actions']) },
  })),
  token_abuse: async (knex, rule, range) => {
    const actions = [...TOKEN_ABUSE_ACTIONS];
    const measures = TOKEN_ABUSE_ACTIONS.map((action, i) => `count(*) filter (where action = ?) as a${i}`).join(', ');
    const by = (key: string, who: string): RuleEvaluator => sliding('token_abuse', () => ({
      key, where: 'action in (?, ?, ?)', whereBindings: actions, measures, measureBindings: actions, ...atLeast(rule),
    }), (f) => ({
      summary: `${f.count} invalid, expired or reused token attempts ${who} ${f.key.slice(f.key.indexOf(':') + 1)} within ${minutes(rule)}`,
      details: { byAction: Object.fromEntries(TOKEN_ABUSE_ACTIONS.map((action, i) => [action, Number(f.measures[`a${i}`])])) },
    }));
    const [byIp, byAccount] = await Promise.all([
      by("'ip:' || ip_address", 'from IP')(knex, rule, range),
      by("'account:' || user_id", 'for account')(knex, rule, range),
    ]);
    return [...byIp, ...byAccount];
  },
};

/**
 * A user's consecutive located rows in two countries sooner than `speedKmh` could cover the
 * distance between the countries' centres. One alert per user and window; `count` is the number of
 * such moves in it, the first few listed in details.
 */
async function impossibleTravel(knex: Knex, rule: ResolvedAlertRule, range: Range): Promise<AlertCandidate[]> {
  const windowMs = rule.windowMinutes * 60_000;
  const byUserAndWindow = new Map<string, AlertCandidate>();
  // No two places on Earth are further apart than half its circumference: a plane covers that in this long.
  const longestFlightMs = (HALF_EARTH_CIRCUMFERENCE_KM / rule.speedKmh) * 3_600_000;
  for (const move of await countryMoves(knex, range, longestFlightMs)) {
    const distanceKm = distanceBetweenCountries(move.fromCountry, move.toCountry);
    if (distanceKm === null) continue;
    const hours = (move.toTime.getTime() - move.fromTime.getTime()) / 3_600_000;
    if (distanceKm <= rule.speedKmh * hours) continue;
    const windowStart = new Date(Math.floor(move.toTime.getTime() / windowMs) * windowMs);
    const id = `${move.userId}\u0000${windowStart.getTime()}`;
    const described = {
      from: move.fromCountry, to: move.toCountry, fromTime: move.fromTime.toISOString(), toTime: move.toTime.toISOString(),
      distanceKm: Math.round(distanceKm), minutesApart: Math.round(hours * 600) / 10, minimumFlightMinutes: Math.round((distanceKm / rule.speedKmh) * 600) / 10,
    };
    const existing = byUserAndWindow.get(id);
    if (existing) {
      existing.count += 1;
      existing.lastSeen = move.toTime;
      if (existing.tenantId !== null && (existing.tenantId !== move.fromTenant || existing.tenantId !== move.toTenant)) existing.tenantId = null;
      const moves = existing.details['moves'] as unknown[];
      if (moves.length < MAX_LISTED) moves.push(described);
      continue;
    }
    byUserAndWindow.set(id, {
      rule: 'impossible_travel', key: move.userId, windowStart, windowEnd: new Date(windowStart.getTime() + windowMs), severity: rule.severity,
      tenantId: move.fromTenant !== null && move.fromTenant === move.toTenant ? move.toTenant : null,
      count: 1, firstSeen: move.fromTime, lastSeen: move.toTime,
      summary: `User ${move.userId} was seen in ${move.fromCountry} and then in ${move.toCountry} ${described.minutesApart} minutes later; `
        + `about ${described.distanceKm} km apart, at least ${described.minimumFlightMinutes} minutes at ${rule.speedKmh} km/h`,
      details: { speedKmh: rule.speedKmh, windowMinutes: rule.windowMinutes, moves: [described] },
    });
  }
  return [...byUserAndWindow.values()];
}
