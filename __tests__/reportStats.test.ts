import request from 'supertest';
import { EXPRESS_VERSIONS, storedActivities, testTracker } from './support/app';
import { openTestDatabase, resetTables, type TestDatabase } from './support/database';
import { activity, bearer, MOUNT, REPORT_SECRET, reportApp, seed, getCountingReads } from './support/reports';
import type { ActivityTracker } from '../lib/tracker';
import type { ActivityEvent } from '../lib/types';

let db: TestDatabase;
beforeAll(async () => { db = await openTestDatabase(); });
afterAll(async () => { await db.destroy(); });
beforeEach(async () => { await resetTables(db.knex); });

const at = (day: number, hour: number, minute = 0) => Date.UTC(2026, 10, day, hour, minute);
const firefox = { browser: 'Firefox 128.0', operatingSystem: 'Linux', location: { country: 'DE', region: null, city: null, timezone: null } };
const safariPhone = { browser: 'Safari 17.0', operatingSystem: 'iOS 17.0', deviceInfo: { type: 'mobile', vendor: 'Apple', model: 'iPhone' }, location: { country: 'GB', region: null, city: null, timezone: null } };
const safariTablet = { browser: 'Safari 17.0', operatingSystem: 'iPadOS 17.0', deviceInfo: { type: 'tablet', vendor: 'Apple', model: 'iPad' }, location: null };
const mac = { operatingSystem: 'macOS 14', location: { country: 'FR', region: null, city: null, timezone: null } };

/**
 * Ten activities on 2026-11-20 (three users and one anonymous visitor, five sessions, four hours)
 * and two just outside that day. The defaults of activity() are alice, sess-a, data_view, Chrome
 * 126 on Windows 10, desktop, US, 200.
 */
function knownActivities(): ActivityEvent[] {
  return [
    activity({ startTime: at(20, 10, 0), duration: 10, path: '/api/items/1' }),
    activity({ startTime: at(20, 10, 5), duration: 20, path: '/api/items/1' }),
    activity({ activityType: 'data_update', startTime: at(20, 10, 10), duration: 30, path: '/api/items/1', statusCode: 500, success: false }),
    activity({ sessionId: 'sess-a2', activityType: 'page_view', startTime: at(20, 11, 0), duration: 40, path: '/home', ...safariPhone }),
    activity({ userId: 'bob', sessionId: 'sess-b', activityType: 'page_view', startTime: at(20, 11, 30), duration: 50, path: '/home', ...firefox }),
    activity({ userId: 'bob', sessionId: 'sess-b', startTime: at(20, 11, 45), duration: 60, path: '/api/items/2', ...firefox }),
    activity({ userId: 'bob', sessionId: 'sess-b', activityType: 'login_failed', startTime: at(20, 14, 0), duration: 5, path: '/login', statusCode: 401, success: false, ...firefox, location: null }),
    activity({ userId: null, sessionId: 'sess-anon', activityType: 'page_view', startTime: at(20, 14, 30), duration: null, path: '/home', ...safariTablet }),
    activity({ userId: 'carol', sessionId: 'sess-c', activityType: 'data_create', startTime: at(20, 23, 15), duration: 20, path: '/api/items', statusCode: 201, ...mac }),
    activity({ userId: 'carol', sessionId: 'sess-c', startTime: at(20, 23, 30), duration: 35, path: '/api/items/3', statusCode: 404, success: false, ...mac }),
    // Outside 2026-11-20: must not count.
    activity({ startTime: at(21, 1, 0), duration: 1000, path: '/late' }),
    activity({ userId: 'bob', sessionId: 'sess-b', startTime: at(19, 23, 59), duration: 1000, path: '/early', ...firefox }),
  ];
}

const DAY = 'startDate=2026-11-20&endDate=2026-11-20T23:59:59.999Z';
const DAY_PERIOD = { startDate: '2026-11-20T00:00:00.000Z', endDate: '2026-11-20T23:59:59.999Z' };

describe.each(EXPRESS_VERSIONS)('GET /stats with %s', (_name, express) => {
  let tracker: ActivityTracker;
  // The report requests' own rows are written only when a test flushes, so they never count in the stats.
  beforeEach(async () => {
    tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET, flushIntervalMs: 60_000 });
    await seed(db.knex, knownActivities());
  });
  afterEach(async () => { await tracker.close(); });

  const get = (query: string, role = 'auditor') => request(reportApp(express, tracker)).get(`${MOUNT}/stats?${query}`).set(bearer('auditor-1', role));

  it('reports totals and every breakdown of the period', async () => {
    const response = await get(DAY).expect(200);
    expect(response.body.period).toEqual(DAY_PERIOD);
    expect(response.body.data).toEqual({
      totalActivities: 10,
      uniqueUsers: 3, // alice, bob, carol; the anonymous visitor is no user
      uniqueSessions: 5, // sess-a, sess-a2, sess-b, sess-anon, sess-c
      totalDuration: 270, // 10+20+30+40+50+60+5+20+35, the anonymous row has none
      averageDuration: 30, // 270 over the 9 rows with a duration
      errorRate: 0.3, // 500, 401, 404 out of 10
      byType: [
        { activityType: 'data_view', count: 4 },
        { activityType: 'page_view', count: 3 },
        { activityType: 'data_create', count: 1 },
        { activityType: 'data_update', count: 1 },
        { activityType: 'login_failed', count: 1 },
      ],
      byHour: [{ hour: 10, count: 3 }, { hour: 11, count: 3 }, { hour: 14, count: 2 }, { hour: 23, count: 2 }],
      topPages: [
        { path: '/api/items/1', count: 3 },
        { path: '/home', count: 3 },
        { path: '/api/items', count: 1 },
        { path: '/api/items/2', count: 1 },
        { path: '/api/items/3', count: 1 },
        { path: '/login', count: 1 },
      ],
      topUsers: [{ userId: 'alice', count: 4 }, { userId: 'bob', count: 3 }, { userId: 'carol', count: 2 }],
      byDevice: [{ deviceType: 'desktop', count: 8 }, { deviceType: 'mobile', count: 1 }, { deviceType: 'tablet', count: 1 }],
      byBrowser: [{ browser: 'Chrome 126.0.0.0', count: 5 }, { browser: 'Firefox 128.0', count: 3 }, { browser: 'Safari 17.0', count: 2 }],
      byOperatingSystem: [
        { operatingSystem: 'Linux', count: 3 },
        { operatingSystem: 'Windows 10', count: 3 },
        { operatingSystem: 'macOS 14', count: 2 },
        { operatingSystem: 'iOS 17.0', count: 1 },
        { operatingSystem: 'iPadOS 17.0', count: 1 },
      ],
      byLocation: [
        { country: 'US', count: 3 },
        { country: 'DE', count: 2 },
        { country: 'FR', count: 2 },
        { country: null, count: 2 }, // bob's failed login and the tablet have no location
        { country: 'GB', count: 1 },
      ],
      byAction: [{ action: 'read', count: 10 }],
      byActorType: [{ actorType: null, count: 10 }],
    });
  });

  it('narrows to one activity type, repeated or comma separated', async () => {
    for (const query of [`${DAY}&activityType=page_view`, `${DAY}&activityType=page_view,page_view`]) {
      const { data } = (await get(query).expect(200)).body;
      expect(data).toMatchObject({
        totalActivities: 3, uniqueUsers: 2, uniqueSessions: 3, totalDuration: 90, averageDuration: 45, errorRate: 0,
        byType: [{ activityType: 'page_view', count: 3 }],
        byHour: [{ hour: 11, count: 2 }, { hour: 14, count: 1 }],
        topPages: [{ path: '/home', count: 3 }],
        topUsers: [{ userId: 'alice', count: 1 }, { userId: 'bob', count: 1 }],
      });
    }
  });

  it('narrows to one user', async () => {
    const { data } = (await get(`${DAY}&userId=bob`).expect(200)).body;
    expect(data).toMatchObject({
      totalActivities: 3, uniqueUsers: 1, uniqueSessions: 1, totalDuration: 115,
      byType: [{ activityType: 'data_view', count: 1 }, { activityType: 'login_failed', count: 1 }, { activityType: 'page_view', count: 1 }],
      topUsers: [{ userId: 'bob', count: 3 }],
      byLocation: [{ country: 'DE', count: 2 }, { country: null, count: 1 }],
    });
    expect(data.averageDuration).toBeCloseTo(115 / 3, 10);
    expect(data.errorRate).toBeCloseTo(1 / 3, 10);
  });

  it('answers zeros and empty breakdowns for a period without activity', async () => {
    const { data } = (await get('startDate=2026-10-01&endDate=2026-10-02').expect(200)).body;
    expect(data).toEqual({
      totalActivities: 0, uniqueUsers: 0, uniqueSessions: 0, totalDuration: 0, averageDuration: 0, errorRate: 0,
      byType: [], byHour: [], topPages: [], topUsers: [], byDevice: [], byBrowser: [], byOperatingSystem: [], byLocation: [],
      byAction: [], byActorType: [],
    });
  });

  it('lists ten pages and ten users at most', async () => {
    await resetTables(db.knex);
    // user-00 has 1 activity on /p/00, user-01 has 2 on /p/01, … user-11 has 12 on /p/11.
    const many = Array.from({ length: 12 }, (_, i) => Array.from({ length: i + 1 }, (_v, j) => activity({
      userId: `user-${String(i).padStart(2, '0')}`, path: `/p/${String(i).padStart(2, '0')}`, startTime: at(20, 12, j),
    }))).flat();
    await seed(db.knex, many);
    const { data } = (await get(DAY).expect(200)).body;
    expect(data.totalActivities).toBe(78);
    expect(data.topPages).toEqual(Array.from({ length: 10 }, (_, k) => ({ path: `/p/${String(11 - k).padStart(2, '0')}`, count: 12 - k })));
    expect(data.topUsers.map((u: { userId: string }) => u.userId)).toEqual(Array.from({ length: 10 }, (_, k) => `user-${String(11 - k).padStart(2, '0')}`));
  });

  it('defaults to the 7 days before endDate, and endDate to now, and says so', async () => {
    await resetTables(db.knex);
    const now = Date.now();
    const day = 86_400_000;
    await seed(db.knex, [
      activity({ startTime: now - 1 * day }),
      activity({ startTime: now - 3 * day }),
      activity({ startTime: now - 6 * day }),
      activity({ startTime: now - 8 * day }),
      activity({ startTime: now - 20 * day }),
    ]);
    const before = Date.now();
    const recent = (await get('').expect(200)).body;
    const after = Date.now();
    expect(recent.data.totalActivities).toBe(3);
    const end = Date.parse(recent.period.endDate);
    expect(end).toBeGreaterThanOrEqual(before);
    expect(end).toBeLessThanOrEqual(after);
    expect(end - Date.parse(recent.period.startDate)).toBe(7 * day);

    const endDate = new Date(now - 2 * day).toISOString();
    const earlier = (await get(`endDate=${endDate}`).expect(200)).body;
    expect(earlier.period).toEqual({ startDate: new Date(now - 9 * day).toISOString(), endDate });
    expect(earlier.data.totalActivities).toBe(3); // 3, 6 and 8 days ago
  });

  it('puts the read on the trail: who read, with which filters', async () => {
    await get(`${DAY}&userId=bob&activityType=login_failed`).expect(200);
    await tracker.flush();
    const reads = (await storedActivities(db.knex)).filter((r) => r.activity_type === 'audit_read');
    expect(reads).toHaveLength(1);
    expect(reads[0]).toMatchObject({ user_id: 'auditor-1', action: 'report.read', status_code: 200, success: true });
    expect(reads[0]?.details?.['custom']).toEqual({
      route: `${MOUNT}/stats`, role: 'auditor',
      filters: { ...DAY_PERIOD, userId: 'bob', activityTypes: ['login_failed'] },
    });
  });

  it('refuses a plain user with 403 and puts the refusal on the trail', async () => {
    const response = await get(DAY, 'user').expect(403);
    expect(response.body.error.code).toBe('ERR_AT_FORBIDDEN');
    await tracker.flush();
    const refusals = (await storedActivities(db.knex)).filter((r) => r.activity_type === 'authz_fail');
    expect(refusals).toHaveLength(1);
    expect(refusals[0]?.user_id).toBe('auditor-1');
  });
});

describe('GET /stats refuses bad parameters before any SQL', () => {
  const express = EXPRESS_VERSIONS[0][1];
  it.each([
    ['startDate=2026-11-21&endDate=2026-11-20', 'endDate'],
    ['startDate=yesterday', 'startDate'],
    ['endDate=2026-02-30', 'endDate'],
    ['startDate=2999-01-01', 'startDate'],
    ['activityType=hacking', 'activityType'],
    ['userId=1%27%20or%20%271%27%3D%271', 'userId'],
    [`userId=${'a'.repeat(257)}`, 'userId'],
    ['limit=10', 'limit'],
    ['sessionId=sess-a', 'sessionId'],
  ] as const)('%s → 400 naming %s', async (query, param) => {
    const { response, reads } = await getCountingReads(db.knex, express, `/stats?${query}`);
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ code: expect.stringMatching(/^ERR_AT_(INVALID|UNKNOWN)_PARAM$/), param });
    expect(response.body.error.message).toContain(param);
    expect(reads).toEqual([]);
  });
});
