import request from 'supertest';
import { EXPRESS_VERSIONS, testTracker } from './support/app';
import { openTestDatabase, type TestDatabase } from './support/database';
import { activity, bearer, MOUNT, openApiValidator, REPORT_SECRET, reportApp, seed } from './support/reports';
import type { ActivityTracker } from '../lib/tracker';

let db: TestDatabase;
let tracker: ActivityTracker;
beforeAll(async () => {
  db = await openTestDatabase();
  tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET });
  const now = Date.now();
  await seed(db.knex, [
    activity({ userId: 'alice', startTime: now - 60_000 }),
    activity({ userId: 'alice', activityType: 'login_failed', action: 'login', statusCode: 401, success: false, startTime: now - 50_000, entityType: null, entityId: null }),
    activity({ userId: 'bob', sessionId: 'sess-b', activityType: 'data_update', action: 'update', method: 'PUT', startTime: now - 40_000, duration: 9000, details: { before: { name: 'a' }, after: { name: 'b' } } }),
    activity({ userId: 'auditor-1', sessionId: 'sess-x', activityType: 'audit_read', action: 'report.read', startTime: now - 30_000, entityType: null, entityId: null, details: { custom: { route: `${MOUNT}/activities`, role: 'auditor' } } }),
  ]);
});
afterAll(async () => {
  await tracker.close();
  await db.destroy();
});

function validator(): ReturnType<typeof openApiValidator> {
  return openApiValidator(reportApp(EXPRESS_VERSIONS[1][1], tracker));
}

describe.each(EXPRESS_VERSIONS)('the OpenAPI document describes real responses (%s)', (_name, express) => {
  const cases: Array<[string, string, string]> = [
    ['/activities', '/activities?limit=10', 'auditor'],
    ['/stats', '/stats', 'auditor'],
    ['/sessions/active', '/sessions/active', 'manager'],
    ['/suspicious', '/suspicious?startDate=2020-01-01', 'admin'],
    ['/entities/{entityType}/{entityId}/audit-trail', '/entities/items/1/audit-trail', 'auditor'],
    ['/compliance-report', `/compliance-report?startDate=${new Date(Date.now() - 86_400_000).toISOString()}&endDate=${new Date(Date.now() + 60_000).toISOString()}`, 'system_admin'],
    ['/me/sessions', '/me/sessions', 'user'],
    ['/me/summary', '/me/summary', 'user'],
    ['/console/session', '/console/session', 'auditor'],
    ['/integrity/runs', '/integrity/runs', 'system_admin'],
  ];

  it.each(cases)('%s', async (documented, url, role) => {
    const check = await validator();
    const response = await request(reportApp(express, tracker)).get(`${MOUNT}${url}`).set(bearer(role === 'user' ? 'alice' : `${role}-1`, role));
    expect(response.status).toBe(200);
    expect(check(documented, 200, response.body)).toEqual([]);
    // Non-vacuous: the data the seed put there is in what was validated.
    expect(JSON.stringify(response.body.data).length).toBeGreaterThan(2);
  });

  it('documents every route the router answers, and the error bodies', async () => {
    const check = await validator();
    const app = reportApp(express, tracker);
    const bad = await request(app).get(`${MOUNT}/activities?limit=0`).set(bearer('a', 'admin')).expect(400);
    expect(check('/activities', 400, bad.body)).toEqual([]);
    const unauthenticated = await request(app).get(`${MOUNT}/stats`).expect(401);
    expect(check('/stats', 401, unauthenticated.body)).toEqual([]);
    const forbidden = await request(app).get(`${MOUNT}/stats`).set(bearer('a', 'user')).expect(403);
    expect(check('/stats', 403, forbidden.body)).toEqual([]);
    // A body that breaks the schema is caught: the check is not vacuous.
    expect(check('/activities', 200, { data: [{ id: 1 }], pagination: {} })).not.toEqual([]);
    const csv = await request(app).get(`${MOUNT}/export`).set(bearer('a', 'admin')).expect(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    const doc = (await request(app).get(`${MOUNT}/openapi.json`)).body as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths).sort()).toEqual([
      '/activities', '/activities/{id}', '/alerts', '/alerts/{id}/acknowledge', '/compliance-report', '/console/session', '/entities/{entityType}/{entityId}/audit-trail', '/export', '/health', '/integrity',
      '/integrity/runs', '/integrity/runs/{id}', '/live', '/me/sessions', '/me/summary', '/openapi.json', '/sessions/active', '/stats', '/suspicious',
    ]);
  });
});
