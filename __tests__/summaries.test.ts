import request from 'supertest';
import { EXPRESS_VERSIONS, testTracker } from './support/app';
import { openTestDatabase, resetTables, type TestDatabase } from './support/database';
import { activity, seed } from './support/reports';

let db: TestDatabase;
beforeAll(async () => { db = await openTestDatabase(); });
afterAll(async () => { await db.destroy(); });
beforeEach(async () => { await resetTables(db.knex); });

interface SummaryRow { user_id: string; day: string | Date; requests: number; page_views: number; data_changes: number; errors: number; sessions: number; total_duration: number; avg_duration: number | null; last_activity: Date | null }

async function summaries(): Promise<Array<Record<string, unknown>>> {
  const rows = (await db.knex('activity_summaries').orderBy(['user_id', 'day'])) as SummaryRow[];
  return rows.map((r) => ({
    userId: r.user_id, day: r.day instanceof Date ? r.day.toISOString().slice(0, 10) : String(r.day).slice(0, 10),
    requests: Number(r.requests), pageViews: Number(r.page_views), dataChanges: Number(r.data_changes), errors: Number(r.errors),
    sessions: Number(r.sessions), totalDuration: Number(r.total_duration), avgDuration: r.avg_duration === null ? null : Number(r.avg_duration),
    lastActivity: r.last_activity === null ? null : new Date(r.last_activity).toISOString(),
  }));
}

const at = (day: number, hour: number, minute = 0) => Date.UTC(2026, 10, day, hour, minute);

describe('per user per day summaries', () => {
  it('are kept current batch by batch, from the rows each batch adds', async () => {
    await seed(db.knex, [
      activity({ userId: 'alice', sessionId: 's1', activityType: 'page_view', startTime: at(20, 9), duration: 10 }),
      activity({ userId: 'alice', sessionId: 's1', activityType: 'data_update', startTime: at(20, 10), duration: 30 }),
      activity({ userId: 'bob', sessionId: 's2', activityType: 'error', statusCode: 500, success: false, startTime: at(20, 11), duration: 50 }),
    ]);
    await seed(db.knex, [
      activity({ userId: 'alice', sessionId: 's1', activityType: 'data_delete', startTime: at(20, 23, 59), duration: 20 }),
      activity({ userId: 'alice', sessionId: 's3', activityType: 'page_view', startTime: at(21, 0, 1), duration: 5 }),
      // A domain event is activity, not a request: it counts as a change, not in requests or durations.
      activity({ userId: 'alice', sessionId: null, activityType: 'data_update', method: null, path: null, startTime: at(20, 12), duration: null }),
      activity({ userId: null, sessionId: 's4', activityType: 'page_view', startTime: at(20, 12) }),
    ]);
    expect(await summaries()).toEqual([
      { userId: 'alice', day: '2026-11-20', requests: 3, pageViews: 1, dataChanges: 3, errors: 0, sessions: 1, totalDuration: 60, avgDuration: 20, lastActivity: new Date(at(20, 23, 59) + 20).toISOString() },
      { userId: 'alice', day: '2026-11-21', requests: 1, pageViews: 1, dataChanges: 0, errors: 0, sessions: 1, totalDuration: 5, avgDuration: 5, lastActivity: new Date(at(21, 0, 1) + 5).toISOString() },
      { userId: 'bob', day: '2026-11-20', requests: 1, pageViews: 0, dataChanges: 0, errors: 1, sessions: 1, totalDuration: 50, avgDuration: 50, lastActivity: new Date(at(20, 11) + 50).toISOString() },
    ]);
  });

  it.each(EXPRESS_VERSIONS)('follow real requests (%s), and a replayed batch changes nothing', async (_name, express) => {
    const tracker = testTracker(db.knex);
    const app = express();
    app.use(tracker.middleware());
    app.use((req, _res, next) => { (req as { user?: unknown }).user = { id: 'carol' }; next(); });
    app.get('/api/items/:id', (req, res) => { res.json({ id: req.params.id }); });
    app.get('/fail', (_req, res) => { res.status(500).end(); });
    await request(app).get('/api/items/1');
    await request(app).get('/fail');
    await tracker.close();
    const [row] = await summaries();
    expect(row).toMatchObject({ userId: 'carol', requests: 2, errors: 1, sessions: 1 });
    // The same events again (a retry after an unclear failure): their ids are stored, so nothing is added.
    const events = (await db.knex('user_activity').select('*')).map((r: Record<string, unknown>) => activity({
      id: String(r['id']), userId: 'carol', sessionId: String(r['session_id']), startTime: new Date(r['start_time'] as Date).getTime(),
    }));
    await seed(db.knex, events);
    expect((await summaries())[0]).toMatchObject({ requests: 2, errors: 1, sessions: 1 });
  });
});
