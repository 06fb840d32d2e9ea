import request from 'supertest';
import { EXPRESS_VERSIONS, storedActivities, testTracker } from './support/app';
import { openTestDatabase, resetTables, type TestDatabase } from './support/database';
import { activity, bearer, MOUNT, REPORT_SECRET, reportApp, seed, getCountingReads } from './support/reports';
import type { ActivityTracker } from '../lib/tracker';

let db: TestDatabase;
beforeAll(async () => { db = await openTestDatabase(); });
afterAll(async () => { await db.destroy(); });
beforeEach(async () => { await resetTables(db.knex); });

const MINUTE = 60_000;
const DAY = 86_400_000;
const PHONE = { type: 'mobile', vendor: 'Apple', model: 'iPhone' };

interface KnownSession {
  sessionId: string;
  userId: string | null;
  startAgo: number;
  lastAgo: number;
  active: boolean;
  pageViews?: number;
  actionsCount?: number;
}

/** Relative to now: four live sessions, one gone quiet past the 30-minute timeout, two ended. */
const SESSIONS: KnownSession[] = [
  { sessionId: 's-alice-1', userId: 'alice', startAgo: 20 * MINUTE, lastAgo: 1 * MINUTE, active: true, pageViews: 3, actionsCount: 5 },
  { sessionId: 's-anon', userId: null, startAgo: 6 * MINUTE, lastAgo: 5 * MINUTE, active: true },
  { sessionId: 's-bob-1', userId: 'bob', startAgo: 30 * MINUTE, lastAgo: 10 * MINUTE, active: true },
  { sessionId: 's-alice-2', userId: 'alice', startAgo: 50 * MINUTE, lastAgo: 29 * MINUTE, active: true },
  { sessionId: 's-carol', userId: 'carol', startAgo: 60 * MINUTE, lastAgo: 31 * MINUTE, active: true },
  { sessionId: 's-bob-2', userId: 'bob', startAgo: 15 * MINUTE, lastAgo: 2 * MINUTE, active: false },
  { sessionId: 's-alice-old', userId: 'alice', startAgo: 2 * DAY, lastAgo: 2 * DAY - 30 * MINUTE, active: false, pageViews: 1, actionsCount: 2 },
];

/** Stores the sessions as the write path keeps them (directly, to control the flag and the times). */
async function seedSessions(now: number): Promise<void> {
  await db.knex('activity_sessions').insert(SESSIONS.map((s) => ({
    session_id: s.sessionId, user_id: s.userId, start_time: new Date(now - s.startAgo), last_activity: new Date(now - s.lastAgo),
    end_time: s.active ? null : new Date(now - s.lastAgo), duration: s.startAgo - s.lastAgo, is_active: s.active,
    page_views: s.pageViews ?? 0, actions_count: s.actionsCount ?? 0, ip_address: '203.0.113.7', user_agent: 'Mozilla/5.0 Safari/17',
    device_info: JSON.stringify(PHONE),
  })));
}

const ids = (body: { data: Array<{ sessionId: string }> }) => body.data.map((s) => s.sessionId);

describe.each(EXPRESS_VERSIONS)('session routes with %s', (_name, express) => {
  let tracker: ActivityTracker;
  let now: number;
  // The report requests' own rows (and the sessions they would open) land only when a test flushes.
  beforeEach(async () => {
    tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET, flushIntervalMs: 60_000, sessionTimeoutMinutes: 30 });
    now = Date.now();
    await seedSessions(now);
  });
  afterEach(async () => { await tracker.close(); });

  const get = (path: string, user = 'auditor-1', role = 'auditor') => request(reportApp(express, tracker)).get(`${MOUNT}${path}`).set(bearer(user, role));

  describe('GET /sessions/active', () => {
    it('lists sessions flagged active with activity within the timeout, latest activity first', async () => {
      const response = await get('/sessions/active').expect(200);
      expect(ids(response.body)).toEqual(['s-alice-1', 's-anon', 's-bob-1', 's-alice-2']);
      expect(response.body.pagination).toEqual({ total: 4, limit: 100, offset: 0 });
      expect(response.body.data[0]).toEqual({
        sessionId: 's-alice-1', userId: 'alice', deviceInfo: PHONE, ipAddress: '203.0.113.7', userAgent: 'Mozilla/5.0 Safari/17',
        startTime: new Date(now - 20 * MINUTE).toISOString(), lastActivity: new Date(now - MINUTE).toISOString(), pageViews: 3, actionsCount: 5,
        // Only the sessions table is seeded here: no activity rows name its users (visitSessions.test.ts has them).
        users: [], browser: null, operatingSystem: null, location: null,
      });
      expect(response.body.data[1].userId).toBeNull();
    });

    it("shows where each session is now: the browser, system and location of its latest request", async () => {
      await seed(db.knex, [
        activity({ sessionId: 's-alice-1', userId: 'alice', startTime: now - 10 * MINUTE, browser: 'Firefox 130.0', operatingSystem: 'Linux', location: { country: 'PT', region: '11', city: 'Lisboa', timezone: 'Europe/Lisbon' } }),
        activity({ sessionId: 's-alice-1', userId: 'alice', startTime: now - 2 * MINUTE, browser: 'Chrome 131.0', operatingSystem: 'Android 15', location: { country: 'BR', region: 'PE', city: 'Recife', timezone: 'America/Recife' } }),
        activity({ sessionId: 's-bob-1', userId: 'bob', startTime: now - 3 * MINUTE, browser: 'Safari 17.0', operatingSystem: 'iOS 17', location: null }),
      ]);
      const response = await get('/sessions/active').expect(200);
      const bySession = new Map(response.body.data.map((s: { sessionId: string }) => [s.sessionId, s]));
      expect(bySession.get('s-alice-1')).toMatchObject({ browser: 'Chrome 131.0', operatingSystem: 'Android 15', location: { country: 'BR', city: 'Recife' } });
      expect(bySession.get('s-bob-1')).toMatchObject({ browser: 'Safari 17.0', operatingSystem: 'iOS 17', location: null });
      expect(bySession.get('s-anon')).toMatchObject({ browser: null, operatingSystem: null, location: null });
      const own = await get('/me/sessions', 'alice', 'user').expect(200);
      expect(own.body.data[0]).toMatchObject({ sessionId: 's-alice-1', browser: 'Chrome 131.0', location: { country: 'BR' } });
    });

    it('pages with limit and offset, and narrows to one user', async () => {
      const page = await get('/sessions/active?limit=2&offset=1').expect(200);
      expect(ids(page.body)).toEqual(['s-anon', 's-bob-1']);
      expect(page.body.pagination).toEqual({ total: 4, limit: 2, offset: 1 });
      const alice = await get('/sessions/active?userId=alice').expect(200);
      expect(ids(alice.body)).toEqual(['s-alice-1', 's-alice-2']);
      expect(alice.body.pagination.total).toBe(2);
    });

    it('uses the configured session timeout', async () => {
      const short = testTracker(db.knex, { jwtSecret: REPORT_SECRET, flushIntervalMs: 60_000, sessionTimeoutMinutes: 15 });
      try {
        const response = await request(reportApp(express, short)).get(`${MOUNT}/sessions/active`).set(bearer('auditor-1', 'auditor')).expect(200);
        expect(ids(response.body)).toEqual(['s-alice-1', 's-anon', 's-bob-1']);
      } finally {
        await short.close();
      }
    });

    it('refuses a plain user with 403', async () => {
      const response = await get('/sessions/active', 'alice', 'user').expect(403);
      expect(response.body.error.code).toBe('ERR_AT_FORBIDDEN');
    });

    it('puts the read on the trail', async () => {
      await get('/sessions/active?userId=bob&limit=5').expect(200);
      await tracker.flush();
      const reads = (await storedActivities(db.knex)).filter((r) => r.activity_type === 'audit_read');
      expect(reads).toHaveLength(1);
      expect(reads[0]?.user_id).toBe('auditor-1');
      expect(reads[0]?.details?.['custom']).toMatchObject({
        route: `${MOUNT}/sessions/active`, role: 'auditor', rows: 1, filters: { userId: 'bob', limit: 5, offset: 0, since: expect.any(String) },
      });
    });
  });

  describe('GET /me/sessions', () => {
    it("lists the caller's own sessions only, newest first, ended ones included", async () => {
      const response = await get('/me/sessions', 'alice', 'user').expect(200);
      expect(ids(response.body)).toEqual(['s-alice-1', 's-alice-2', 's-alice-old']);
      expect(response.body.pagination).toEqual({ total: 3, limit: 100, offset: 0 });
      expect(response.body.data[2]).toEqual({
        sessionId: 's-alice-old', userId: 'alice', deviceInfo: PHONE, ipAddress: '203.0.113.7', userAgent: 'Mozilla/5.0 Safari/17',
        startTime: new Date(now - 2 * DAY).toISOString(), lastActivity: new Date(now - 2 * DAY + 30 * MINUTE).toISOString(),
        pageViews: 1, actionsCount: 2, endTime: new Date(now - 2 * DAY + 30 * MINUTE).toISOString(), duration: 30 * MINUTE, isActive: false, users: [],
        browser: null, operatingSystem: null, location: null,
      });
      expect(response.body.data[0]).toMatchObject({ endTime: null, duration: 19 * MINUTE, isActive: true });

      const bob = await get('/me/sessions', 'bob', 'user').expect(200);
      expect(ids(bob.body)).toEqual(['s-bob-2', 's-bob-1']);
      const nobody = await get('/me/sessions', 'nobody', 'admin').expect(200);
      expect(nobody.body).toEqual({ data: [], pagination: { total: 0, limit: 100, offset: 0 } });
    });

    it('pages with limit and offset', async () => {
      const response = await get('/me/sessions?limit=1&offset=1', 'alice', 'user').expect(200);
      expect(ids(response.body)).toEqual(['s-alice-2']);
      expect(response.body.pagination).toEqual({ total: 3, limit: 1, offset: 1 });
    });

    it('puts the read on the trail under the caller', async () => {
      await get('/me/sessions?limit=2', 'alice', 'user').expect(200);
      await tracker.flush();
      const reads = (await storedActivities(db.knex)).filter((r) => r.activity_type === 'audit_read');
      expect(reads).toHaveLength(1);
      expect(reads[0]?.user_id).toBe('alice');
      expect(reads[0]?.details?.['custom']).toEqual({ route: `${MOUNT}/me/sessions`, role: 'user', rows: 2, filters: { limit: 2, offset: 0 } });
    });
  });

  describe('GET /me/summary', () => {
    const at = (hour: number, minute = 0, day = 20) => Date.UTC(2026, 10, day, hour, minute);
    const PERIOD = 'startDate=2026-11-20&endDate=2026-11-20T23:59:59.999Z';

    beforeEach(async () => {
      await seed(db.knex, [
        activity({ startTime: at(10, 0), duration: 10 }),
        activity({ startTime: at(10, 5), duration: 20 }),
        activity({ activityType: 'data_update', startTime: at(10, 10), duration: 30, statusCode: 500, success: false }),
        activity({ sessionId: 'sess-a2', activityType: 'page_view', startTime: at(11, 0), duration: 40 }),
        activity({ startTime: at(1, 0, 21), duration: 1000 }), // the next day: outside the period
        activity({ userId: 'bob', sessionId: 'sess-a2', activityType: 'page_view', startTime: at(11, 30), duration: 9 }),
        activity({ userId: 'bob', sessionId: 'sess-b', activityType: 'login_failed', startTime: at(12, 0), duration: 5, statusCode: 401, success: false }),
        activity({ userId: 'bob', sessionId: 'sess-b', startTime: at(13, 0), duration: 7 }),
      ]);
    });

    it("sums up the caller's own activities of the period, never another user's", async () => {
      const alice = await get(`/me/summary?${PERIOD}`, 'alice', 'user').expect(200);
      expect(alice.body).toEqual({
        data: {
          userId: 'alice',
          period: { startDate: '2026-11-20T00:00:00.000Z', endDate: '2026-11-20T23:59:59.999Z' },
          totalActivities: 4,
          sessions: 2, // sess-a and sess-a2; bob was in sess-a2 too, which adds nothing
          byType: [{ activityType: 'data_view', count: 2 }, { activityType: 'data_update', count: 1 }, { activityType: 'page_view', count: 1 }],
          lastActivity: '2026-11-20T11:00:00.000Z',
          errorCount: 1,
          averageDuration: 25, // (10+20+30+40)/4
        },
      });

      const bob = await get(`/me/summary?${PERIOD}`, 'bob', 'user').expect(200);
      expect(bob.body.data).toMatchObject({
        userId: 'bob', totalActivities: 3, sessions: 2, lastActivity: '2026-11-20T13:00:00.000Z', errorCount: 1, averageDuration: 7,
        byType: [{ activityType: 'data_view', count: 1 }, { activityType: 'login_failed', count: 1 }, { activityType: 'page_view', count: 1 }],
      });
    });

    it('is empty for a caller without activity, and nobody can ask about someone else', async () => {
      const nobody = await get(`/me/summary?${PERIOD}`, 'nobody', 'admin').expect(200);
      expect(nobody.body.data).toMatchObject({ userId: 'nobody', totalActivities: 0, sessions: 0, byType: [], lastActivity: null, errorCount: 0, averageDuration: 0 });
      const asking = await get(`/me/summary?${PERIOD}&userId=bob`, 'alice', 'admin').expect(400);
      expect(asking.body.error).toMatchObject({ code: 'ERR_AT_UNKNOWN_PARAM', param: 'userId' });
    });

    it('defaults to the last 30 days', async () => {
      await resetTables(db.knex);
      const start = Date.now();
      await seed(db.knex, [
        activity({ startTime: start - DAY, duration: 12 }),
        activity({ startTime: start - 40 * DAY, duration: 1000 }),
        activity({ userId: 'bob', startTime: start - 60 * MINUTE }),
      ]);
      const response = await get('/me/summary', 'alice', 'user').expect(200);
      expect(response.body.data).toMatchObject({ totalActivities: 1, lastActivity: new Date(start - DAY).toISOString(), averageDuration: 12 });
      const { startDate, endDate } = response.body.data.period as { startDate: string; endDate: string };
      expect(Date.parse(endDate)).toBeGreaterThanOrEqual(start);
      expect(Date.parse(endDate) - Date.parse(startDate)).toBe(30 * DAY);
    });
  });
});

describe('session routes refuse bad parameters before any SQL', () => {
  const express = EXPRESS_VERSIONS[0][1];
  it.each([
    ['/sessions/active?limit=0', 'limit'],
    ['/sessions/active?limit=1001', 'limit'],
    ['/sessions/active?offset=-1', 'offset'],
    ['/sessions/active?userId=a%20b', 'userId'],
    ['/sessions/active?startDate=2026-11-20', 'startDate'],
    ['/me/sessions?limit=0', 'limit'],
    ['/me/sessions?limit=1001', 'limit'],
    ['/me/sessions?userId=bob', 'userId'],
    ['/me/summary?startDate=2026-11-21&endDate=2026-11-20', 'endDate'],
    ['/me/summary?startDate=last-week', 'startDate'],
    ['/me/summary?limit=10', 'limit'],
  ] as const)('%s → 400 naming %s', async (path, param) => {
    const { response, reads } = await getCountingReads(db.knex, express, path);
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ code: expect.stringMatching(/^ERR_AT_(INVALID|UNKNOWN)_PARAM$/), param });
    expect(response.body.error.message).toContain(param);
    expect(reads).toEqual([]);
  });
});
