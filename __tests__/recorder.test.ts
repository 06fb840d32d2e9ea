import { readFileSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import express from 'express';
import { EXPRESS_VERSIONS, memoryLogger, storedActivities, testTracker } from './support/app';
import { openTestDatabase, resetTables, type TestDatabase } from './support/database';
import { isDataError } from '../lib/recorder/errors';
import { KnexActivityStore } from '../lib/store/activityStore';
import { event, testRecorder } from './support/recorder';

let db: TestDatabase;
beforeAll(async () => { db = await openTestDatabase(); });
afterAll(async () => { await db.destroy(); });
beforeEach(async () => { await resetTables(db.knex); });

function countInserts(): { inserts: number; statements: number; stop(): void } {
  const counter = { inserts: 0, statements: 0, stop: () => { db.knex.removeListener('query', listen); } };
  const listen = (q: { sql: string }) => {
    counter.statements++;
    if (/activity_tracking_append/.test(q.sql)) counter.inserts++;
  };
  db.knex.on('query', listen);
  return counter;
}

describe('the write path', () => {
  it('writes in batches of batchSize, one statement each (chain, sessions and summaries included)', async () => {
    const tracker = testTracker(db.knex, { batchSize: 500, flushIntervalMs: 60_000 });
    await tracker.ready();
    const counter = countInserts();
    try {
      const writes = Array.from({ length: 1200 }, (_, i) => tracker.record({ action: `bulk.${i}` }));
      await tracker.flush();
      await Promise.all(writes);
    } finally {
      counter.stop();
      await tracker.close();
    }
    expect(counter.inserts).toBe(3);
    expect(counter.statements).toBe(3);
    expect(Number((await db.knex('user_activity').count({ n: '*' }))[0]?.n)).toBe(1200);
  });

  it('keeps capture order, and writes a flush-interval batch without being asked', async () => {
    const tracker = testTracker(db.knex, { flushIntervalMs: 20 });
    for (let i = 0; i < 30; i++) void tracker.record({ action: `ordered.${i}` });
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(tracker.stats()).toMatchObject({ queued: 0, written: 30 });
    await tracker.close();
    const actions = (await db.knex('user_activity').orderBy('id').pluck('action')) as string[];
    expect(actions).toEqual(Array.from({ length: 30 }, (_, i) => `ordered.${i}`));
  });

  it('stores the other rows of a batch when the database rejects one, and keeps the one in the journal\'s rejects with the reason', async () => {
    const recorder = testRecorder(async () => new KnexActivityStore(db.knex));
    const good = Array.from({ length: 9 }, () => event());
    const bad = event({ id: 'not-a-uuid' });
    for (const e of [...good.slice(0, 4), bad, ...good.slice(4)]) recorder.enqueue(e);
    await recorder.flush();
    expect(recorder.stats()).toMatchObject({ written: 9, rejected: 1, dropped: 0, queued: 0 });
    expect(((await db.knex('user_activity').whereNot('activity_type', 'session_start').pluck('id')) as string[]).sort()).toEqual(good.map((e) => e.id).sort());
    const rejects = readFileSync(path.join(recorder.journalDir!, 'rejects.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    expect(rejects).toEqual([{ rejectedAt: expect.any(String), code: '22P02', reason: expect.stringMatching(/invalid input syntax for type uuid/), event: { ...bad } }]);
    expect(recorder.logger.lines).toContainEqual(expect.objectContaining({ level: 'error', message: expect.stringMatching(/^The database rejected an activity row/), context: expect.objectContaining({ id: 'not-a-uuid', code: '22P02' }) }));
    await recorder.close();
  });

  it('counts a rejected row as dropped only when the journal is off', async () => {
    const recorder = testRecorder(async () => new KnexActivityStore(db.knex), { journalDir: null });
    recorder.enqueue(event({ id: 'not-a-uuid' }));
    recorder.enqueue(event());
    await recorder.flush();
    expect(recorder.stats()).toMatchObject({ written: 1, rejected: 1, dropped: 1 });
    expect(recorder.logger.lines).toContainEqual(expect.objectContaining({ level: 'error', message: 'The database rejected an activity row', context: expect.objectContaining({ id: 'not-a-uuid', event: expect.objectContaining({ id: 'not-a-uuid' }) }) }));
  });

  it('stores an event written twice once, and counts it once in its session', async () => {
    const store = new KnexActivityStore(db.knex);
    const once = event({ sessionId: 'replayed' });
    await store.writeBatch([once]);
    await store.writeBatch([once, event({ sessionId: 'replayed' })]);
    expect(Number((await db.knex('user_activity').where({ id: once.id }).count({ n: '*' }))[0]?.n)).toBe(1);
    expect(Number((await db.knex('user_activity').whereNot('activity_type', 'session_start').count({ n: '*' }))[0]?.n)).toBe(2);
    // The session started once, with the first write.
    expect(Number((await db.knex('user_activity').where('activity_type', 'session_start').count({ n: '*' }))[0]?.n)).toBe(1);
    const [session] = await db.knex('activity_sessions').where({ session_id: 'replayed' }).select('actions_count');
    expect(Number(session?.actions_count)).toBe(2);
  });

  it('keeps session rows current across batches', async () => {
    const store = new KnexActivityStore(db.knex);
    const t0 = Date.parse('2026-11-23T10:00:00.000Z');
    const at = (s: number) => t0 + s * 1000;
    await store.writeBatch([
      event({ sessionId: 'sess-a', userId: null, activityType: 'page_view', startTime: at(0), endTime: at(1) }),
      event({ sessionId: 'sess-a', userId: null, activityType: 'data_create', startTime: at(5), endTime: at(6) }),
    ]);
    await store.writeBatch([
      event({ sessionId: 'sess-a', userId: 'ada', activityType: 'page_view', startTime: at(60), endTime: at(61) }),
      event({ sessionId: 'sess-b', userId: 'bob', activityType: 'data_view', startTime: at(2), endTime: at(3) }),
    ]);
    const sessions = await db.knex('activity_sessions').orderBy('session_id').select('*');
    expect(sessions.map((s) => ({ ...s, duration: Number(s.duration) }))).toMatchObject([
      { session_id: 'sess-a', user_id: 'ada', page_views: 2, actions_count: 1, start_time: new Date(at(0)), last_activity: new Date(at(61)), duration: 61_000, is_active: true },
      { session_id: 'sess-b', user_id: 'bob', page_views: 0, actions_count: 1, start_time: new Date(at(2)), last_activity: new Date(at(3)), duration: 1000 },
    ]);
  });

  it('with the journal off, bounds the queue: past maxQueueSize events are counted as dropped and logged, and the app is untouched', async () => {
    const recorder = testRecorder(() => Promise.reject(new Error('database down')), { batchSize: 10, maxQueueSize: 50, journalDir: null });
    for (let i = 0; i < 80; i++) expect(recorder.enqueue(event())).toBe(i < 50);
    expect(recorder.stats()).toMatchObject({ queued: 50, dropped: 30 });
    // A caller who awaits the write is told instead, with a code; that is not a silent drop.
    await expect(recorder.write(event())).rejects.toMatchObject({ code: 'ERR_AT_QUEUE_FULL' });
    expect(recorder.stats().dropped).toBe(30);
    expect(recorder.logger.lines).toContainEqual(expect.objectContaining({ level: 'error', message: 'Activity event dropped', context: expect.objectContaining({ reason: 'queue full' }) }));
  });

});

describe('record()', () => {
  it('resolves once the event is stored, sanitized like a request', async () => {
    const tracker = testTracker(db.knex);
    await tracker.record({
      action: 'certification.approved', entityType: 'certification', entityId: 42, userId: 'reviewer-1',
      details: { reason: 'complete', reviewer: { apiKey: 'CANARY-key' } },
    });
    const rows = await storedActivities(db.knex);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      activity_type: 'system_action', action: 'certification.approved', entity_type: 'certification', entity_id: '42', user_id: 'reviewer-1',
      method: null, path: null, status_code: null, success: true, details: { reason: 'complete', reviewer: { apiKey: '[REDACTED]' } },
    });
    await tracker.close();
  });

  it('stores the time it was given to the millisecond', async () => {
    const tracker = testTracker(db.knex);
    const at = new Date('2026-01-02T03:04:05.678Z');
    await tracker.record({ action: 'backdated.import', startTime: at, duration: 12 });
    await tracker.close();
    const [row] = await storedActivities(db.knex);
    expect(row?.start_time.toISOString()).toBe('2026-01-02T03:04:05.678Z');
    expect(row?.end_time?.toISOString()).toBe('2026-01-02T03:04:05.690Z');
  });

  it.each([
    [{}, 'Invalid event action undefined'],
    [{ action: '' }, 'Invalid event action ""'],
    [{ action: 'x', activityType: 'approve' }, 'Invalid event activityType "approve"'],
    [{ action: 'x', startTime: new Date(Number.NaN) }, 'Invalid event startTime Invalid Date'],
    [{ action: 'x', success: 'no' }, 'Invalid event success "no". Fix: pass true or false'],
  ])('rejects %j with a code and the fix', async (input, message) => {
    const tracker = testTracker(db.knex);
    await expect(tracker.record(input as never)).rejects.toMatchObject({ code: 'ERR_AT_INVALID_EVENT', message: expect.stringContaining(message) });
    await tracker.close();
  });

  it('refuses events after close, and counts requests that arrive after close as dropped', async () => {
    const tracker = testTracker(db.knex);
    const app = express();
    app.use(tracker.middleware());
    app.get('/', (_req, res) => { res.send('ok'); });
    await tracker.close();
    await expect(tracker.record({ action: 'late' })).rejects.toMatchObject({ code: 'ERR_AT_CLOSED' });
    await request(app).get('/').expect(200, 'ok');
    expect(tracker.stats().dropped).toBe(1);
  });
});

describe.each(EXPRESS_VERSIONS)('req.activity.record() on %s', (_name, expressVersion) => {
  it("links the event to the request's user, session, IP and device", async () => {
    const tracker = testTracker(db.knex);
    const app = expressVersion();
    app.set('trust proxy', true);
    app.use(tracker.middleware());
    app.use((req, _res, next) => { (req as { user?: unknown }).user = { id: 'ada' }; next(); });
    app.post('/api/approvals/:id', async (req, res) => {
      await req.activity!.record({ action: 'approval.granted', entityType: 'approval', entityId: req.params['id'] ?? null });
      res.json({ ok: true });
    });
    await request(app).post('/api/approvals/9').set('X-Forwarded-For', '8.8.8.8').set('User-Agent', 'curl/8.4.0').expect(200);
    await tracker.flush();
    await tracker.close();
    const rows = await storedActivities(db.knex);
    expect(rows).toHaveLength(2);
    const [domain, requestRow] = rows[0]?.action === 'approval.granted' ? [rows[0], rows[1]] : [rows[1], rows[0]];
    expect(domain).toMatchObject({ action: 'approval.granted', entity_type: 'approval', entity_id: '9', user_id: 'ada', ip_address: '8.8.8.8', browser: 'curl 8.4.0', location: { country: 'US' } });
    expect(domain?.session_id).toBe(requestRow?.session_id);
    expect(requestRow).toMatchObject({ activity_type: 'data_create', entity_type: 'approvals', entity_id: '9', user_id: 'ada' });
  });

  it("sanitizes the request's user agent it links, like the request's own row", async () => {
    const tracker = testTracker(db.knex);
    const app = expressVersion();
    app.use(tracker.middleware());
    app.post('/api/notes', async (req, res) => {
      await req.activity!.record({ action: 'note.added' });
      res.status(201).end();
    });
    await request(app).post('/api/notes').set('User-Agent', 'scanner\tv1 Bearer CANARY-ua-token').expect(201);
    await tracker.flush();
    await tracker.close();
    const agents = (await storedActivities(db.knex)).map((r) => r.user_agent);
    expect(agents).toEqual(['scanner\\tv1 Bearer [REDACTED]', 'scanner\\tv1 Bearer [REDACTED]']);
  });
});

describe('which failures are the data\'s fault', () => {
  it('splits batches on data errors, but retries a race for a chain position', () => {
    expect(isDataError({ code: '22P02' })).toBe(true);
    expect(isDataError({ code: '23505', constraint: 'user_activity_pkey' })).toBe(true);
    expect(isDataError({ code: '23505', constraint: 'user_activity_chain_position_key' })).toBe(false);
    expect(isDataError({ code: '08006' })).toBe(false);
    expect(isDataError(new Error('plain'))).toBe(false);
  });
});
