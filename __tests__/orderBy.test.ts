import request from 'supertest';
import { EXPRESS_VERSIONS, storedActivities, testTracker } from './support/app';
import { openTestDatabase, resetTables, type TestDatabase } from './support/database';
import { activity, bearer, getCountingReads, MOUNT, REPORT_SECRET, reportApp, seed } from './support/reports';
import type { ActivityTracker } from '../lib/tracker';
import type { ActivityEvent } from '../lib/types';

const express = EXPRESS_VERSIONS[1][1];
const at = (minute: number) => Date.UTC(2026, 10, 20, 10, minute);
/** The seeded day only: the audit_read rows the reads themselves add start today. */
const DAY = 'startDate=2026-11-20&endDate=2026-11-20T23:59:59Z';

let db: TestDatabase;
let tracker: ActivityTracker;
/** In the order they were stored, which is neither their start time order nor their status order. */
let events: ActivityEvent[];

beforeAll(async () => {
  db = await openTestDatabase();
  await resetTables(db.knex);
  events = [
    activity({ startTime: at(3), statusCode: 200 }),
    activity({ startTime: at(1), statusCode: 500, success: false }),
    activity({ startTime: at(4), statusCode: null, method: null, path: null, route: null, action: 'item.approved' }),
    activity({ startTime: at(0), statusCode: 404, success: false }),
    activity({ startTime: at(2), statusCode: 200 }),
  ];
  // One batch each, a few milliseconds apart: created_at is the time the database stored the batch.
  for (const event of events) {
    await seed(db.knex, [event]);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET });
});
afterAll(async () => {
  await tracker.close();
  await db.destroy();
});

const ids = (...indexes: number[]): string[] => indexes.map((i) => (events[i] as ActivityEvent).id);

async function sorted(query: string): Promise<string[]> {
  const response = await request(reportApp(express, tracker)).get(`${MOUNT}/activities?${DAY}&${query}`).set(bearer('auditor-1', 'auditor')).expect(200);
  return (response.body.data as Array<{ id: string }>).map((a) => a.id);
}

describe('GET /activities sorted by createdAt, by field name or by column name', () => {
  it('stored the rows with created_at in the order they were stored, unlike their start times', async () => {
    const rows = (await db.knex('user_activity').whereIn('id', ids(0, 1, 2, 3, 4)).select('id', 'created_at')) as Array<{ id: string; created_at: Date }>;
    const createdAt = new Map(rows.map((r) => [r.id, r.created_at.getTime()]));
    const times = ids(0, 1, 2, 3, 4).map((id) => createdAt.get(id) as number);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(new Set(times).size).toBe(5);
  });

  it('orderBy=created_at&order=asc: in the order they were stored, createdAt ascending', async () => {
    const response = await request(reportApp(express, tracker)).get(`${MOUNT}/activities?${DAY}&orderBy=created_at&order=asc`).set(bearer('auditor-1', 'auditor')).expect(200);
    const data = response.body.data as Array<{ id: string; createdAt: string }>;
    expect(data.map((a) => a.id)).toEqual(ids(0, 1, 2, 3, 4));
    const createdAt = data.map((a) => a.createdAt);
    expect(createdAt).toEqual([...createdAt].sort());
  });

  it('orderBy=created_at&order=desc: the latest stored first', async () => {
    expect(await sorted('orderBy=created_at&order=desc')).toEqual(ids(4, 3, 2, 1, 0));
  });

  it('orderBy=createdAt sorts as orderBy=created_at', async () => {
    expect(await sorted('orderBy=createdAt&order=asc')).toEqual(ids(0, 1, 2, 3, 4));
    expect(await sorted('orderBy=createdAt')).toEqual(ids(4, 3, 2, 1, 0));
  });
});

describe('GET /activities sorted by the other columns under either name', () => {
  it('orderBy=start_time sorts as orderBy=startTime: by start time, not by storage', async () => {
    expect(await sorted('orderBy=start_time&order=asc')).toEqual(ids(3, 1, 4, 0, 2));
    expect(await sorted('orderBy=startTime&order=asc')).toEqual(ids(3, 1, 4, 0, 2));
    expect(await sorted('orderBy=start_time')).toEqual(ids(2, 0, 4, 1, 3));
    expect(await sorted('orderBy=startTime')).toEqual(ids(2, 0, 4, 1, 3));
  });

  it('orderBy=user_id and orderBy=activity_type are taken as userId and activityType', async () => {
    expect(await sorted('orderBy=user_id&order=asc')).toEqual(await sorted('orderBy=userId&order=asc'));
    expect(await sorted('orderBy=activity_type&order=desc')).toEqual(await sorted('orderBy=activityType&order=desc'));
  });

  it('puts the sort on the trail under its field name, whichever name the request used', async () => {
    await sorted('orderBy=created_at&order=asc&limit=3');
    await tracker.flush();
    const reads = (await storedActivities(db.knex)).filter((r) => r.activity_type === 'audit_read'
      && (r.details?.['custom'] as { filters?: { limit?: number } } | undefined)?.filters?.limit === 3);
    expect(reads.map((r) => (r.details?.['custom'] as { filters: unknown }).filters)).toEqual([
      { startDate: '2026-11-20T00:00:00.000Z', endDate: '2026-11-20T23:59:59.000Z', limit: 3, offset: 0, orderBy: 'createdAt', order: 'asc' },
    ]);
  });
});

describe('GET /activities refuses any other orderBy before any SQL', () => {
  it.each([
    'password',
    'id',
    'id;drop table user_activity',
    'created_at desc',
    'CREATED_AT',
    'constructor',
    'ip_address',
  ])('orderBy=%s → 400 naming orderBy and every accepted name', async (value) => {
    const { response, reads } = await getCountingReads(db.knex, express, `/activities?orderBy=${encodeURIComponent(value)}`);
    expect(response.status).toBe(400);
    expect(response.body.error).toEqual({
      code: 'ERR_AT_INVALID_PARAM',
      param: 'orderBy',
      message: '"orderBy" must be one of startTime, duration, userId, activityType, createdAt, or the column name of one: start_time, user_id, activity_type, created_at',
    });
    expect(reads).toEqual([]);
  });

  it('refuses orderBy given twice', async () => {
    const { response } = await getCountingReads(db.knex, express, '/activities?orderBy=created_at&orderBy=start_time');
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ code: 'ERR_AT_INVALID_PARAM', param: 'orderBy' });
  });
});
