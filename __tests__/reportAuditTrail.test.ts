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

const at = (time: string) => Date.parse(`2026-11-20T${time}:00.000Z`);
const iso = (ms: number) => new Date(ms).toISOString();
const trailOf = (type: string, id: string) => `${MOUNT}/entities/${type}/${id}/audit-trail`;

/** Six actions on things/1 (two at the same instant), stored out of order, and two on other entities. */
function knownActivities() {
  const rows = {
    created: activity({ userId: 'alice', activityType: 'data_create', action: 'create', method: 'POST', path: '/api/things', route: '/api/things', statusCode: 201, startTime: at('10:00'), entityType: 'things', entityId: '1', details: { body: { name: 'Widget' } } }),
    renamed: activity({ userId: 'bob', activityType: 'data_update', action: 'update', method: 'PUT', path: '/api/things/1', statusCode: 200, startTime: at('10:05'), entityType: 'things', entityId: '1', details: { body: { name: 'Gadget' }, custom: { reason: 'typo in the name' } } }),
    viewedWithRename: activity({ userId: 'carol', startTime: at('10:05'), entityType: 'things', entityId: '1', path: '/api/things/1', details: { query: { full: 'true' } } }),
    approved: activity({ userId: 'dave', activityType: 'system_action', action: 'thing.approved', method: null, path: null, route: null, statusCode: null, ipAddress: null, startTime: at('10:10'), entityType: 'things', entityId: '1', details: { before: { status: 'draft' }, after: { status: 'approved' }, reason: 'QA passed' } }),
    // The route's own words (details.custom) win over what the event says at the top.
    overridden: activity({ userId: 'erin', activityType: 'data_update', action: 'update', method: 'PATCH', path: '/api/things/1', startTime: at('10:20'), entityType: 'things', entityId: '1', details: { body: { price: 3 }, reason: 'said by the event', custom: { before: { price: 2 }, after: { price: 3, currency: 'EUR' }, reason: 'said by the route' } } }),
    failedDelete: activity({ userId: 'frank', activityType: 'data_delete', action: 'delete', method: 'DELETE', path: '/api/things/1', statusCode: 403, success: false, startTime: at('10:30'), entityType: 'things', entityId: '1' }),
    viewedFirst: activity({ userId: 'alice', startTime: at('09:00'), entityType: 'things', entityId: '1', path: '/api/things/1' }),
  };
  const others = [
    activity({ startTime: at('10:01'), entityType: 'things', entityId: '2', path: '/api/things/2' }),
    activity({ startTime: at('10:02'), entityType: 'widgets', entityId: '1', path: '/api/widgets/1' }),
  ];
  return { rows, others };
}

/** The trail item for a seeded row, with the before/after/reason the test expects of it. */
function item(e: ActivityEvent, change: { before?: unknown; after?: unknown; reason?: unknown } = {}) {
  return {
    id: e.id, time: iso(e.startTime), userId: e.userId, actor: e.userId, action: e.action, activityType: e.activityType, method: e.method, path: e.path,
    statusCode: e.statusCode, success: e.success, ipAddress: e.ipAddress, before: change.before ?? null, after: change.after ?? null, reason: change.reason ?? null,
    actorType: e.actorType ?? null, actorName: e.actorName ?? null, status: e.status ?? null, diff: null,
  };
}

describe.each(EXPRESS_VERSIONS)('GET /entities/:entityType/:entityId/audit-trail with %s', (_name, express) => {
  let tracker: ActivityTracker;
  afterEach(async () => { await tracker.close(); });

  const get = (path: string, query = '') => request(reportApp(express, tracker)).get(`${path}${query ? `?${query}` : ''}`).set(bearer('auditor-1', 'auditor'));

  describe('over seeded rows', () => {
    let known: ReturnType<typeof knownActivities>;
    beforeEach(async () => {
      tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET });
      known = knownActivities();
      await seed(db.knex, [...Object.values(known.rows), ...known.others]);
    });

    it('lists every action on that entity only, oldest first, with who, what and the change', async () => {
      const { rows } = known;
      const response = await get(trailOf('things', '1')).expect(200);
      const sameInstant = [
        item(rows.renamed, { after: { name: 'Gadget' }, reason: 'typo in the name' }),
        item(rows.viewedWithRename),
      ].sort((a, b) => (a.id < b.id ? -1 : 1));
      expect(response.body).toEqual({
        data: [
          item(rows.viewedFirst),
          item(rows.created, { after: { name: 'Widget' } }),
          ...sameInstant,
          item(rows.approved, { before: { status: 'draft' }, after: { status: 'approved' }, reason: 'QA passed' }),
          item(rows.overridden, { before: { price: 2 }, after: { price: 3, currency: 'EUR' }, reason: 'said by the route' }),
          item(rows.failedDelete),
        ],
        entity: { entityType: 'things', entityId: '1' },
        pagination: { total: 7, limit: 1000, offset: 0 },
      });
    });

    it('pages with limit and offset, counting the whole trail', async () => {
      const { rows } = known;
      const response = await get(trailOf('things', '1'), 'limit=2&offset=1').expect(200);
      expect(response.body.data.map((i: { id: string }) => i.id)).toEqual([rows.created.id, [rows.renamed.id, rows.viewedWithRename.id].sort()[0]]);
      expect(response.body.pagination).toEqual({ total: 7, limit: 2, offset: 1 });
    });

    it('narrows to a period', async () => {
      const { rows } = known;
      const response = await get(trailOf('things', '1'), 'startDate=2026-11-20T10:06:00Z&endDate=2026-11-20T10:20:00Z').expect(200);
      expect(response.body.data.map((i: { id: string }) => i.id)).toEqual([rows.approved.id, rows.overridden.id]);
      expect(response.body.pagination.total).toBe(2);
    });

    it('answers an entity with no trail with an empty list', async () => {
      const response = await get(trailOf('things', '404')).expect(200);
      expect(response.body).toEqual({ data: [], entity: { entityType: 'things', entityId: '404' }, pagination: { total: 0, limit: 1000, offset: 0 } });
    });

    it('puts the read on the trail of the entity it read', async () => {
      await get(trailOf('widgets', '1'), 'limit=10').expect(200);
      await tracker.flush();
      const reads = (await storedActivities(db.knex)).filter((r) => r.activity_type === 'audit_read');
      expect(reads).toHaveLength(1);
      expect(reads[0]).toMatchObject({ user_id: 'auditor-1', action: 'report.read', entity_type: 'widgets', entity_id: '1', status_code: 200 });
      expect(reads[0]?.details?.['custom']).toEqual({ route: `${MOUNT}/entities/:entityType/:entityId/audit-trail`, role: 'auditor', rows: 1, filters: { limit: 10, offset: 0 } });
      const again = await get(trailOf('widgets', '1')).expect(200);
      expect(again.body.data.map((i: { userId: string; action: string }) => [i.userId, i.action])).toEqual([[known.others[1]?.userId, 'read'], ['auditor-1', 'report.read']]);
    });

    it('is for readers only: 403 for role user', async () => {
      const response = await request(reportApp(express, tracker)).get(trailOf('things', '1')).set(bearer('u2', 'user')).expect(403);
      expect(response.body.error.code).toBe('ERR_AT_FORBIDDEN');
    });
  });

  it('shows a real flow: create and update through the app, then a domain event with before, after and reason', async () => {
    tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET });
    const app = express();
    app.use(tracker.middleware());
    app.use(express.json());
    app.post('/api/things', (req, res) => {
      // A create route names the id it made, so the create is on that thing's trail.
      req.activity!.entityId = '1';
      res.status(201).json({ id: '1', ...req.body });
    });
    app.put('/api/things/:id', (req, res) => { res.json({ id: req.params['id'], ...req.body }); });
    app.use(MOUNT, tracker.router());

    await request(app).post('/api/things').set(bearer('alice', 'user')).send({ name: 'Widget', password: 'hunter2' }).expect(201);
    await request(app).put('/api/things/1').set(bearer('bob', 'user')).send({ name: 'Gadget' }).expect(200);
    await tracker.record({ action: 'thing.approved', entityType: 'things', entityId: '1', userId: 'carol', details: { before: { status: 'draft' }, after: { status: 'approved' }, reason: 'QA passed' } });
    await tracker.flush();

    const response = await request(app).get(trailOf('things', '1')).set(bearer('auditor-1', 'auditor')).expect(200);
    expect(response.body.pagination.total).toBe(3);
    expect(response.body.data).toMatchObject([
      { userId: 'alice', action: 'create', activityType: 'data_create', method: 'POST', path: '/api/things', statusCode: 201, success: true, before: null, after: { name: 'Widget', password: '[REDACTED]' }, reason: null },
      { userId: 'bob', action: 'update', activityType: 'data_update', method: 'PUT', path: '/api/things/1', statusCode: 200, success: true, before: null, after: { name: 'Gadget' }, reason: null },
      { userId: 'carol', action: 'thing.approved', activityType: 'system_action', method: null, path: null, statusCode: null, success: true, ipAddress: null, before: { status: 'draft' }, after: { status: 'approved' }, reason: 'QA passed' },
    ]);
    const times = response.body.data.map((i: { time: string }) => i.time);
    expect(times).toEqual([...times].sort());
  });
});

describe('GET /entities/:entityType/:entityId/audit-trail refuses bad parameters', () => {
  const express = EXPRESS_VERSIONS[0][1];
  it.each([
    [trailOf('things', "1'"), 'entityId'],
    [trailOf('things', '1%27%20or%20%271%27%3D%271'), 'entityId'],
    [trailOf('things', 'x'.repeat(257)), 'entityId'],
    [trailOf('th%20ings', '1'), 'entityType'],
    [trailOf('t'.repeat(129), '1'), 'entityType'],
    [`${trailOf('things', '1')}?limit=0`, 'limit'],
    [`${trailOf('things', '1')}?limit=1001`, 'limit'],
    [`${trailOf('things', '1')}?offset=-1`, 'offset'],
    [`${trailOf('things', '1')}?startDate=soon`, 'startDate'],
    [`${trailOf('things', '1')}?startDate=2026-11-20&endDate=2026-11-19`, 'endDate'],
    [`${trailOf('things', '1')}?userId=alice`, 'userId'],
  ])('%s → 400 naming %s', async (path, param) => {
    const { response, reads } = await getCountingReads(db.knex, express, path);
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ code: expect.stringMatching(/^ERR_AT_(INVALID|UNKNOWN)_PARAM$/), param });
    expect(reads).toEqual([]);
  });

  it('accepts the longest allowed ids', async () => {
    const tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET });
    try {
      const response = await request(reportApp(express, tracker)).get(trailOf('t'.repeat(128), 'x'.repeat(256))).set(bearer('a', 'admin')).expect(200);
      expect(response.body.entity).toEqual({ entityType: 't'.repeat(128), entityId: 'x'.repeat(256) });
    } finally {
      await tracker.close();
    }
  });
});
