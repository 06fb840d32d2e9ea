import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import type { Express, NextFunction, Request, Response } from 'express';
import { EXPRESS_VERSIONS, memoryLogger, storedActivities, tempJournalDir, testTracker, type ExpressFactory } from './support/app';
import { openTestDatabase, resetTables, type TestDatabase } from './support/database';
import { createActivityTracker, type ActivityTracker } from '../lib/tracker';

let db: TestDatabase;
beforeAll(async () => { db = await openTestDatabase(); });
afterAll(async () => { await db.destroy(); });

let slowRequestArrived: () => void = () => undefined;

function hostApp(express: ExpressFactory, tracker?: ActivityTracker): Express {
  const app = express();
  if (tracker) app.use(tracker.middleware());
  app.use(express.json({ limit: '20mb' }));
  app.get('/html', (_req, res) => { res.type('html').send('<p>hello</p>'); });
  app.get('/json', (_req, res) => { res.set('X-App', 'yes').json({ a: 1, list: [1, 2, 3] }); });
  app.post('/echo-size', (req, res) => { res.json({ keys: Object.keys(req.body as object).length }); });
  app.get('/throws', () => { throw new Error('handler exploded'); });
  app.get('/async-throws', async () => { await Promise.resolve(); throw new Error('async exploded'); });
  app.get('/redirect', (_req, res) => { res.redirect('/html'); });
  app.get('/slow', (_req, res) => {
    slowRequestArrived();
    setTimeout(() => { if (!res.writableEnded) res.json({ late: true }); }, 500);
  });
  // The app's own error handler: Express's default page prints a stack whose frames would include the tracker's.
  app.use((error: Error, _req: Request, res: Response, _next: NextFunction) => { res.status(500).json({ error: error.message }); });
  return app;
}

/** Express 4 does not catch rejected promises; the app owns that, with or without the tracker. */
function asyncRoutesSupported(name: string): boolean { return name === 'express 5'; }

describe.each(EXPRESS_VERSIONS)('hostile and unlucky requests on %s', (name, express) => {
  let tracker: ActivityTracker;
  beforeEach(async () => {
    await resetTables(db.knex);
    tracker = testTracker(db.knex);
  });
  afterEach(async () => { await tracker.close(); });

  it("leaves the app's own responses unchanged", async () => {
    const bare = hostApp(express);
    const tracked = hostApp(express, tracker);
    const paths = ['/html', '/json', '/redirect', '/throws', '/missing', ...(asyncRoutesSupported(name) ? ['/async-throws'] : [])];
    for (const path of paths) {
      const [a, b] = await Promise.all([request(bare).get(path), request(tracked).get(path)]);
      expect({ path, status: b.status, body: b.text }).toEqual({ path, status: a.status, body: a.text });
      const appHeaders = (h: Record<string, unknown>) => Object.fromEntries(Object.entries(h).filter(([k]) => !['date', 'set-cookie'].includes(k)));
      expect(appHeaders(b.headers)).toEqual(appHeaders(a.headers));
    }
    const post = await request(tracked).post('/echo-size').send({ x: 1, y: 2 });
    expect(post.body).toEqual({ keys: 2 });
  });

  it('records a thrown error once, as an error', async () => {
    await request(hostApp(express, tracker)).get('/throws').expect(500);
    await tracker.flush();
    const rows = await storedActivities(db.knex);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ activity_type: 'error', status_code: 500, success: false, path: '/throws' });
  });

  it('records a request the client aborted once, with its IP and user agent', async () => {
    const server = hostApp(express, tracker).listen(0);
    try {
      const { port } = server.address() as AddressInfo;
      const arrived = new Promise<void>((resolve) => { slowRequestArrived = resolve; });
      const req = http.get({ port, path: '/slow', headers: { 'User-Agent': 'curl/8.4.0' } });
      req.on('error', () => undefined);
      await arrived;
      await new Promise((resolve) => setTimeout(resolve, 50));
      req.destroy();
      await new Promise((resolve) => setTimeout(resolve, 700));
      await tracker.flush();
      const rows = await storedActivities(db.knex);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        path: '/slow', status_code: 499, success: false, ip_address: '127.0.0.1', user_agent: 'curl/8.4.0', browser: 'curl 8.4.0',
        details: { aborted: true },
      });
      // Recorded when the client left, not when the handler answered 500 ms in.
      expect(rows[0]?.duration).toBeGreaterThan(0);
      expect(rows[0]?.duration).toBeLessThan(450);
    } finally {
      server.close();
    }
  });

  it('records a 10 MB body once, truncated, and the app still gets all of it', async () => {
    const body: Record<string, string> = {};
    for (let i = 0; i < 100_000; i++) body[`field${i}`] = 'x'.repeat(90);
    const payload = JSON.stringify(body);
    expect(payload.length).toBeGreaterThan(10_000_000);
    const started = Date.now();
    const response = await request(hostApp(express, tracker)).post('/echo-size').set('Content-Type', 'application/json').send(payload);
    expect(response.body).toEqual({ keys: 100_000 });
    await tracker.flush();
    const rows = await storedActivities(db.knex);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ activity_type: 'data_create', request_size: Buffer.byteLength(payload), details: { truncated: true } });
    expect(JSON.stringify(rows[0]?.details).length).toBeLessThan(20_000);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('keeps answering when the database cannot be reached, and reports it', async () => {
    const logger = memoryLogger();
    const unreachable = createActivityTracker({ database: 'postgres://nobody@127.0.0.1:1/none', logger, flushIntervalMs: 5, closeTimeoutMs: 500, journal: { dir: tempJournalDir() } });
    try {
      const app = hostApp(express, unreachable);
      for (let i = 0; i < 5; i++) await request(app).get('/json').expect(200, { a: 1, list: [1, 2, 3] });
      await expect(unreachable.ready()).rejects.toMatchObject({ code: 'ERR_AT_DATABASE' });
      await new Promise((resolve) => setTimeout(resolve, 300));
      // Nothing waits in memory: what the database cannot take is in the journal, for later.
      expect(unreachable.stats()).toMatchObject({ queued: 0, journaled: 5, journalPending: 5, written: 0, dropped: 0, databaseAvailable: false });
      expect(unreachable.stats().lastError).toMatch(/Cannot reach the activity database/);
      expect(logger.lines.some((l) => l.level === 'error' && l.message.includes('cannot write yet'))).toBe(true);
    } finally {
      const closing = unreachable.close();
      await expect(closing).resolves.toBeUndefined();
    }
  }, 60_000);

  it('records a request once when the tracker is mounted twice', async () => {
    const app = express();
    app.use(tracker.middleware());
    const inner = express();
    inner.use(tracker.middleware());
    inner.get('/x', (_req, res) => { res.send('ok'); });
    app.use('/sub', inner);
    await request(app).get('/sub/x').expect(200, 'ok');
    await tracker.flush();
    expect(await storedActivities(db.knex)).toHaveLength(1);
  });

  it('still records the request, with what was certain, when capture itself fails', async () => {
    const logger = memoryLogger();
    const fragile = testTracker(db.knex, { logger });
    const app = express();
    app.use(fragile.middleware());
    app.post('/hostile', (req, res) => {
      Object.defineProperty(req, 'body', { get() { throw new Error('body getter exploded'); } });
      res.status(202).send('accepted');
    });
    await request(app).post('/hostile').expect(202, 'accepted');
    await fragile.flush();
    await fragile.close();
    const rows = await storedActivities(db.knex);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ method: 'POST', status_code: 202, success: true, ip_address: '127.0.0.1', details: { captureFailed: true } });
    expect(logger.lines).toContainEqual(expect.objectContaining({ level: 'error', message: 'Activity capture failed in capture; the request was not affected' }));
  });

  it('survives options that throw', async () => {
    const logger = memoryLogger();
    const fragile = testTracker(db.knex, {
      logger,
      getUserId: () => { throw new Error('user lookup broke'); },
      classify: () => { throw new Error('classifier broke'); },
    });
    await request(hostApp(express, fragile)).get('/json').expect(200);
    await fragile.flush();
    await fragile.close();
    const rows = await storedActivities(db.knex);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ user_id: null, activity_type: 'data_view' });
    expect(logger.lines.filter((l) => l.level === 'error').map((l) => l.message)).toEqual([
      'Activity capture failed in classify option; the request was not affected',
      'Activity capture failed in getUserId option; the request was not affected',
    ]);
  });
});
