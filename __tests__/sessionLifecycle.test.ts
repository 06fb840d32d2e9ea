import request from 'supertest';
import { EXPRESS_VERSIONS, memoryLogger, storedActivities, testTracker } from './support/app';
import { openTestDatabase, resetTables, usingPostgres, type TestDatabase } from './support/database';
import { activity } from './support/reports';
import { closeIdleSessions } from '../lib/jobs/sessionSweeper';
import { verifyChain } from '../lib/integrity/verify';
import { KnexActivityStore } from '../lib/store/activityStore';
import { createActivityTracker, type ActivityTracker } from '../lib/tracker';

let db: TestDatabase;
beforeAll(async () => { db = await openTestDatabase(); });
afterAll(async () => { await db.destroy(); });
beforeEach(async () => { await resetTables(db.knex); });

/** The session id in the package cookie the server issued (`activity_sid=<id>.<signature>`). */
function issuedSessionId(response: request.Response): string {
  const match = /activity_sid=([0-9a-f]{32})\./.exec(String(response.headers['set-cookie']));
  if (!match) throw new Error(`no session cookie issued: ${String(response.headers['set-cookie'])}`);
  return match[1] as string;
}

/** Every row, session events included, in chain order: a session_start shares its first request's time. */
async function inChainOrder(): Promise<Awaited<ReturnType<typeof storedActivities>>> {
  return (await storedActivities(db.knex, { sessionEvents: true })).sort((a, b) => Number(a.chain_position) - Number(b.chain_position));
}

describe.each(EXPRESS_VERSIONS)('a session from first request to logout (%s)', (_name, express) => {
  let tracker: ActivityTracker;
  beforeEach(() => { tracker = testTracker(db.knex); });
  afterEach(async () => { await tracker.close(); });

  function app(): ReturnType<typeof express> {
    const a = express();
    a.use(tracker.middleware());
    a.use((req, _res, next) => { (req as { user?: unknown }).user = { id: 'dana' }; next(); });
    a.get('/dashboard', (_req, res) => { res.type('html').send('<p>hi</p>'); });
    a.post('/logout', (_req, res) => { res.redirect('/'); });
    return a;
  }

  it('starts with its first request, ends at logout, and each is a row of its own without method or path', async () => {
    const browser = request.agent(app());
    const sessionId = issuedSessionId(await browser.get('/dashboard').set('Accept', 'text/html'));
    await tracker.flush();
    await browser.post('/logout');
    await tracker.flush();

    const rows = await inChainOrder();
    // A session_start is chained right after the batch that opened the session, with its first request's time.
    expect(rows.map((r) => [r.activity_type, r.action, r.method, r.path, r.session_id, r.user_id])).toEqual([
      ['page_view', 'read', 'GET', '/dashboard', sessionId, 'dana'],
      ['session_start', 'session.start', null, null, sessionId, 'dana'],
      ['logout', 'logout', 'POST', '/logout', sessionId, 'dana'],
      ['session_end', 'session.logout', null, null, sessionId, 'dana'],
    ]);
    const [session] = await db.knex('activity_sessions').where({ session_id: sessionId });
    expect(session).toMatchObject({ is_active: false, page_views: 1, actions_count: 1 });
    expect(new Date(rows[1]!.start_time).getTime()).toBe(new Date(rows[0]!.start_time).getTime());
    expect(new Date(session.end_time).getTime()).toBe(new Date(rows[2]!.end_time!).getTime());
    expect(Number(session.duration)).toBe(new Date(session.end_time).getTime() - new Date(session.start_time).getTime());
    expect(rows[3]?.details).toMatchObject({ pageViews: 1, actions: 1 });
    // Counting rows with a path still counts requests.
    expect(rows.filter((r) => r.path !== null)).toHaveLength(2);
    expect((await verifyChain(db.knex)).ok).toBe(true);
  });

  it('starts again (session.resume) when the same session is used after it ended', async () => {
    const browser = request.agent(app());
    const sessionId = issuedSessionId(await browser.post('/logout'));
    await tracker.flush();
    await browser.get('/dashboard');
    await tracker.flush();
    const rows = await inChainOrder();
    expect(rows.map((r) => r.action)).toEqual(['logout', 'session.start', 'session.logout', 'read', 'session.resume']);
    const [session] = await db.knex('activity_sessions').where({ session_id: sessionId });
    expect(session).toMatchObject({ is_active: true, end_time: null });
  });
});

describe('a logout the visit goes on after, within one batch', () => {
  it('ends the session at the logout and resumes it with the next request, as separate batches would', async () => {
    const at = Date.UTC(2026, 11, 2, 9, 0, 0);
    const events = [
      activity({ sessionId: 'visit-1', activityType: 'page_view', action: 'read', startTime: at }),
      activity({ sessionId: 'visit-1', activityType: 'logout', action: 'logout', method: 'POST', path: '/logout', startTime: at + 1000 }),
      // Another visit in the same batch is not cut.
      activity({ sessionId: 'visit-2', activityType: 'page_view', action: 'read', startTime: at + 1500 }),
      activity({ sessionId: 'visit-1', activityType: 'page_view', action: 'read', userId: null, path: '/', startTime: at + 2000 }),
    ];
    await new KnexActivityStore(db.knex).writeBatch(events);
    const rows = await inChainOrder();
    const visit = rows.filter((r) => r.session_id === 'visit-1').map((r) => r.action);
    expect(visit).toEqual(['read', 'logout', 'session.start', 'session.logout', 'read', 'session.resume']);
    const [session] = await db.knex('activity_sessions').where({ session_id: 'visit-1' });
    expect(session).toMatchObject({ is_active: true, end_time: null });
    expect((await verifyChain(db.knex)).ok).toBe(true);
  });
});

describe('the session sweeper', () => {
  it('ends sessions idle longer than the timeout with a session.timeout row, once', async () => {
    const store = new KnexActivityStore(db.knex);
    const now = new Date(Date.UTC(2026, 10, 23, 12, 0, 0));
    const minutesAgo = (m: number) => now.getTime() - m * 60_000;
    await store.writeBatch([
      activity({ sessionId: 'idle', userId: 'erin', startTime: minutesAgo(50), duration: 5 }),
      activity({ sessionId: 'idle', userId: 'erin', startTime: minutesAgo(40), duration: 5 }),
      activity({ sessionId: 'busy', userId: 'finn', startTime: minutesAgo(10), duration: 5 }),
    ]);
    expect(await closeIdleSessions(db.knex, { timeoutMinutes: 30, now })).toBe(1);
    expect(await closeIdleSessions(db.knex, { timeoutMinutes: 30, now })).toBe(0);
    const sessions = await db.knex('activity_sessions').orderBy('session_id').select('session_id', 'is_active', 'end_time');
    expect(sessions.map((s: { session_id: string; is_active: boolean; end_time: Date | null }) => [s.session_id, s.is_active, s.end_time && new Date(s.end_time).getTime()]))
      .toEqual([['busy', true, null], ['idle', false, minutesAgo(40) + 5]]);
    const ends = (await storedActivities(db.knex, { sessionEvents: true })).filter((r) => r.activity_type === 'session_end');
    expect(ends.map((r) => [r.session_id, r.user_id, r.action, r.method, r.path])).toEqual([['idle', 'erin', 'session.timeout', null, null]]);
    expect((await verifyChain(db.knex)).ok).toBe(true);
  });

  it('is one of the tracker jobs, every sessionSweepMinutes', async () => {
    expect(() => testTracker(db.knex, { sessionSweepMinutes: 0 })).toThrow(/Invalid sessionSweepMinutes: 0/);
    const tracker = testTracker(db.knex, { sessionSweepMinutes: 1 });
    await tracker.close();
  });
});

(usingPostgres ? describe : describe.skip)('two trackers on one database', () => {
  it('run the session sweeper at once, and every idle session ends exactly once', async () => {
    const old = Date.now() - 3 * 3600_000;
    await new KnexActivityStore(db.knex).writeBatch(Array.from({ length: 300 }, (_, i) => activity({ sessionId: `idle-${i}`, startTime: old + i })));
    const trackers = [0, 1].map(() => createActivityTracker({ database: db.url!, logger: memoryLogger(), jobs: false }));
    try {
      const ran = await Promise.all(trackers.map((t) => t.runJob('session-sweeper')));
      expect(ran).toContain(true);
      const ends = await db.knex('user_activity').where('activity_type', 'session_end').count({ n: '*' }).first();
      expect(Number(ends?.n)).toBe(300);
      expect(Number((await db.knex('activity_sessions').where('is_active', true).count({ n: '*' }).first())?.n)).toBe(0);
      expect((await verifyChain(db.knex)).ok).toBe(true);
      await expect(trackers[0]!.runJob('nope' as never)).rejects.toThrow(/Unknown job "nope"/);
    } finally {
      await Promise.all(trackers.map((t) => t.close()));
    }
  });
});
