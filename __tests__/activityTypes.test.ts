import request from 'supertest';
import multer from 'multer';
import type { Express, Request, Response } from 'express';
import { EXPRESS_VERSIONS, storedActivities, testTracker, type ExpressFactory } from './support/app';
import { openTestDatabase, resetTables, type TestDatabase } from './support/database';
import type { ActivityTracker } from '../lib/tracker';

const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';

let db: TestDatabase;
beforeAll(async () => { db = await openTestDatabase(); });
afterAll(async () => { await db.destroy(); });

/** The example of the README: logins, pages, a CRUD resource, an upload, a download and a failure. */
function buildApp(express: ExpressFactory, tracker: ActivityTracker): Express {
  const app = express();
  app.use(tracker.middleware());
  app.use(express.json());
  app.post('/login', (req: Request, res: Response) => {
    if (req.body?.password === 'right') res.json({ ok: true });
    else res.status(401).json({ error: 'invalid credentials' });
  });
  app.post('/logout', (_req, res) => { res.status(204).end(); });
  app.post('/api/auth/refresh', (_req, res) => { res.json({ token: 'new' }); });
  app.get('/about', (_req, res) => { res.type('html').send('<h1>About</h1>'); });
  app.get('/api/items', (_req, res) => { res.json([{ id: 1 }]); });
  app.get('/api/items/:id', (req, res) => { res.json({ id: req.params['id'] }); });
  app.post('/api/items', (_req, res) => { res.status(201).json({ id: 7 }); });
  app.put('/api/items/:id', (req, res) => { res.json({ id: req.params['id'] }); });
  app.patch('/api/items/:id', (req, res) => { res.json({ id: req.params['id'] }); });
  app.delete('/api/items/:id', (_req, res) => { res.status(204).end(); });
  app.post('/api/files', (req, res) => {
    req.resume();
    req.on('end', () => res.status(201).json({ stored: true }));
  });
  app.get('/api/files/:fileId/download', (_req, res) => {
    res.attachment('report.txt').send('file body');
  });
  app.get('/api/fail', () => { throw new Error('boom'); });
  app.put('/api/orders/:orderId', () => { throw new Error('boom'); });
  app.get('/home', (_req, res) => { res.redirect('/about'); });
  return app;
}

describe.each(EXPRESS_VERSIONS)('activity types on %s', (_name, express) => {
  let tracker: ActivityTracker;
  let app: Express;
  beforeEach(async () => {
    await resetTables(db.knex);
    tracker = testTracker(db.knex);
    app = buildApp(express, tracker);
  });
  afterEach(async () => { await tracker.close(); });

  const cases: Array<{
    name: string;
    send: (app: Express) => request.Test;
    expected: { activity_type: string; action: string; method: string; path: string; route: string | null; status_code: number; success: boolean; entity_type: string | null; entity_id: string | null };
  }> = [
    { name: 'login', send: (a) => request(a).post('/login').send({ user: 'ada', password: 'right' }),
      expected: { activity_type: 'login', action: 'authn_login_success', method: 'POST', path: '/login', route: '/login', status_code: 200, success: true, entity_type: null, entity_id: null } },
    { name: 'login_failed', send: (a) => request(a).post('/login').send({ user: 'ada', password: 'wrong' }),
      expected: { activity_type: 'login_failed', action: 'authn_login_fail', method: 'POST', path: '/login', route: '/login', status_code: 401, success: false, entity_type: null, entity_id: null } },
    { name: 'logout', send: (a) => request(a).post('/logout'),
      expected: { activity_type: 'logout', action: 'logout', method: 'POST', path: '/logout', route: '/logout', status_code: 204, success: true, entity_type: null, entity_id: null } },
    { name: 'token_refresh', send: (a) => request(a).post('/api/auth/refresh'),
      expected: { activity_type: 'token_refresh', action: 'refresh', method: 'POST', path: '/api/auth/refresh', route: '/api/auth/refresh', status_code: 200, success: true, entity_type: null, entity_id: null } },
    { name: 'page_view', send: (a) => request(a).get('/about'),
      expected: { activity_type: 'page_view', action: 'read', method: 'GET', path: '/about', route: '/about', status_code: 200, success: true, entity_type: null, entity_id: null } },
    { name: 'data_view of one item', send: (a) => request(a).get('/api/items/42?fields=name'),
      expected: { activity_type: 'data_view', action: 'read', method: 'GET', path: '/api/items/42', route: '/api/items/:id', status_code: 200, success: true, entity_type: 'items', entity_id: '42' } },
    { name: 'data_view of a list', send: (a) => request(a).get('/api/items'),
      expected: { activity_type: 'data_view', action: 'read', method: 'GET', path: '/api/items', route: '/api/items', status_code: 200, success: true, entity_type: 'items', entity_id: null } },
    { name: 'data_create', send: (a) => request(a).post('/api/items').send({ name: 'chair' }),
      expected: { activity_type: 'data_create', action: 'create', method: 'POST', path: '/api/items', route: '/api/items', status_code: 201, success: true, entity_type: 'items', entity_id: null } },
    { name: 'data_update (PUT)', send: (a) => request(a).put('/api/items/42').send({ name: 'table' }),
      expected: { activity_type: 'data_update', action: 'update', method: 'PUT', path: '/api/items/42', route: '/api/items/:id', status_code: 200, success: true, entity_type: 'items', entity_id: '42' } },
    { name: 'data_update (PATCH)', send: (a) => request(a).patch('/api/items/42').send({ name: 'table' }),
      expected: { activity_type: 'data_update', action: 'update', method: 'PATCH', path: '/api/items/42', route: '/api/items/:id', status_code: 200, success: true, entity_type: 'items', entity_id: '42' } },
    { name: 'data_delete', send: (a) => request(a).delete('/api/items/42'),
      expected: { activity_type: 'data_delete', action: 'delete', method: 'DELETE', path: '/api/items/42', route: '/api/items/:id', status_code: 204, success: true, entity_type: 'items', entity_id: '42' } },
    { name: 'file_upload', send: (a) => request(a).post('/api/files').attach('file', Buffer.from('hello'), 'hello.txt'),
      expected: { activity_type: 'file_upload', action: 'upload', method: 'POST', path: '/api/files', route: '/api/files', status_code: 201, success: true, entity_type: 'files', entity_id: null } },
    { name: 'file_download', send: (a) => request(a).get('/api/files/f-9/download'),
      expected: { activity_type: 'file_download', action: 'download', method: 'GET', path: '/api/files/f-9/download', route: '/api/files/:fileId/download', status_code: 200, success: true, entity_type: 'files', entity_id: 'f-9' } },
    { name: 'error', send: (a) => request(a).get('/api/fail'),
      expected: { activity_type: 'error', action: 'read', method: 'GET', path: '/api/fail', route: '/api/fail', status_code: 500, success: false, entity_type: null, entity_id: null } },
    { name: 'system_action', send: (a) => request(a).options('/api/items'),
      expected: { activity_type: 'system_action', action: 'options', method: 'OPTIONS', path: '/api/items', route: null, status_code: 200, success: true, entity_type: null, entity_id: null } },
  ];

  it.each(cases)('records $name as one complete row', async ({ send, expected }) => {
    await send(app).set('User-Agent', CHROME);
    await tracker.flush();
    const rows = await storedActivities(db.knex);
    expect(rows).toHaveLength(1);
    const [row] = rows;
    expect(row).toMatchObject({ ...expected, user_id: null, ip_address: '127.0.0.1', user_agent: CHROME, browser: 'Chrome 120.0.0.0', operating_system: 'Windows 10', location: null });
    expect(row?.device_info).toEqual({ type: 'desktop', vendor: null, model: null });
    expect(row?.session_id).toMatch(/^[0-9a-f]{32}$/);
    expect(row?.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(row?.duration).toBeGreaterThan(0);
    expect(row!.end_time!.getTime()).toBeGreaterThanOrEqual(row!.start_time.getTime());
    expect(Date.now() - row!.start_time.getTime()).toBeLessThan(60_000);
  });

  it('names the entity of a failing route only when the route names which one', async () => {
    await request(app).put('/api/orders/o-5').send({});
    await tracker.flush();
    const [row] = await storedActivities(db.knex);
    expect(row).toMatchObject({ activity_type: 'error', action: 'update', entity_type: 'orders', entity_id: 'o-5', status_code: 500 });
  });

  it('counts a redirect a browser follows as a page view, and an API client\'s as a data view', async () => {
    await request(app).get('/home').set('Accept', 'text/html,application/xhtml+xml,*/*;q=0.8').expect(302);
    await request(app).get('/home').set('Accept', 'application/json').expect(302);
    await tracker.flush();
    expect((await storedActivities(db.knex)).map((r) => r.activity_type)).toEqual(['page_view', 'data_view']);
  });

  it('measures response bodies: Content-Length, nothing for 204, and chunked bodies without their headers', async () => {
    const sized = express();
    sized.use(tracker.middleware());
    sized.get('/fixed', (_req, res) => { res.json({ hello: 'world' }); });
    sized.delete('/gone', (_req, res) => { res.status(204).end(); });
    sized.get('/chunked', (_req, res) => { res.write('a'.repeat(1000)); res.end('b'.repeat(24)); });
    await request(sized).get('/fixed');
    await request(sized).delete('/gone');
    await request(sized).get('/chunked');
    await tracker.flush();
    const sizes = (await storedActivities(db.knex)).map((r) => [r.path, r.response_size]);
    expect(sizes.slice(0, 2)).toEqual([['/fixed', 17], ['/gone', 0]]);
    // 1024 body bytes plus the chunk framing (size lines and CRLFs), never the header block.
    expect(sizes[2]?.[1]).toBeGreaterThanOrEqual(1024);
    expect(sizes[2]?.[1]).toBeLessThan(1060);
  });

  it("keeps an upload's file names and sizes from multer, never the content", async () => {
    const uploads = express();
    uploads.use(tracker.middleware());
    uploads.post('/api/documents', multer({ storage: multer.memoryStorage() }).array('doc'), (_req, res) => { res.status(201).end(); });
    await request(uploads).post('/api/documents').attach('doc', Buffer.from('SECRET-FILE-CONTENT'), { filename: 'contract.pdf', contentType: 'application/pdf' });
    await tracker.flush();
    const [row] = await storedActivities(db.knex);
    expect(row).toMatchObject({ activity_type: 'file_upload', entity_type: 'documents' });
    expect(row?.details?.['files']).toEqual([{ field: 'doc', name: 'contract.pdf', type: 'application/pdf', size: 19 }]);
    expect(JSON.stringify(row)).not.toContain('SECRET-FILE-CONTENT');
  });

  it('keeps the query string out of the path and in details', async () => {
    await request(app).get('/api/items/42?fields=name&sort=asc');
    await tracker.flush();
    const [row] = await storedActivities(db.knex);
    expect(row?.path).toBe('/api/items/42');
    expect(row?.details).toMatchObject({ params: { id: '42' }, query: { fields: 'name', sort: 'asc' } });
  });

  it('records body excerpt, params and selected headers, and only core columns when detailed tracking is off', async () => {
    await request(app).put('/api/items/5').set('Referer', 'https://example.test/x').send({ name: 'lamp', tags: ['a', 'b'] });
    const quiet = testTracker(db.knex, { detailedTracking: false });
    const quietApp = buildApp(express, quiet);
    await request(quietApp).put('/api/items/6').send({ name: 'desk' });
    await Promise.all([tracker.flush(), quiet.flush()]);
    await quiet.close();
    const rows = await storedActivities(db.knex);
    const detailed = rows.find((r) => r.entity_id === '5');
    const core = rows.find((r) => r.entity_id === '6');
    expect(detailed?.details).toEqual({
      params: { id: '5' },
      body: { name: 'lamp', tags: ['a', 'b'] },
      headers: { 'content-type': 'application/json', referer: 'https://example.test/x' },
    });
    expect(core?.details).toBeNull();
    expect(core).toMatchObject({ activity_type: 'data_update', entity_type: 'items', status_code: 200 });
  });

  it('lets a route and the classify option name the activity, and routeActivityTypes override the rules', async () => {
    const custom = testTracker(db.knex, {
      routeActivityTypes: { 'POST /api/items/:id/approve': 'system_action' },
      classify: (req, _res, suggested) => (req.headers['x-audit'] === 'download' ? 'file_download' : suggested),
    });
    const customApp = express();
    customApp.use(custom.middleware());
    customApp.post('/api/items/:id/approve', (_req, res) => { res.json({ ok: true }); });
    customApp.delete('/api/items/:id', (req, res) => {
      req.activity!.entityId = 'archived-7';
      res.status(204).end();
    });
    customApp.get('/api/report', (req, res) => {
      req.activity!.activityType = 'data_view';
      req.activity!.entityType = 'report';
      req.activity!.entityId = 'r-1';
      req.activity!.action = 'report.generate';
      res.json({});
    });
    await request(customApp).post('/api/items/3/approve');
    await request(customApp).delete('/api/items/3');
    await request(customApp).get('/api/report');
    await request(customApp).get('/api/report').set('X-Audit', 'download');
    await custom.flush();
    await custom.close();
    const rows = await storedActivities(db.knex);
    expect(rows.map((r) => [r.activity_type, r.entity_type, r.entity_id, r.action])).toEqual([
      ['system_action', null, null, 'create'],
      ['data_delete', 'items', 'archived-7', 'delete'],
      ['data_view', 'report', 'r-1', 'report.generate'],
      ['file_download', 'report', 'r-1', 'report.generate'],
    ]);
  });

  it('takes login, logout and refresh paths from the options', async () => {
    const custom = testTracker(db.knex, { loginPaths: ['/api/v2/sessions/new'], logoutPaths: ['/bye'], tokenRefreshPaths: ['/api/v2/tokens'] });
    const customApp = express();
    customApp.use(custom.middleware());
    customApp.post('/api/v2/sessions/new', (_req, res) => { res.status(403).end(); });
    customApp.post('/bye', (_req, res) => { res.status(204).end(); });
    customApp.post('/api/v2/tokens', (_req, res) => { res.json({}); });
    customApp.post('/login', (_req, res) => { res.json({}); });
    for (const path of ['/api/v2/sessions/new', '/bye', '/api/v2/tokens', '/login']) await request(customApp).post(path);
    await custom.flush();
    await custom.close();
    // The defaults are replaced, not extended: /login is now an ordinary create.
    expect((await storedActivities(db.knex)).map((r) => r.activity_type)).toEqual(['login_failed', 'logout', 'token_refresh', 'data_create']);
  });

  it('reads the route pattern of a mounted router, with its base path', async () => {
    const nested = express();
    nested.use(tracker.middleware());
    const router = express.Router({ mergeParams: true });
    router.get('/orders/:orderId', (_req, res) => { res.json({}); });
    nested.use('/api/v1/users/:userId', router);
    await request(nested).get('/api/v1/users/u1/orders/o-77');
    await tracker.flush();
    const [row] = await storedActivities(db.knex);
    expect(row).toMatchObject({ route: '/api/v1/users/:userId/orders/:orderId', entity_type: 'orders', entity_id: 'o-77' });
  });
});
