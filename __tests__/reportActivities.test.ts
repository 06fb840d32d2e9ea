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

/** Eight known activities over three days, three users, two IPs. */
function knownActivities(): ActivityEvent[] {
  return [
    activity({ userId: 'alice', activityType: 'login', action: 'login', startTime: at(18, 9), duration: 40, entityType: null, entityId: null, path: '/login', statusCode: 200 }),
    activity({ userId: 'alice', activityType: 'data_view', startTime: at(18, 10), duration: 12 }),
    activity({ userId: 'alice', activityType: 'data_update', action: 'update', method: 'PUT', startTime: at(19, 11), duration: 30, entityId: '2', path: '/api/items/2' }),
    activity({ userId: 'bob', sessionId: 'sess-b', ipAddress: '198.51.100.9', activityType: 'login_failed', action: 'login', startTime: at(19, 12), duration: 25, statusCode: 401, success: false, entityType: null, entityId: null, path: '/login' }),
    activity({ userId: 'bob', sessionId: 'sess-b', ipAddress: '198.51.100.9', activityType: 'data_view', startTime: at(19, 13), duration: 8 }),
    activity({ userId: 'bob', sessionId: 'sess-b', ipAddress: '198.51.100.9', activityType: 'error', action: 'read', startTime: at(20, 8), duration: 500, statusCode: 500, success: false, entityId: '3', path: '/api/items/3' }),
    activity({ userId: null, sessionId: 'sess-c', activityType: 'page_view', action: 'read', startTime: at(20, 9), duration: 5, entityType: null, entityId: null, path: '/' }),
    activity({ userId: 'carol', sessionId: 'sess-d', activityType: 'data_delete', action: 'delete', method: 'DELETE', startTime: at(20, 10), duration: 15, entityId: '1', statusCode: 204 }),
  ];
}

const PERIOD = 'startDate=2026-11-18&endDate=2026-11-21';

describe.each(EXPRESS_VERSIONS)('GET /activities with %s', (_name, express) => {
  let tracker: ActivityTracker;
  let events: ActivityEvent[];
  beforeEach(async () => {
    tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET });
    events = knownActivities();
    await seed(db.knex, events);
  });
  afterEach(async () => { await tracker.close(); });

  const get = (query: string) => request(reportApp(express, tracker)).get(`${MOUNT}/activities?${query}`).set(bearer('auditor-1', 'auditor'));

  it('returns the activities of the period, newest first, with the total', async () => {
    const response = await get(PERIOD).expect(200);
    expect(response.body.pagination).toEqual({ total: 8, limit: 100, offset: 0, nextCursor: null });
    expect(response.body.data.map((a: { id: string }) => a.id)).toEqual([...events].reverse().map((e) => e.id));
    expect(response.body.data[7]).toMatchObject({
      id: events[0]?.id, userId: 'alice', sessionId: 'sess-a', activityType: 'login', action: 'login', path: '/login',
      statusCode: 200, success: true, duration: 40, startTime: '2026-11-18T09:00:00.000Z', endTime: '2026-11-18T09:00:00.040Z',
      browser: 'Chrome 126.0.0.0', deviceInfo: { type: 'desktop', vendor: null, model: null }, location: { country: 'US' },
    });
  });

  it.each([
    ['userId=bob', [3, 4, 5]],
    ['sessionId=sess-d', [7]],
    ['activityType=login_failed', [3]],
    ['activityType=login,login_failed', [0, 3]],
    ['activityType=data_view&activityType=page_view', [1, 4, 6]],
    ['entityType=items&entityId=1', [1, 4, 7]],
    ['ipAddress=198.51.100.9', [3, 4, 5]],
    ['success=false', [3, 5]],
    ['startDate=2026-11-19T11:30:00Z&endDate=2026-11-20T08:00:00Z', [3, 4, 5]],
    ['userId=alice&activityType=data_update', [2]],
    ['userId=nobody', []],
  ] as const)('filters by %s', async (query, expected) => {
    const response = await get(query).expect(200);
    const ids = response.body.data.map((a: { id: string }) => a.id).sort();
    expect(ids).toEqual(expected.map((i) => events[i]?.id).sort());
    expect(response.body.pagination.total).toBe(expected.length);
  });

  it('pages with limit and offset and sorts by an allowlisted column', async () => {
    const page = await get(`${PERIOD}&limit=3&offset=2&orderBy=duration&order=asc`).expect(200);
    // Durations ascending: 5, 8, 12, 15, 25, 30, 40, 500 → the third to fifth.
    expect(page.body.data.map((a: { duration: number }) => a.duration)).toEqual([12, 15, 25]);
    // Sorted by a nullable column: paged by offset only, so no cursor.
    expect(page.body.pagination).toEqual({ total: 8, limit: 3, offset: 2, nextCursor: null });
  });

  it('puts the read on the trail: who read, with which filters', async () => {
    await get('userId=bob&limit=2').expect(200);
    await tracker.flush();
    const reads = (await storedActivities(db.knex)).filter((r) => r.activity_type === 'audit_read');
    expect(reads).toHaveLength(1);
    expect(reads[0]).toMatchObject({ user_id: 'auditor-1', action: 'report.read', status_code: 200, success: true });
    expect(reads[0]?.details?.['custom']).toEqual({
      route: `${MOUNT}/activities`, role: 'auditor', rows: 2,
      filters: { userId: 'bob', limit: 2, offset: 0, orderBy: 'startTime', order: 'desc' },
    });
  });
});

describe('GET /activities refuses bad parameters before any SQL', () => {
  const express = EXPRESS_VERSIONS[0][1];
  const long = 'a'.repeat(257);
  const cases: Array<[string, string]> = [
    ['activityType=hacking', 'activityType'],
    ['activityType=login,nope', 'activityType'],
    ['startDate=yesterday', 'startDate'],
    ['startDate=2026-02-31', 'startDate'],
    ['endDate=2026-13-01', 'endDate'],
    ['startDate=2026-11-20&endDate=2026-11-19', 'endDate'],
    ['limit=0', 'limit'],
    ['limit=1001', 'limit'],
    ['limit=ten', 'limit'],
    ['offset=-1', 'offset'],
    ['orderBy=password', 'orderBy'],
    ['orderBy=start_time%3B%20drop%20table%20user_activity', 'orderBy'],
    ['order=up', 'order'],
    ['userId=1%27%20or%20%271%27%3D%271', 'userId'],
    ['entityId=1%3B%20delete%20from%20user_activity', 'entityId'],
    [`userId=${long}`, 'userId'],
    ['userId=a&userId=b', 'userId'],
    ['ipAddress=999.1.1.1', 'ipAddress'],
    ['success=yes', 'success'],
    ['colour=blue', 'colour'],
  ];

  it.each(cases)('%s → 400 naming %s', async (query, param) => {
    const started = performance.now();
    const { response, reads } = await getCountingReads(db.knex, express, `/activities?${query}`);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ code: expect.stringMatching(/^ERR_AT_(INVALID|UNKNOWN)_PARAM$/), param });
    expect(response.body.error.message).toContain(param);
    expect(reads).toEqual([]);
  });
});

describe('GET /activities on a broad filter', () => {
  it('counts at most 10000 matches and says the total is a lower bound', async () => {
    // 10001 rows written by the database itself (their chain is not the point here): the count must stop at the cap.
    await db.knex.raw(`insert into user_activity (id, activity_type, start_time, success, chain_position, prev_hash, row_hash)
      select (lpad(to_hex(n), 8, '0') || '-0000-7000-8000-000000000000')::uuid, 'page_view', timestamptz '2026-01-01' + n * interval '1 second', true, n, '', ''
      from generate_series(1, 10001) as n`);
    const tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET });
    try {
      const app = reportApp(EXPRESS_VERSIONS[1][1], tracker, { capture: false });
      const broad = await request(app).get(`${MOUNT}/activities?limit=1`).set(bearer('a', 'auditor')).expect(200);
      expect(broad.body.pagination).toEqual({ total: 10_000, totalIsLowerBound: true, limit: 1, offset: 0, nextCursor: expect.any(String) });
      expect(broad.body.data[0].startTime).toBe(new Date(Date.UTC(2026, 0, 1) + 10_001_000).toISOString());
      const narrow = await request(app).get(`${MOUNT}/activities?limit=1&startDate=2026-01-01T00:00:01Z&endDate=2026-01-01T00:00:10Z`).set(bearer('a', 'auditor')).expect(200);
      expect(narrow.body.pagination).toEqual({ total: 10, limit: 1, offset: 0, nextCursor: expect.any(String) });
    } finally {
      await tracker.close();
    }
  }, 120_000);
});
