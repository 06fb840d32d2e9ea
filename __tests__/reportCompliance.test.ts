import request from 'supertest';
import { parse } from 'csv-parse/sync';
import { EXPRESS_VERSIONS, testTracker } from './support/app';
import { openTestDatabase, type TestDatabase } from './support/database';
import { activity, bearer, MOUNT, REPORT_SECRET, reportApp, seed } from './support/reports';
import type { ActivityTracker } from '../lib/tracker';
import { COMPLIANCE_CSV_COLUMNS } from '../lib/router/routes/compliance';
import { PRIVILEGED_RULE } from '../lib/store/reports/compliance';

let db: TestDatabase;
const at = (iso: string): number => Date.parse(iso);
const iso = (text: string): string => new Date(text).toISOString();

// October 2024: well before the requests these tests send, so their own trail rows stay outside.
const PERIOD = { startDate: '2024-10-01', endDate: '2024-10-31T23:59:59.999Z' };
const EVIL_PATH = '=HYPERLINK("http://evil")';

/*
 * The seed, in the period unless noted. Sessions (first activity in the period): sess-alice,
 * sess-bob, sess-alice2, sess-m, sess-carol, sess-dana, sess-erin, sess-sam = 8, of 7 users.
 */
const SEED = [
  /* 1 */ activity({ startTime: at('2024-10-02T08:00:00Z'), userId: 'alice', sessionId: 'sess-alice', activityType: 'login', action: 'login', method: 'POST', path: '/login' }),
  /* 2 */ activity({ startTime: at('2024-10-02T17:00:00Z'), userId: 'alice', sessionId: 'sess-alice', activityType: 'logout', action: 'logout', method: 'POST', path: '/logout' }),
  /* 3 */ activity({ startTime: at('2024-10-03T09:00:00Z'), userId: 'bob', sessionId: 'sess-bob', activityType: 'login', action: 'login', method: 'POST', path: '/login' }),
  /* 4 */ activity({ startTime: at('2024-10-03T10:00:00Z'), userId: 'bob', sessionId: 'sess-bob', activityType: 'token_refresh', action: 'refresh', path: '/auth/refresh' }),
  /* 5 */ activity({ startTime: at('2024-10-05T08:00:00Z'), userId: 'alice', sessionId: 'sess-alice2', activityType: 'login', action: 'login', method: 'POST', path: '/login' }),
  /* 6-8: three failures for mallory from one address */
  ...[0, 1, 2].map((i) => activity({ startTime: at('2024-10-06T01:00:00Z') + i * 60_000, userId: 'mallory', sessionId: 'sess-m', activityType: 'login_failed', action: 'login', ipAddress: '198.51.100.9', statusCode: 401, success: false })),
  /* 9 */ activity({ startTime: at('2024-10-07T12:00:00Z'), userId: 'bob', sessionId: 'sess-bob', activityType: 'login_failed', action: 'login', ipAddress: '198.51.100.10', statusCode: 401, success: false }),
  /* 10: no account named, so in the IP ranking only */
  activity({ startTime: at('2024-10-07T12:05:00Z'), userId: null, sessionId: null, activityType: 'login_failed', action: 'login', ipAddress: '198.51.100.10', statusCode: 401, success: false }),
  /* 11: a delete is privileged whoever does it */
  activity({ startTime: at('2024-10-08T14:00:00Z'), userId: 'carol', sessionId: 'sess-carol', activityType: 'data_delete', action: 'delete', method: 'DELETE', path: EVIL_PATH }),
  /* 12: a read of the trail by an auditor (as the capture middleware stores it) */
  activity({ startTime: at('2024-10-09T09:00:00Z'), userId: 'dana', sessionId: 'sess-dana', activityType: 'audit_read', action: 'report.read', path: `${MOUNT}/activities`, details: { custom: { route: `${MOUNT}/activities`, role: 'auditor' } } }),
  /* 13: an export by an admin: trail access and privileged */
  activity({ startTime: at('2024-10-10T09:00:00Z'), userId: 'erin', sessionId: 'sess-erin', activityType: 'audit_export', action: 'report.export', path: `${MOUNT}/export`, details: { custom: { route: `${MOUNT}/export`, role: 'admin' } } }),
  /* 14: an update by a system_admin */
  activity({ startTime: at('2024-10-11T09:00:00Z'), userId: 'sam', sessionId: 'sess-sam', activityType: 'data_update', action: 'update', method: 'PUT', path: '/api/items/4', details: { custom: { role: 'system_admin' } } }),
  /* 15: an event recorded with the role at the top of details */
  activity({ startTime: at('2024-10-11T12:00:00Z'), userId: 'ops', sessionId: null, activityType: 'system_action', action: 'backup.restore', method: null, path: null, details: { role: 'admin' } }),
  /* 16 */ activity({ startTime: at('2024-10-12T10:00:00Z'), userId: 'alice', sessionId: 'sess-alice2', activityType: 'error', statusCode: 500, success: false }),
  /* 17: a read recorded without the capture middleware: route and role at the top of details */
  activity({ startTime: at('2024-10-13T10:00:00Z'), userId: 'frank', sessionId: null, activityType: 'audit_read', action: 'report.read', details: { route: `${MOUNT}/stats`, role: 'manager', method: 'GET' } }),
  // Outside the period: the oldest record, and a later failure and delete that must not count.
  activity({ startTime: at('2024-09-01T00:00:00Z'), userId: 'alice', sessionId: 'sess-old' }),
  activity({ startTime: at('2024-11-02T00:00:00Z'), userId: 'mallory', sessionId: 'sess-m-later', activityType: 'login_failed', ipAddress: '198.51.100.9', success: false }),
  activity({ startTime: at('2024-11-02T01:00:00Z'), userId: 'carol', sessionId: null, activityType: 'data_delete', action: 'delete' }),
];

beforeAll(async () => {
  db = await openTestDatabase();
  await seed(db.knex, SEED);
});
afterAll(async () => { await db.destroy(); });

const EXPECTED = {
  period: { startDate: '2024-10-01T00:00:00.000Z', endDate: '2024-10-31T23:59:59.999Z' },
  // 17 rows in the period: count descending, then type.
  activityByType: [
    { activityType: 'login_failed', count: 5 },
    { activityType: 'login', count: 3 },
    { activityType: 'audit_read', count: 2 },
    { activityType: 'audit_export', count: 1 },
    { activityType: 'data_delete', count: 1 },
    { activityType: 'data_update', count: 1 },
    { activityType: 'error', count: 1 },
    { activityType: 'logout', count: 1 },
    { activityType: 'system_action', count: 1 },
    { activityType: 'token_refresh', count: 1 },
  ],
  authentication: {
    logins: 3,
    logouts: 1,
    failedLogins: 5,
    tokenRefreshes: 1,
    topFailingIps: [{ ipAddress: '198.51.100.9', failures: 3 }, { ipAddress: '198.51.100.10', failures: 2 }],
    topFailingAccounts: [{ userId: 'mallory', failures: 3 }, { userId: 'bob', failures: 1 }],
  },
  privilegedActions: {
    rule: PRIVILEGED_RULE,
    count: 4,
    items: [
      { userId: 'ops', activityType: 'system_action', action: 'backup.restore', path: null, time: iso('2024-10-11T12:00:00Z') },
      { userId: 'sam', activityType: 'data_update', action: 'update', path: '/api/items/4', time: iso('2024-10-11T09:00:00Z') },
      { userId: 'erin', activityType: 'audit_export', action: 'report.export', path: `${MOUNT}/export`, time: iso('2024-10-10T09:00:00Z') },
      { userId: 'carol', activityType: 'data_delete', action: 'delete', path: EVIL_PATH, time: iso('2024-10-08T14:00:00Z') },
    ],
  },
  trailAccess: [
    { userId: 'frank', activityType: 'audit_read', route: `${MOUNT}/stats`, time: iso('2024-10-13T10:00:00Z') },
    { userId: 'erin', activityType: 'audit_export', route: `${MOUNT}/export`, time: iso('2024-10-10T09:00:00Z') },
    { userId: 'dana', activityType: 'audit_read', route: `${MOUNT}/activities`, time: iso('2024-10-09T09:00:00Z') },
  ],
  sessions: { started: 8, distinctUsers: 7 },
  // Rows 6-10 (failed logins) and 16 (error) of 17.
  errorRate: 6 / 17,
  retention: { retentionDays: 30, oldestRecord: '2024-09-01T00:00:00.000Z' },
};

describe.each(EXPRESS_VERSIONS)('GET /compliance-report (%s)', (_name, express) => {
  const withTracker = async (fn: (app: ReturnType<typeof express>, tracker: ActivityTracker) => Promise<void>, capture = false): Promise<void> => {
    const tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET, retentionDays: 30 });
    try {
      await fn(reportApp(express, tracker, { capture }), tracker);
    } finally {
      await tracker.close();
    }
  };

  it('states what happened in the period, figure by figure', () => withTracker(async (app) => {
    const before = Date.now();
    const res = await request(app).get(`${MOUNT}/compliance-report`).query(PERIOD).set(bearer('aud-1', 'auditor'));
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const { generatedAt, ...rest } = res.body.data;
    expect(rest).toEqual(EXPECTED);
    expect(Date.parse(generatedAt)).toBeGreaterThanOrEqual(before - 1);
    expect(Date.parse(generatedAt)).toBeLessThanOrEqual(Date.now());
  }));

  it('counts only the period: a later window sees the later failure and delete', () => withTracker(async (app) => {
    const res = await request(app).get(`${MOUNT}/compliance-report`).query({ startDate: '2024-11-01', endDate: '2024-11-02T23:59:59Z' }).set(bearer('aud-1', 'auditor'));
    expect(res.status).toBe(200);
    const { data } = res.body;
    expect(data.activityByType).toEqual([{ activityType: 'data_delete', count: 1 }, { activityType: 'login_failed', count: 1 }]);
    expect(data.authentication).toMatchObject({ logins: 0, failedLogins: 1, topFailingIps: [{ ipAddress: '198.51.100.9', failures: 1 }], topFailingAccounts: [{ userId: 'mallory', failures: 1 }] });
    expect(data.privilegedActions).toMatchObject({ count: 1, items: [{ userId: 'carol', activityType: 'data_delete' }] });
    expect(data.trailAccess).toEqual([]);
    expect(data.sessions).toEqual({ started: 1, distinctUsers: 1 });
    expect(data.errorRate).toBe(0.5);
    // The oldest record is the table's, whatever the period.
    expect(data.retention).toEqual({ retentionDays: 30, oldestRecord: '2024-09-01T00:00:00.000Z' });
  }));

  it('sends the same report as one CSV download with a constant column count, formulas neutralized', () => withTracker(async (app) => {
    const res = await request(app).get(`${MOUNT}/compliance-report`).query({ ...PERIOD, format: 'csv' }).set(bearer('aud-1', 'auditor')).buffer(true);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="compliance-report-\d{4}-\d{2}-\d{2}T\d{6}\.\d{3}Z\.csv"$/);
    // csv-parse refuses a record whose column count differs from the first one's.
    const [header, ...rows] = parse(res.text, { relax_column_count: false }) as string[][];
    expect(header).toEqual([...COMPLIANCE_CSV_COLUMNS]);
    const figure = (section: string, key: string): string | undefined => rows.find((r) => r[0] === section && r[1] === key)?.[2];
    const section = (name: string): string[][] => rows.filter((r) => r[0] === name);

    expect(figure('period', 'startDate')).toBe(EXPECTED.period.startDate);
    expect(section('activityByType').map((r) => [r[1], Number(r[2])])).toEqual(EXPECTED.activityByType.map((t) => [t.activityType, t.count]));
    expect(['logins', 'logouts', 'failedLogins', 'tokenRefreshes'].map((k) => Number(figure('authentication', k)))).toEqual([3, 1, 5, 1]);
    expect(section('topFailingIps').map((r) => r.slice(1, 3))).toEqual([['198.51.100.9', '3'], ['198.51.100.10', '2']]);
    expect(section('topFailingAccounts').map((r) => r.slice(1, 3))).toEqual([['mallory', '3'], ['bob', '1']]);
    expect(figure('privilegedActions', 'count')).toBe('4');
    expect(figure('privilegedActions', 'rule')).toBe(PRIVILEGED_RULE);
    // section, key, value, userId, activityType, action, path, route, time
    expect(section('privilegedAction')).toEqual(EXPECTED.privilegedActions.items.map((i) => [
      'privilegedAction', '', '', i.userId, i.activityType, i.action, i.path === EVIL_PATH ? `'${EVIL_PATH}` : i.path ?? '', '', i.time,
    ]));
    expect(section('trailAccess')).toEqual(EXPECTED.trailAccess.map((t) => ['trailAccess', '', '', t.userId, t.activityType, '', '', t.route, t.time]));
    expect([figure('sessions', 'started'), figure('sessions', 'distinctUsers')]).toEqual(['8', '7']);
    expect(Number(figure('errorRate', 'errorRate'))).toBe(6 / 17);
    expect([figure('retention', 'retentionDays'), figure('retention', 'oldestRecord')]).toEqual(['30', '2024-09-01T00:00:00.000Z']);
  }));

  it('puts the report on the trail: audit_read as JSON, audit_export as CSV, with the period', () => withTracker(async (app, tracker) => {
    const caller = `aud-trail-${_name.replace(' ', '')}`;
    await request(app).get(`${MOUNT}/compliance-report`).query(PERIOD).set(bearer(caller, 'auditor')).expect(200);
    await request(app).get(`${MOUNT}/compliance-report`).query({ ...PERIOD, format: 'csv' }).set(bearer(caller, 'auditor')).buffer(true).expect(200);
    await tracker.flush();
    const trail = await db.knex('user_activity').where({ user_id: caller }).whereIn('activity_type', ['audit_read', 'audit_export']).orderBy('start_time').select('activity_type', 'details');
    const filters = { startDate: EXPECTED.period.startDate, endDate: EXPECTED.period.endDate };
    expect(trail).toMatchObject([
      { activity_type: 'audit_read', details: { custom: { route: `${MOUNT}/compliance-report`, filters: { ...filters, format: 'json' } } } },
      { activity_type: 'audit_export', details: { custom: { route: `${MOUNT}/compliance-report`, filters: { ...filters, format: 'csv' } } } },
    ]);
  }, true));

  it('covers the last 30 days up to now when asked without dates, and the 30 days before endDate without startDate', () => withTracker(async (app) => {
    const before = Date.now();
    const res = await request(app).get(`${MOUNT}/compliance-report`).set(bearer('aud-1', 'auditor'));
    expect(res.status).toBe(200);
    const { startDate, endDate } = res.body.data.period as { startDate: string; endDate: string };
    expect(Date.parse(endDate)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(endDate)).toBeLessThanOrEqual(Date.now());
    expect(Date.parse(endDate) - Date.parse(startDate)).toBe(30 * 86_400_000);
    // The seeded activity of 2024 is long before the default period.
    expect(res.body.data.authentication).toMatchObject({ logins: 0, failedLogins: 0 });
    const endOnly = await request(app).get(`${MOUNT}/compliance-report`).query({ endDate: '2024-10-31T23:59:59.999Z' }).set(bearer('aud-1', 'auditor'));
    expect(endOnly.status).toBe(200);
    expect(endOnly.body.data.period).toEqual({ startDate: '2024-10-01T23:59:59.999Z', endDate: '2024-10-31T23:59:59.999Z' });
  }));

  it('refuses a reversed or over-long period, a bad date and an unknown format', () => withTracker(async (app) => {
    const refused = async (query: Record<string, string>): Promise<unknown> => {
      const res = await request(app).get(`${MOUNT}/compliance-report`).query(query).set(bearer('aud-1', 'auditor'));
      expect(res.status).toBe(400);
      return res.body.error;
    };
    expect(await refused({ startDate: '2999-10-01' })).toMatchObject({ code: 'ERR_AT_INVALID_PARAM', param: 'endDate' });
    expect(await refused({ startDate: 'yesterday' })).toMatchObject({ code: 'ERR_AT_INVALID_PARAM', param: 'startDate' });
    expect(await refused({ startDate: '2024-10-31', endDate: '2024-10-01' })).toMatchObject({ param: 'endDate' });
    expect(await refused({ startDate: '2025-01-01', endDate: '2026-01-03' })).toMatchObject({ param: 'endDate' });
    expect(await refused({ startDate: '2024-01-01', endDate: '2025-01-01T00:00:00.001Z' })).toMatchObject({ param: 'endDate' });
    expect(await refused({ ...PERIOD, format: 'xml' })).toMatchObject({ param: 'format' });
    expect(await refused({ ...PERIOD, userId: 'alice' })).toMatchObject({ code: 'ERR_AT_UNKNOWN_PARAM', param: 'userId' });
    // 2024 is a leap year: 366 days exactly is allowed.
    expect((await request(app).get(`${MOUNT}/compliance-report`).query({ startDate: '2024-01-01', endDate: '2025-01-01' }).set(bearer('aud-1', 'auditor'))).status).toBe(200);
  }));

  it('is for readers of the trail only', () => withTracker(async (app) => {
    const res = await request(app).get(`${MOUNT}/compliance-report`).query(PERIOD).set(bearer('u1', 'user'));
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('ERR_AT_FORBIDDEN');
  }));
});
