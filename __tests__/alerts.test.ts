import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import knexFactory, { type Knex } from 'knex';
import { EXPRESS_VERSIONS, memoryLogger, testTracker } from './support/app';
import { openTestDatabase, resetTables, type TestDatabase } from './support/database';
import { activity, bearer, MOUNT, openApiValidator, REPORT_SECRET, reportApp, seed, tokenFor } from './support/reports';
import { resolveConfig } from '../lib/config';
import { evaluateAlerts } from '../lib/jobs/alerts';
import { listAlerts } from '../lib/store/alerts/alertRows';
import { EVERY_TENANT } from '../lib/store/reports/tenantScope';
import type { ResolvedAlerts } from '../lib/alerts/settings';
import type { ActivityTracker } from '../lib/tracker';
import type { ActivityEvent, Alert, Options } from '../lib/types';

let db: TestDatabase;
beforeAll(async () => { db = await openTestDatabase(); });
afterAll(async () => { await db.destroy(); });
beforeEach(async () => { await resetTables(db.knex); });

const trackers: ActivityTracker[] = [];
afterEach(async () => { await Promise.all(trackers.splice(0).map((t) => t.close())); });

function tracker(options: Options = {}): ActivityTracker {
  // jobs: false — the tests run the alerts job themselves, when they choose.
  const t = testTracker(db.knex, { jwtSecret: REPORT_SECRET, jobs: false, ...options });
  trackers.push(t);
  return t;
}

const MINUTE = 60_000;
/**
 * The start of a 15-minute window 20 to 35 minutes ago: rows seeded from there to 10 minutes on
 * are in the past, inside the default look-back, and (up to 5 minutes on) inside one window of 5,
 * 10, 15 and 60 minutes alike, whatever the time the test runs.
 */
const W0 = Math.floor((Date.now() - 20 * MINUTE) / (15 * MINUTE)) * (15 * MINUTE);
const at = (seconds: number): number => W0 + seconds * 1000;
const iso = (ms: number): string => new Date(ms).toISOString();
const windowOf = (ms: number, minutes: number): number => Math.floor(ms / (minutes * MINUTE)) * minutes * MINUTE;

const failedLogin = (ip: string, account: string, seconds: number): ActivityEvent => activity({
  userId: account, ipAddress: ip, activityType: 'login_failed', action: 'authn_login_fail', method: 'POST', path: '/login', route: '/login',
  statusCode: 401, success: false, entityType: null, entityId: null, startTime: at(seconds),
});
const request_ = (overrides: Partial<ActivityEvent>, seconds: number): ActivityEvent => activity({ userId: null, sessionId: null, entityType: null, entityId: null, ...overrides, startTime: at(seconds) });

/** Something for every rule but critical_events (whose rows the risk score may also produce): see the expected alerts below. */
function everyRuleEvents(): ActivityEvent[] {
  return [
    ...[10, 11, 12, 13, 14].map((s) => failedLogin('198.51.100.10', 'carol', s)),
    ...[21, 22, 23, 24, 25].map((n) => failedLogin(`198.51.100.${n}`, 'dave', n - 1)),
    failedLogin('198.51.100.30', 'erin', 30), failedLogin('198.51.100.30', 'frank', 31), failedLogin('198.51.100.30', 'grace', 32),
    ...Array.from({ length: 20 }, (_, i) => request_({ ipAddress: '198.51.100.40', statusCode: i < 12 ? 401 : 403, success: false, activityType: 'authz_fail' }, 40 + i)),
    ...Array.from({ length: 30 }, (_, i) => request_({ ipAddress: '198.51.100.50', statusCode: 404, success: false, path: `/probe/${i}`, route: null }, 60 + i)),
    request_({ userId: 'ivan', ipAddress: '198.51.100.90', tenantId: 'acme', location: { country: 'US', region: null, city: null, timezone: null } }, 100),
    request_({ userId: 'ivan', ipAddress: '198.51.100.91', tenantId: 'acme', location: { country: 'DE', region: null, city: null, timezone: null } }, 160),
    // An unknown country is never judged; an unchanged one is no move.
    request_({ userId: 'judy', ipAddress: '198.51.100.92', location: { country: 'US', region: null, city: null, timezone: null } }, 101),
    request_({ userId: 'judy', ipAddress: '198.51.100.93', location: { country: 'US', region: null, city: null, timezone: null } }, 102),
    request_({ userId: 'judy', ipAddress: '198.51.100.94', location: { country: 'ZZ', region: null, city: null, timezone: null } }, 103),
    ...Array.from({ length: 10 }, (_, i) => request_({ userId: 'mallory', ipAddress: '198.51.100.70', activityType: i < 6 ? 'audit_export' : 'file_download' }, 120 + i)),
    ...['authn_token_invalid', 'authn_token_expired', 'authn_token_reuse'].map((action, i) => request_({ userId: 'oscar', ipAddress: '198.51.100.60', action, activityType: 'authz_fail', statusCode: 401, success: false }, 140 + i)),
    // The next 5-minute window: 11 server errors in 51 responses.
    ...Array.from({ length: 51 }, (_, i) => request_({ ipAddress: '198.51.100.80', tenantId: 'acme', statusCode: i < 11 ? 500 : 200, success: i >= 11 }, 300 + i)),
  ];
}

type Expected = Omit<Alert, 'id' | 'createdAt'>;
/** Rules that count per fixed window of the clock; the others count over any span and their window starts at their first row. */
const FIXED_WINDOW_RULES: ReadonlyArray<Alert['rule']> = ['error_rate', 'critical_events', 'impossible_travel'];
const windowStartOf = (rule: Alert['rule'], first: number, minutes: number): number => (FIXED_WINDOW_RULES.includes(rule) ? windowOf(at(first), minutes) : at(first));
const expected = (rule: Alert['rule'], key: string, windowMinutes: number, first: number, last: number, rest: Pick<Alert, 'count' | 'summary' | 'details'> & Partial<Pick<Alert, 'severity' | 'tenantId'>>): Expected => ({
  rule, key, severity: 'high', tenantId: null, windowStart: iso(windowStartOf(rule, first, windowMinutes)), windowEnd: iso(windowStartOf(rule, first, windowMinutes) + windowMinutes * MINUTE),
  firstSeen: iso(at(first)), lastSeen: iso(at(last)), ...rest,
});

const EVERY_RULE_ALERTS: Expected[] = [
  expected('auth_failure_burst', '198.51.100.40', 5, 40, 59, { severity: 'medium', count: 20, summary: '20 responses 401 or 403 to IP 198.51.100.40 within 5 minutes', details: { threshold: 20, windowMinutes: 5, unauthorized: 12, forbidden: 8 } }),
  { ...expected('error_rate', 'global', 5, 300, 350, { tenantId: 'acme', count: 11, summary: '11 of 51 responses (21.6%) were server errors within 5 minutes', details: { threshold: 0.2, windowMinutes: 5, minRequests: 50, requests: 51, errors: 11, rate: 0.2157 } }) },
  expected('failed_logins_per_account', 'carol', 15, 10, 14, { count: 5, summary: '5 failed logins against account carol within 15 minutes', details: { threshold: 5, windowMinutes: 15, ipAddresses: ['198.51.100.10'] } }),
  expected('failed_logins_per_account', 'dave', 15, 20, 24, { count: 5, summary: '5 failed logins against account dave within 15 minutes', details: { threshold: 5, windowMinutes: 15, ipAddresses: ['198.51.100.21', '198.51.100.22', '198.51.100.23', '198.51.100.24', '198.51.100.25'] } }),
  expected('failed_logins_per_ip', '198.51.100.10', 15, 10, 14, { count: 5, summary: '5 failed logins from IP 198.51.100.10 within 15 minutes', details: { threshold: 5, windowMinutes: 15, accounts: ['carol'] } }),
  expected('impossible_travel', 'ivan', 60, 100, 160, {
    tenantId: 'acme', count: 1,
    summary: 'User ivan was seen in US and then in DE 1 minutes later; about 7861 km apart, at least 524.1 minutes at 900 km/h',
    details: { speedKmh: 900, windowMinutes: 60, moves: [{ from: 'US', to: 'DE', fromTime: iso(at(100)), toTime: iso(at(160)), distanceKm: 7861, minutesApart: 1, minimumFlightMinutes: 524.1 }] },
  }),
  expected('ip_many_accounts', '198.51.100.30', 15, 30, 32, { count: 3, summary: 'IP 198.51.100.30 failed to log in to 3 accounts within 15 minutes (3 attempts)', details: { threshold: 3, windowMinutes: 15, accountCount: 3, accounts: ['erin', 'frank', 'grace'] } }),
  expected('mass_export', 'mallory', 10, 120, 129, { count: 10, summary: 'User mallory exported or downloaded 10 times within 10 minutes', details: { threshold: 10, windowMinutes: 10, exports: 6, downloads: 4 } }),
  expected('scanning_404', '198.51.100.50', 5, 60, 89, { severity: 'medium', count: 30, summary: '30 responses 404 to IP 198.51.100.50 within 5 minutes (30 distinct paths)', details: { threshold: 30, windowMinutes: 5, distinctPaths: 30 } }),
  expected('token_abuse', 'account:oscar', 15, 140, 142, { count: 3, summary: '3 invalid, expired or reused token attempts for account oscar within 15 minutes', details: { threshold: 3, windowMinutes: 15, byAction: { authn_token_invalid: 1, authn_token_expired: 1, authn_token_reuse: 1 } } }),
  expected('token_abuse', 'ip:198.51.100.60', 15, 140, 142, { count: 3, summary: '3 invalid, expired or reused token attempts from IP 198.51.100.60 within 15 minutes', details: { threshold: 3, windowMinutes: 15, byAction: { authn_token_invalid: 1, authn_token_expired: 1, authn_token_reuse: 1 } } }),
];

const byRuleAndKey = (a: { rule: string; key: string }, b: { rule: string; key: string }): number => (a.rule + a.key < b.rule + b.key ? -1 : a.rule + a.key > b.rule + b.key ? 1 : 0);
const withoutIds = (alerts: Alert[]): Expected[] => alerts.map(({ id: _id, createdAt: _createdAt, ...rest }) => rest).sort(byRuleAndKey);

/** Every stored alert, as the package reads it back. */
async function listed(): Promise<Alert[]> {
  return (await listAlerts(db.knex, EVERY_TENANT, {}, { limit: 1000, offset: 0 })).data.map(({ status: _s, acknowledgements: _a, ...alert }) => alert);
}

/** The stored rows, as the table holds them. */
async function alertRows(): Promise<Array<Record<string, unknown>>> {
  return (await db.knex('activity_alerts').orderBy([{ column: 'rule' }, { column: 'alert_key' }]).select('*')) as Array<Record<string, unknown>>;
}

const NO_CRITICAL: Options['alerts'] = { rules: { critical_events: false } };

describe('the built-in alert rules', () => {
  it('each fire once per key and window: running again, or more events in the window, add no alert; a new key adds one', async () => {
    const t = tracker({ alerts: NO_CRITICAL });
    const heard: Alert[] = [];
    t.on('alert', (alert) => { heard.push(alert); });
    await t.ready();
    await seed(db.knex, everyRuleEvents());

    expect(await t.runJob('alerts')).toBe(true);
    expect(withoutIds(heard)).toEqual(EVERY_RULE_ALERTS);
    const stored = await alertRows();
    expect(stored).toHaveLength(EVERY_RULE_ALERTS.length);
    const row = stored.find((r) => r['rule'] === 'failed_logins_per_ip');
    expect({ ...row, count: Number(row?.['count']) }).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/), rule: 'failed_logins_per_ip', alert_key: '198.51.100.10',
      window_start: new Date(at(10)), window_end: new Date(at(10) + 15 * MINUTE), severity: 'high', tenant_id: null, count: 5,
      first_seen: new Date(at(10)), last_seen: new Date(at(14)), summary: '5 failed logins from IP 198.51.100.10 within 15 minutes',
      details: { threshold: 5, windowMinutes: 15, accounts: ['carol'] }, created_at: expect.any(Date),
    });
    expect(heard.find((a) => a.rule === 'failed_logins_per_ip')?.id).toBe(row?.['id']);

    // Again, and with three more failures of carol from the same IP in the same window: nothing new.
    expect(await t.runJob('alerts')).toBe(true);
    await seed(db.knex, [15, 16, 17].map((s) => failedLogin('198.51.100.10', 'carol', s)));
    expect(await t.runJob('alerts')).toBe(true);
    expect(heard).toHaveLength(EVERY_RULE_ALERTS.length);
    expect(await alertRows()).toEqual(stored);

    // A new IP and account: one alert each, heard once.
    await seed(db.knex, [180, 181, 182, 183, 184].map((s) => failedLogin('198.51.100.11', 'peggy', s)));
    expect(await t.runJob('alerts')).toBe(true);
    expect(await t.runJob('alerts')).toBe(true);
    expect(withoutIds(heard.slice(EVERY_RULE_ALERTS.length))).toEqual([
      expected('failed_logins_per_account', 'peggy', 15, 180, 184, { count: 5, summary: '5 failed logins against account peggy within 15 minutes', details: { threshold: 5, windowMinutes: 15, ipAddresses: ['198.51.100.11'] } }),
      expected('failed_logins_per_ip', '198.51.100.11', 15, 180, 184, { count: 5, summary: '5 failed logins from IP 198.51.100.11 within 15 minutes', details: { threshold: 5, windowMinutes: 15, accounts: ['peggy'] } }),
    ]);
    expect(await alertRows()).toHaveLength(EVERY_RULE_ALERTS.length + 2);
  });

  it('fire once however many processes evaluate them at the same time', async () => {
    const a = tracker({ alerts: NO_CRITICAL });
    const b = tracker({ alerts: NO_CRITICAL });
    const heard: Alert[] = [];
    a.on('alert', (alert) => { heard.push(alert); });
    b.on('alert', (alert) => { heard.push(alert); });
    await Promise.all([a.ready(), b.ready()]);
    await seed(db.knex, everyRuleEvents());

    await Promise.all([a.runJob('alerts'), b.runJob('alerts'), a.runJob('alerts')]);
    // Without the job lock too: the unique (rule, key, window) decides.
    const settings = resolveConfig({ alerts: NO_CRITICAL }, {}).alerts as ResolvedAlerts;
    const logger = memoryLogger();
    const direct = await Promise.all([evaluateAlerts(db.knex, settings, logger), evaluateAlerts(db.knex, settings, logger)]);
    expect(withoutIds(heard)).toEqual(EVERY_RULE_ALERTS);
    expect(direct.flat()).toEqual([]);
    expect(await alertRows()).toHaveLength(EVERY_RULE_ALERTS.length);
    expect(logger.lines).toEqual([]);
  });

  it('take their thresholds, windows and severities from the alerts option, and a rule can be turned off', async () => {
    const t = tracker({
      alerts: {
        rules: {
          scanning_404: { threshold: 3, windowMinutes: 15, severity: 'low' },
          failed_logins_per_ip: false,
          failed_logins_per_account: { enabled: false },
          critical_events: false,
          impossible_travel: { speedKmh: 100_000 },
        },
      },
    });
    await t.ready();
    await seed(db.knex, [
      ...[10, 11, 12, 13, 14].map((s) => failedLogin('198.51.100.10', 'carol', s)),
      ...[0, 1, 2].map((i) => request_({ ipAddress: '198.51.100.50', statusCode: 404, path: `/x/${i}` }, 60 + i)),
      request_({ userId: 'ivan', location: { country: 'US', region: null, city: null, timezone: null } }, 100),
      // About 1630 km in a minute: under the 100000 km/h allowed here.
      request_({ userId: 'ivan', location: { country: 'MX', region: null, city: null, timezone: null } }, 160),
    ]);
    await t.runJob('alerts');
    expect((await alertRows()).map((r) => [r['rule'], r['alert_key'], r['severity'], Number(r['count']), (r['window_start'] as Date).toISOString(), (r['window_end'] as Date).toISOString()])).toEqual([
      ['scanning_404', '198.51.100.50', 'low', 3, iso(at(60)), iso(at(60) + 15 * MINUTE)],
    ]);
  });

  it('critical_events counts rows of severity critical, in all or per tenant', async () => {
    const global = tracker({ alerts: { rules: { critical_events: {} } } });
    const perTenant = tracker({ alerts: { rules: { critical_events: { groupBy: 'tenant' } } } });
    await global.ready();
    await seed(db.knex, [
      ...[0, 1, 2, 3, 4].map((i) => request_({ severity: 'critical', tenantId: 'acme', action: 'payout.approved', activityType: 'system_action' }, 200 + i)),
      ...[0, 1, 2, 3].map((i) => request_({ severity: 'critical', tenantId: 'beta', action: 'role.granted', activityType: 'system_action' }, 210 + i)),
    ]);
    await global.runJob('alerts');
    await perTenant.runJob('alerts');
    const critical = (await alertRows()).filter((r) => r['rule'] === 'critical_events');
    expect(critical.map((r) => [r['alert_key'], r['tenant_id'], r['severity'], Number(r['count']), r['summary'], r['details']])).toEqual([
      ['acme', 'acme', 'critical', 5, '5 critical events within 15 minutes in tenant acme', { threshold: 5, windowMinutes: 15, actions: ['payout.approved'] }],
      ['global', null, 'critical', 9, '9 critical events within 15 minutes', { threshold: 5, windowMinutes: 15, actions: ['payout.approved', 'role.granted'] }],
    ]);
  });

  it('do not run with alerts: false: runJob says so and creates nothing', async () => {
    const t = tracker({ alerts: false });
    await t.ready();
    await seed(db.knex, everyRuleEvents());
    await expect(t.runJob('alerts')).resolves.toBe(false);
    await expect(t.runJob('session-sweeper')).resolves.toBe(true);
    expect(await alertRows()).toEqual([]);
  });

  it('impossible_travel sees a move whose first row is older than the range the rules look at', async () => {
    // The range starts at a window's edge lookbackMinutes back; the US row is 30 minutes before it, the DE row 10 minutes after.
    const settings = resolveConfig({ alerts: { lookbackMinutes: 60, rules: { critical_events: false } } }, {}).alerts as ResolvedAlerts;
    const now = Date.now();
    const from = Math.floor((now - 60 * MINUTE) / (60 * MINUTE)) * 60 * MINUTE;
    const located = (country: string, ms: number): ActivityEvent => activity({ userId: 'ivan', entityType: null, entityId: null, startTime: ms, location: { country, region: null, city: null, timezone: null } });
    await seed(db.knex, [located('US', from - 30 * MINUTE), located('DE', from + 10 * MINUTE)]);
    const found = await evaluateAlerts(db.knex, settings, memoryLogger(), new Date(now));
    expect(found.map((a) => [a.rule, a.key, a.details['moves']])).toEqual([['impossible_travel', 'ivan', [expect.objectContaining({ from: 'US', to: 'DE', minutesApart: 40 })]]]);
  });

  it('fail as one run, not one log line per rule, when the database cannot be reached', async () => {
    // knex reports each refused connection itself; kept here and asserted, not printed.
    const knexSaid: string[] = [];
    const log = { warn: (m: unknown) => { knexSaid.push(String(m)); }, error: (m: unknown) => { knexSaid.push(String(m)); }, deprecate: () => undefined, debug: () => undefined };
    const unreachable = knexFactory({ client: 'pg', connection: 'postgres://nobody@127.0.0.1:1/none', pool: { min: 0, max: 1 }, acquireConnectionTimeout: 2000, log });
    const logger = memoryLogger();
    try {
      await expect(evaluateAlerts(unreachable, resolveConfig({}, {}).alerts as ResolvedAlerts, logger)).rejects.toThrow(/ECONNREFUSED|connect/);
      expect(logger.lines).toEqual([]);
      expect(knexSaid.some((line) => /ECONNREFUSED/.test(line))).toBe(true);
    } finally {
      await unreachable.destroy();
    }
  });

  it('run off the request path, every alerts.intervalSeconds, on their own', async () => {
    const t = tracker({ jobs: true, alerts: { intervalSeconds: 1, rules: { critical_events: false } } });
    const heard: Alert[] = [];
    t.on('alert', (alert) => { heard.push(alert); });
    await t.ready();
    await seed(db.knex, [10, 11, 12, 13, 14].map((s) => failedLogin('198.51.100.10', 'carol', s)));
    for (let i = 0; i < 100 && heard.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(heard.map((a) => [a.rule, a.key])).toEqual([['failed_logins_per_account', 'carol'], ['failed_logins_per_ip', '198.51.100.10']]);
  });

  it('count over any span, not per window of the clock: a burst across a window\'s edge fires once', async () => {
    const t = tracker({ alerts: NO_CRITICAL });
    await t.ready();
    // Two failures just before a 15-minute edge of the clock and three just after it.
    await seed(db.knex, [-2, -1, 0, 1, 2].map((s) => failedLogin('198.51.100.12', 'trent', s)));
    await t.runJob('alerts');
    await t.runJob('alerts');
    expect(withoutIds(await listed())).toEqual([
      expected('failed_logins_per_account', 'trent', 15, -2, 2, { count: 5, summary: '5 failed logins against account trent within 15 minutes', details: { threshold: 5, windowMinutes: 15, ipAddresses: ['198.51.100.12'] } }),
      expected('failed_logins_per_ip', '198.51.100.12', 15, -2, 2, { count: 5, summary: '5 failed logins from IP 198.51.100.12 within 15 minutes', details: { threshold: 5, windowMinutes: 15, accounts: ['trent'] } }),
    ]);
  });

  it('give a sustained attack one alert per window, each on rows of its own, not one per row', async () => {
    const t = tracker({ alerts: { rules: { critical_events: false, failed_logins_per_account: false } } });
    await t.ready();
    // One failure a minute for 30 minutes, the first 15 minutes before W0.
    const minuteOf = (i: number): number => -900 + 60 * i;
    // Stored at once, as after an outage: each run takes the next window, and none is skipped.
    await seed(db.knex, Array.from({ length: 30 }, (_, i) => failedLogin('198.51.100.13', `user${i}`, minuteOf(i))));
    for (let run = 0; run < 4; run++) await t.runJob('alerts');
    const found = (await listed()).filter((a) => a.rule === 'failed_logins_per_ip').sort((a, b) => (a.windowStart < b.windowStart ? -1 : 1));
    // The first alert is the first five failures; the next needs five failures after its window.
    expect(found.map((a) => [a.windowStart, a.windowEnd, a.firstSeen, a.lastSeen, a.count])).toEqual([
      [iso(at(minuteOf(0))), iso(at(minuteOf(15))), iso(at(minuteOf(0))), iso(at(minuteOf(4))), 5],
      [iso(at(minuteOf(15))), iso(at(minuteOf(30))), iso(at(minuteOf(15))), iso(at(minuteOf(19))), 5],
    ]);
  });

  it('see failed logins sent through HTTP to an app', async () => {
    const express = EXPRESS_VERSIONS[1][1];
    const t = tracker({ alerts: NO_CRITICAL });
    const app = express();
    app.use(express.json());
    app.use(t.middleware());
    app.post('/login', (req, res) => {
      // The app names the account tried, so failures count against it.
      if (req.activity) req.activity.userId = String((req.body as { username?: unknown }).username);
      res.status(401).json({ error: 'bad credentials' });
    });
    for (let i = 0; i < 5; i++) await request(app).post('/login').send({ username: 'walter', password: 'guess' }).expect(401);
    await t.flush();
    await t.runJob('alerts');
    const rows = await alertRows();
    expect(rows.map((r) => [r['rule'], r['alert_key'], Number(r['count'])])).toEqual([
      ['failed_logins_per_account', 'walter', 5],
      ['failed_logins_per_ip', expect.stringMatching(/^(::ffff:)?127\.0\.0\.1$|^::1$/), 5],
    ]);
  });
});

describe('the alert tables', () => {
  it('refuse UPDATE, DELETE and TRUNCATE: acknowledging adds a row', async () => {
    const t = tracker({ alerts: NO_CRITICAL });
    await t.ready();
    await seed(db.knex, [10, 11, 12, 13, 14].map((s) => failedLogin('198.51.100.10', 'carol', s)));
    await t.runJob('alerts');
    const [alert] = await alertRows();
    await db.knex('activity_alert_acknowledgements').insert({ id: '00000000-0000-7000-8000-000000000001', alert_id: alert?.['id'], acknowledged_by: 'root' });
    const refused = /activity_tracking: activity_alert(s|_acknowledgements) is append-only; (UPDATE|DELETE|TRUNCATE) is refused/;
    await expect(db.knex('activity_alerts').update({ severity: 'low' })).rejects.toThrow(refused);
    await expect(db.knex('activity_alerts').delete()).rejects.toThrow(refused);
    await expect(db.knex.raw('truncate activity_alerts cascade')).rejects.toThrow(refused);
    await expect(db.knex('activity_alert_acknowledgements').update({ note: 'x' })).rejects.toThrow(refused);
    await expect(db.knex('activity_alert_acknowledgements').delete()).rejects.toThrow(refused);
    await expect(db.knex.raw('truncate activity_alert_acknowledgements')).rejects.toThrow(refused);
    expect(await alertRows()).toHaveLength(2);
    expect(await db.knex('activity_alert_acknowledgements').count({ n: '*' }).first().then((r) => Number(r?.['n']))).toBe(1);
  });
});

describe.each(EXPRESS_VERSIONS)('GET /alerts and POST /alerts/:id/acknowledge (%s)', (_name, express) => {
  async function withAlerts(): Promise<{ t: ActivityTracker; app: ReturnType<typeof express>; ids: Record<string, string> }> {
    const t = tracker({ alerts: NO_CRITICAL });
    await t.ready();
    await seed(db.knex, everyRuleEvents());
    await t.runJob('alerts');
    const ids = Object.fromEntries((await alertRows()).map((r) => [`${String(r['rule'])}/${String(r['alert_key'])}`, String(r['id'])]));
    return { t, app: reportApp(express, t), ids };
  }

  it('lists alerts newest window first with their status, filtered by rule, severity, status, key and window start', async () => {
    const { app, ids } = await withAlerts();
    const all = await request(app).get(`${MOUNT}/alerts`).set(bearer('aud-1', 'auditor')).expect(200);
    expect(all.body.pagination).toEqual({ total: EVERY_RULE_ALERTS.length, limit: 100, offset: 0 });
    expect(all.body.data[0]).toMatchObject({ rule: 'error_rate', windowStart: iso(W0 + 5 * MINUTE), status: 'open', acknowledgements: [] });
    expect((all.body.data as Array<Alert & { status: string; acknowledgements: unknown }>).map(({ id: _id, createdAt: _c, status: _s, acknowledgements: _a, ...rest }) => rest).sort(byRuleAndKey)).toEqual(EVERY_RULE_ALERTS);
    const check = await openApiValidator(app);
    expect(check('/alerts', 200, all.body)).toEqual([]);

    const keysOf = (body: { data: Alert[] }): string[] => body.data.map((a) => `${a.rule}/${a.key}`).sort();
    expect(keysOf((await request(app).get(`${MOUNT}/alerts?rule=token_abuse`).set(bearer('a', 'admin')).expect(200)).body)).toEqual(['token_abuse/account:oscar', 'token_abuse/ip:198.51.100.60']);
    expect(keysOf((await request(app).get(`${MOUNT}/alerts?severity=medium`).set(bearer('a', 'admin')).expect(200)).body)).toEqual(['auth_failure_burst/198.51.100.40', 'scanning_404/198.51.100.50']);
    expect(keysOf((await request(app).get(`${MOUNT}/alerts?key=carol`).set(bearer('a', 'admin')).expect(200)).body)).toEqual(['failed_logins_per_account/carol']);
    const later = await request(app).get(`${MOUNT}/alerts?startDate=${iso(W0 + 5 * MINUTE)}`).set(bearer('a', 'admin')).expect(200);
    expect(keysOf(later.body)).toEqual(['error_rate/global']);
    const paged = await request(app).get(`${MOUNT}/alerts?limit=2&offset=1`).set(bearer('a', 'admin')).expect(200);
    expect(paged.body.pagination).toEqual({ total: EVERY_RULE_ALERTS.length, limit: 2, offset: 1 });
    expect(paged.body.data.map((a: Alert) => a.id)).toEqual(all.body.data.slice(1, 3).map((a: Alert) => a.id));

    await request(app).post(`${MOUNT}/alerts/${ids['scanning_404/198.51.100.50']}/acknowledge`).set(bearer('a', 'admin')).send({}).expect(201);
    expect(keysOf((await request(app).get(`${MOUNT}/alerts?status=acknowledged`).set(bearer('a', 'admin')).expect(200)).body)).toEqual(['scanning_404/198.51.100.50']);
    const open = await request(app).get(`${MOUNT}/alerts?status=open`).set(bearer('a', 'admin')).expect(200);
    expect(open.body.pagination.total).toBe(EVERY_RULE_ALERTS.length - 1);
    expect(open.body.data.map((a: Alert) => a.id)).not.toContain(ids['scanning_404/198.51.100.50']);
  });

  it('refuses bad parameters with 400 naming them, and callers without a reader role', async () => {
    const { app } = await withAlerts();
    for (const [query, param] of [['rule=nope', 'rule'], ['severity=urgent', 'severity'], ['status=closed', 'status'], ['startDate=yesterday', 'startDate'], ['limit=0', 'limit'], ['key=a%20b', 'key'], ['colour=red', 'colour']] as const) {
      const response = await request(app).get(`${MOUNT}/alerts?${query}`).set(bearer('a', 'admin')).expect(400);
      expect(response.body.error.param).toBe(param);
    }
    await request(app).get(`${MOUNT}/alerts`).expect(401);
    await request(app).get(`${MOUNT}/alerts`).set(bearer('u', 'user')).expect(403);
  });

  it('acknowledging adds a row each time, by admins only; the alert becomes acknowledged and the act is on the trail', async () => {
    const { t, app, ids } = await withAlerts();
    const id = ids['failed_logins_per_ip/198.51.100.10'] as string;
    await request(app).post(`${MOUNT}/alerts/${id}/acknowledge`).set(bearer('aud-1', 'auditor')).send({ note: 'x' }).expect(403);
    const first = await request(app).post(`${MOUNT}/alerts/${id}/acknowledge`).set(bearer('admin-1', 'admin')).send({ note: 'Blocked at the firewall' }).expect(201);
    expect(first.body.data).toMatchObject({
      id, rule: 'failed_logins_per_ip', key: '198.51.100.10', status: 'acknowledged',
      acknowledgements: [{ id: expect.any(String), alertId: id, acknowledgedBy: 'admin-1', note: 'Blocked at the firewall', createdAt: expect.any(String) }],
    });
    const second = await request(app).post(`${MOUNT}/alerts/${id}/acknowledge`).set(bearer('admin-2', 'system_admin')).expect(201);
    expect(second.body.data.acknowledgements.map((a: { acknowledgedBy: string; note: string | null }) => [a.acknowledgedBy, a.note])).toEqual([['admin-1', 'Blocked at the firewall'], ['admin-2', null]]);

    const listed = await request(app).get(`${MOUNT}/alerts?rule=failed_logins_per_ip`).set(bearer('a', 'admin')).expect(200);
    expect(listed.body.data).toEqual([second.body.data]);
    const acks = await db.knex('activity_alert_acknowledgements').orderBy('created_at').select('alert_id', 'acknowledged_by', 'note');
    expect(acks).toEqual([{ alert_id: id, acknowledged_by: 'admin-1', note: 'Blocked at the firewall' }, { alert_id: id, acknowledged_by: 'admin-2', note: null }]);

    await t.flush();
    const trail = await db.knex('user_activity').where('action', 'alert.acknowledged').orderBy('start_time').select('user_id', 'entity_type', 'entity_id', 'category', 'details');
    expect(trail).toEqual([
      { user_id: 'admin-1', entity_type: 'activity_alert', entity_id: id, category: 'alerts', details: expect.objectContaining({ rule: 'failed_logins_per_ip', key: '198.51.100.10', note: 'Blocked at the firewall' }) },
      { user_id: 'admin-2', entity_type: 'activity_alert', entity_id: id, category: 'alerts', details: expect.not.objectContaining({ note: expect.anything() }) },
    ]);
  });

  it('answers 404 for an unknown alert and 400 for a bad id or note', async () => {
    const { app, ids } = await withAlerts();
    const id = ids['mass_export/mallory'] as string;
    const unknown = await request(app).post(`${MOUNT}/alerts/00000000-0000-7000-8000-000000000000/acknowledge`).set(bearer('a', 'admin')).expect(404);
    expect(unknown.body.error).toMatchObject({ code: 'ERR_AT_NOT_FOUND', param: 'id' });
    expect((await request(app).post(`${MOUNT}/alerts/42/acknowledge`).set(bearer('a', 'admin')).expect(400)).body.error.param).toBe('id');
    expect((await request(app).post(`${MOUNT}/alerts/${id}/acknowledge`).set(bearer('a', 'admin')).send({ note: 'n'.repeat(1001) }).expect(400)).body.error.param).toBe('note');
    expect((await request(app).post(`${MOUNT}/alerts/${id}/acknowledge`).set(bearer('a', 'admin')).send({ note: 5 }).expect(400)).body.error.param).toBe('note');
    expect((await request(app).post(`${MOUNT}/alerts/${id}/acknowledge`).set(bearer('a', 'admin')).send({ status: 'closed' }).expect(400)).body.error.param).toBe('status');
    expect((await request(app).post(`${MOUNT}/alerts/${id}/acknowledge`).set(bearer('a', 'admin')).set('content-type', 'application/json').send('{"note":').expect(400)).body.error.param).toBe('body');
    await request(app).post(`${MOUNT}/alerts/${id}/acknowledge`).set(bearer('a', 'admin')).send({ note: 'n'.repeat(1000) }).expect(201);
    expect(await db.knex('activity_alert_acknowledgements').count({ n: '*' }).first().then((r) => Number(r?.['n']))).toBe(1);
  });

  it('shows a tenant\'s callers only the alerts of their tenant, and lets its admins acknowledge only those', async () => {
    const { app, ids } = await withAlerts();
    const acme = { Authorization: `Bearer ${tokenFor('acme-admin', 'admin', { tenantId: 'acme' })}` };
    const listed = await request(app).get(`${MOUNT}/alerts`).set(acme).expect(200);
    expect(listed.body.data.map((a: Alert) => `${a.rule}/${a.key}`).sort()).toEqual(['error_rate/global', 'impossible_travel/ivan']);
    expect(listed.body.pagination.total).toBe(2);
    await request(app).post(`${MOUNT}/alerts/${ids['failed_logins_per_ip/198.51.100.10']}/acknowledge`).set(acme).expect(404);
    await request(app).post(`${MOUNT}/alerts/${ids['impossible_travel/ivan']}/acknowledge`).set(acme).expect(201);
  });
});

describe('the alert webhook', () => {
  interface Delivery { headers: http.IncomingHttpHeaders; body: string }
  let server: http.Server;
  let url: string;
  const deliveries: Delivery[] = [];
  /** How the server answers a delivery; 204 by default. */
  let answer: (delivery: Delivery) => number = () => 204;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const delivery = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
        deliveries.push(delivery);
        res.statusCode = answer(delivery);
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/activity`;
  });
  afterAll(async () => { await new Promise((resolve) => server.close(resolve)); });
  beforeEach(() => { deliveries.length = 0; answer = () => 204; });

  const SECRET = 'webhook-secret-0123456789abcdef';
  const until = async (done: () => boolean): Promise<void> => {
    for (let i = 0; i < 200 && !done(); i++) await new Promise((resolve) => setTimeout(resolve, 25));
  };

  it('POSTs each new alert once, signed with HMAC-SHA256 of the raw body, and retries after a 500', async () => {
    const ruleOf = (d: Delivery): string => (JSON.parse(d.body) as { alert: Alert }).alert.rule;
    answer = (d) => (ruleOf(d) === 'failed_logins_per_account' && d.headers['x-activity-attempt'] === '1' ? 500 : 204);
    const logger = memoryLogger();
    const t = tracker({ logger, alerts: { rules: { critical_events: false }, webhook: { url, secret: SECRET, retryDelayMs: 20 } } });
    await t.ready();
    await seed(db.knex, [10, 11, 12, 13, 14].map((s) => failedLogin('198.51.100.10', 'carol', s)));
    await t.runJob('alerts');
    await until(() => deliveries.length >= 3);
    await t.runJob('alerts');
    await new Promise((resolve) => setTimeout(resolve, 100));

    const stored = await request(reportApp(EXPRESS_VERSIONS[1][1], t)).get(`${MOUNT}/alerts`).set(bearer('a', 'admin')).expect(200);
    const alerts = (stored.body.data as Array<Alert & { status?: string; acknowledgements?: unknown }>).map(({ status: _s, acknowledgements: _a, ...alert }) => alert);
    // Two alerts, the first delivered at its second attempt: three POSTs, and none from the second run.
    expect(deliveries).toHaveLength(3);
    for (const delivery of deliveries) {
      const expectedSignature = `sha256=${createHmac('sha256', SECRET).update(delivery.body).digest('hex')}`;
      expect(delivery.headers['x-activity-signature']).toBe(expectedSignature);
      expect(delivery.headers['content-type']).toBe('application/json');
      const body = JSON.parse(delivery.body) as { event: string; sentAt: string; alert: Alert };
      expect(body.event).toBe('alert');
      expect(delivery.headers['x-activity-timestamp']).toBe(String(Math.floor(Date.parse(body.sentAt) / 1000)));
      expect(delivery.headers['x-activity-delivery']).toBe(body.alert.id);
      expect(alerts).toContainEqual(body.alert);
    }
    const attempts = deliveries.map((d) => `${ruleOf(d)} ${String(d.headers['x-activity-attempt'])}`).sort();
    expect(attempts).toEqual(['failed_logins_per_account 1', 'failed_logins_per_account 2', 'failed_logins_per_ip 1']);
    // The retry is the same alert, signed anew.
    expect(deliveries.filter((d) => ruleOf(d) === 'failed_logins_per_account').map((d) => (JSON.parse(d.body) as { alert: Alert }).alert.id)).toEqual([expect.any(String), expect.any(String)]);
    expect(new Set(deliveries.filter((d) => ruleOf(d) === 'failed_logins_per_account').map((d) => (JSON.parse(d.body) as { alert: Alert }).alert.id)).size).toBe(1);
    expect(logger.lines.filter((l) => l.level === 'warn' || l.level === 'error').map((l) => l.message)).toEqual(['Alert webhook delivery failed; trying again in 20 ms']);
  });

  it('gives up after maxAttempts and logs it, without holding anything up', async () => {
    answer = () => 503;
    const logger = memoryLogger();
    const t = tracker({ logger, alerts: { rules: { critical_events: false, failed_logins_per_account: false }, webhook: { url, secret: SECRET, retryDelayMs: 10, maxAttempts: 2 } } });
    await t.ready();
    await seed(db.knex, [10, 11, 12, 13, 14].map((s) => failedLogin('198.51.100.10', 'carol', s)));
    await t.runJob('alerts');
    await until(() => logger.lines.some((l) => l.level === 'error'));
    expect(deliveries.map((d) => d.headers['x-activity-attempt'])).toEqual(['1', '2']);
    expect(logger.lines.filter((l) => l.level === 'error')).toEqual([{
      level: 'error', message: 'Alert webhook delivery failed after 2 attempt(s); the alert stays in activity_alerts (GET /alerts)',
      context: { alertId: expect.any(String), rule: 'failed_logins_per_ip', url: url, error: 'HTTP 503' },
    }]);
  });
});
