import request from 'supertest';
import { createActivityTracker, type ActivityTracker } from '../lib/tracker';
import { healthStatus } from '../lib/router/routes/health';
import type { RecorderStats } from '../lib/recorder/recorder';
import { EXPRESS_VERSIONS, memoryLogger, tempJournalDir, testTracker } from './support/app';
import { openTestDatabase, resetTables, type TestDatabase } from './support/database';
import { bearer, MOUNT, openApiValidator, REPORT_SECRET, reportApp } from './support/reports';
import { waitFor } from './support/recorder';

let db: TestDatabase;
let tracker: ActivityTracker;
beforeAll(async () => {
  db = await openTestDatabase();
  tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET });
});
afterAll(async () => {
  await tracker.close();
  await db.destroy();
});
beforeEach(async () => { await resetTables(db.knex); });

describe.each(EXPRESS_VERSIONS)('GET /health (%s)', (_name, express) => {
  it('tells admins the write path is ok, with its counters and a live probe of the database', async () => {
    const app = reportApp(express, tracker);
    for (let i = 0; i < 3; i++) await request(app).get('/work').expect(404);
    await tracker.flush();
    const written = tracker.stats().written;
    const response = await request(app).get(`${MOUNT}/health`).set(bearer('root-1', 'admin')).expect(200);
    expect(response.body).toEqual({
      data: {
        status: 'ok',
        database: { reachable: true, latencyMs: expect.any(Number), error: null },
        writePath: expect.objectContaining({ written, dropped: 0, journalPending: 0, queued: expect.any(Number), databaseAvailable: true }),
      },
    });
    expect(written).toBeGreaterThanOrEqual(3);
    expect((await openApiValidator(app))('/health', 200, response.body)).toEqual([]);
  });

  it('is for admins only, and takes no parameters', async () => {
    const app = reportApp(express, tracker);
    await request(app).get(`${MOUNT}/health`).expect(401);
    await request(app).get(`${MOUNT}/health`).set(bearer('aud-1', 'auditor')).expect(403);
    const bad = await request(app).get(`${MOUNT}/health?verbose=1`).set(bearer('root-1', 'system_admin')).expect(400);
    expect(bad.body.error).toMatchObject({ param: 'verbose' });
  });

  it('answers 503 "failing" while the database cannot be reached, with what waits in the journal', async () => {
    const unreachable = createActivityTracker({
      database: 'postgres://nobody@127.0.0.1:1/none', jwtSecret: REPORT_SECRET, logger: memoryLogger(), flushIntervalMs: 5,
      closeTimeoutMs: 200, journal: { dir: tempJournalDir() }, jobs: false,
    });
    try {
      const app = reportApp(express, unreachable);
      for (let i = 0; i < 4; i++) await request(app).get('/work').expect(404);
      await waitFor(() => unreachable.stats().journalPending >= 4, 10_000, 'the events journaled');
      const response = await request(app).get(`${MOUNT}/health`).set(bearer('root-1', 'admin')).expect(503);
      expect(response.body.data).toMatchObject({
        status: 'failing',
        database: { reachable: false, error: expect.stringMatching(/ECONNREFUSED|connect/) },
        writePath: { databaseAvailable: false, dropped: 0, written: 0 },
      });
      expect(response.body.data.writePath.journalPending).toBeGreaterThanOrEqual(4);
      expect((await openApiValidator(app))('/health', 503, response.body)).toEqual([]);
    } finally {
      await unreachable.close();
    }
  });
});

describe('the health status', () => {
  const healthy: RecorderStats = {
    queued: 0, journalPending: 0, journalBytes: 0, written: 10, retried: 0, journaled: 0, replayed: 0, rejected: 0, torn: 0, dropped: 0,
    lastError: null, lastErrorAt: null, lagMs: 5, databaseAvailable: true,
  };
  it.each([
    ['ok', true, {}],
    ['degraded', true, { journalPending: 1 }],
    ['degraded', true, { lagMs: 61_000 }],
    ['degraded', true, { databaseAvailable: false }],
    ['failing', false, {}],
    ['failing', true, { dropped: 1 }],
  ] as const)('is %s when the database answers: %s, and %j', (expected, reachable, overrides) => {
    expect(healthStatus(reachable, { ...healthy, ...overrides })).toBe(expected);
  });
});
