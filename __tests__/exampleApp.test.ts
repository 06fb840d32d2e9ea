import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import type { Express } from 'express';
import { createExampleApp, DEMO_PASSWORD, DEMO_USERNAME, EXAMPLE_TRACKER_OPTIONS, MAX_UPLOAD_BYTES } from '../example-app/app';
import { storedActivities, testTracker, type StoredActivity } from './support/app';
import { openTestDatabase, resetTables, type TestDatabase } from './support/database';
import type { ActivityTracker } from '../lib/tracker';

const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
const CURL = 'curl/8.5.0';
/** What a browser sends for a page. */
const HTML_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

let db: TestDatabase;
let tracker: ActivityTracker;
let app: Express;
let logged: unknown[];

beforeAll(async () => { db = await openTestDatabase(); });
afterAll(async () => { await db.destroy(); });
beforeEach(async () => {
  await resetTables(db.knex);
  tracker = testTracker(db.knex, EXAMPLE_TRACKER_OPTIONS);
  logged = [];
  app = createExampleApp(tracker, { logError: (error) => { logged.push(error); } });
});
afterEach(async () => { await tracker.close(); });

type Summary = [method: string | null, path: string | null, status: number | null, type: string, user: string | null, entityType: string | null, entityId: string | null];

function summary(row: StoredActivity): Summary {
  return [row.method, row.path, row.status_code, row.activity_type, row.user_id, row.entity_type, row.entity_id];
}

/** A raw GET, so that the path reaches the server exactly as written (supertest would percent-encode `<`). */
function rawGet(target: Express, path: string): Promise<{ status: number; body: string }> {
  const server = http.createServer(target);
  return new Promise((resolve, reject) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      http.get({ host: '127.0.0.1', port, path, headers: { 'user-agent': CHROME, accept: HTML_ACCEPT } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => { body += chunk; });
        res.on('end', () => { server.close(); resolve({ status: res.statusCode ?? 0, body }); });
      }).on('error', (error) => { server.close(); reject(error); });
    });
  });
}

describe('example app', () => {
  it('records a browser session and an API client, row by row', async () => {
    const browser = request.agent(app);
    browser.set('User-Agent', CHROME);

    // Anonymous.
    let res = await browser.get('/dashboard').set('Accept', HTML_ACCEPT);
    expect(res.status).toBe(302);
    expect(res.headers['location']).toBe('/login');
    res = await browser.get('/login').set('Accept', HTML_ACCEPT);
    expect(res.status).toBe(200);
    expect(res.text).toContain('<form class="card" method="post" action="/login">');
    res = await browser.post('/login').type('form').send({ username: DEMO_USERNAME, password: 'wrong' });
    expect(res.status).toBe(401);
    expect(res.text).toContain('Wrong username or password.');
    expect(res.text).toContain(`value="${DEMO_USERNAME}"`);
    res = await browser.post('/api/items').send({ name: 'sneaky' });
    expect(res.status).toBe(401);

    // Signed in with the form.
    res = await browser.post('/login').type('form').send({ username: DEMO_USERNAME, password: DEMO_PASSWORD });
    expect(res.status).toBe(302);
    expect(res.headers['location']).toBe('/dashboard');
    const cookie = String(res.headers['set-cookie']);
    expect(cookie).toMatch(/example\.sid=.*HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    res = await browser.get('/dashboard').set('Accept', HTML_ACCEPT);
    expect(res.status).toBe(200);
    expect(res.text).toContain('Signed in as <strong>demo</strong>');

    // CRUD.
    res = await browser.post('/api/items').send({ name: 'chair' });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ id: '2', name: 'chair', createdBy: 'demo' });
    res = await browser.post('/api/items').send({ name: '  ' });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'name must be a non-empty string' });
    res = await browser.get('/api/items/2');
    expect(res.body).toEqual({ id: '2', name: 'chair', createdBy: 'demo' });
    res = await browser.get('/api/items');
    expect(res.body).toEqual([{ id: '1', name: 'Welcome item', createdBy: 'demo' }, { id: '2', name: 'chair', createdBy: 'demo' }]);
    res = await browser.put('/api/items/2').send({ name: 'table' });
    expect(res.body).toEqual({ id: '2', name: 'table', createdBy: 'demo' });
    res = await browser.patch('/api/items/2').send({ name: 'desk' });
    expect(res.body).toEqual({ id: '2', name: 'desk', createdBy: 'demo' });
    res = await browser.delete('/api/items/2');
    expect(res.status).toBe(204);
    res = await browser.get('/api/items/2');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: 'Item not found' });

    // Upload and download.
    const content = Buffer.from('hello, activity trail\n');
    res = await browser.post('/api/files').attach('file', content, 'hello.txt');
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ id: '1', size: expect.any(Number) });
    expect(res.body.size).toBeGreaterThan(content.length); // the multipart body: boundaries and part headers too
    res = await browser.get('/api/files/1/download');
    expect(res.status).toBe(200);
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="?file-1\.txt"?$/);
    expect(res.text).toMatch(/^File 1: \d+ bytes uploaded by demo/);
    res = await browser.get('/api/files/99/download');
    expect(res.status).toBe(404);

    // A failure.
    res = await browser.get('/api/fail');
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ error: 'Internal error' });
    expect(res.text).not.toContain('at ');
    expect(logged).toHaveLength(1);

    // Signed out.
    res = await browser.post('/logout');
    expect(res.status).toBe(302);
    expect(res.headers['location']).toBe('/');
    res = await browser.get('/dashboard').set('Accept', HTML_ACCEPT);
    expect(res.status).toBe(302);

    // An API client with a bearer token.
    const api = (r: request.Test): request.Test => r.set('User-Agent', CURL);
    res = await api(request(app).post('/api/auth/login').send({ username: DEMO_USERNAME, password: 'nope' }));
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: 'Wrong username or password' });
    res = await api(request(app).post('/api/auth/login').send({ username: DEMO_USERNAME, password: DEMO_PASSWORD }));
    expect(res.status).toBe(200);
    const first = res.body.token as string;
    expect(first).toMatch(/^[A-Za-z0-9_-]{43}$/); // 32 random bytes, opaque: not a JWT
    res = await api(request(app).get('/api/items/1').set('Authorization', `Bearer ${first}`));
    expect(res.status).toBe(200);
    res = await api(request(app).post('/api/auth/refresh').set('Authorization', `Bearer ${first}`));
    expect(res.status).toBe(200);
    const second = res.body.token as string;
    expect(second).not.toBe(first);
    res = await api(request(app).post('/api/auth/refresh').set('Authorization', `Bearer ${first}`));
    expect(res.status).toBe(401);
    res = await api(request(app).post('/api/items').set('Authorization', `Bearer ${second}`).send({ name: 'lamp' }));
    expect(res.status).toBe(201);

    await tracker.flush();
    const rows = await storedActivities(db.knex);
    expect(rows.map(summary)).toEqual<Summary[]>([
      ['GET', '/dashboard', 302, 'page_view', null, null, null],
      ['GET', '/login', 200, 'page_view', null, null, null],
      // A failed login names the (known) account it tried, so it counts against that account.
      ['POST', '/login', 401, 'login_failed', 'demo', null, null],
      ['POST', '/api/items', 401, 'data_create', null, 'items', null],
      ['POST', '/login', 302, 'login', 'demo', null, null],
      ['GET', '/dashboard', 200, 'page_view', 'demo', null, null],
      ['POST', '/api/items', 201, 'data_create', 'demo', 'items', '2'],
      ['POST', '/api/items', 400, 'data_create', 'demo', 'items', null],
      ['GET', '/api/items/2', 200, 'data_view', 'demo', 'items', '2'],
      ['GET', '/api/items', 200, 'data_view', 'demo', 'items', null],
      ['PUT', '/api/items/2', 200, 'data_update', 'demo', 'items', '2'],
      ['PATCH', '/api/items/2', 200, 'data_update', 'demo', 'items', '2'],
      ['DELETE', '/api/items/2', 204, 'data_delete', 'demo', 'items', '2'],
      ['GET', '/api/items/2', 404, 'data_view', 'demo', 'items', '2'],
      ['POST', '/api/files', 201, 'file_upload', 'demo', 'files', '1'],
      ['GET', '/api/files/1/download', 200, 'file_download', 'demo', 'files', '1'],
      ['GET', '/api/files/99/download', 404, 'data_view', 'demo', 'files', '99'],
      ['GET', '/api/fail', 500, 'error', 'demo', null, null],
      ['POST', '/logout', 302, 'logout', 'demo', null, null],
      ['GET', '/dashboard', 302, 'page_view', null, null, null],
      ['POST', '/api/auth/login', 401, 'login_failed', 'demo', null, null],
      ['POST', '/api/auth/login', 200, 'login', 'demo', null, null],
      ['GET', '/api/items/1', 200, 'data_view', 'demo', 'items', '1'],
      ['POST', '/api/auth/refresh', 200, 'token_refresh', 'demo', null, null],
      ['POST', '/api/auth/refresh', 401, 'token_refresh', null, null, null],
      ['POST', '/api/items', 201, 'data_create', 'demo', 'items', '3'],
    ]);

    expect(rows.map((r) => r.success)).toEqual(rows.map((r) => r.status_code !== null && r.status_code < 400));
    // Secrets never reach the trail.
    const login = rows.find((r) => r.activity_type === 'login' && r.path === '/login');
    expect(login?.details).toMatchObject({ body: { username: 'demo', password: '[REDACTED]' } });
    expect(JSON.stringify(rows)).not.toContain(DEMO_PASSWORD);
    expect(JSON.stringify(rows)).not.toContain(first);
    expect(JSON.stringify(rows)).not.toContain(second);

    // The browser's signed-in requests, from the login to the logout, form one session.
    const signedIn = rows.slice(4, 19);
    expect(new Set(signedIn.map((r) => r.session_id)).size).toBe(1);
    expect(signedIn[0]?.session_id).toMatch(/^[0-9a-f]{32}$/);
    expect(rows.filter((r) => r.user_agent === CHROME)).toHaveLength(20);
    expect(rows.slice(0, 20).every((r) => r.browser === 'Chrome 120.0.0.0' && r.ip_address === '127.0.0.1')).toBe(true);
  });

  it('logs out with GET too, and refuses a refresh without a token', async () => {
    const browser = request.agent(app);
    await browser.post('/login').type('form').send({ username: DEMO_USERNAME, password: DEMO_PASSWORD }).expect(302);
    await browser.get('/logout').expect(302).expect('Location', '/');
    await browser.get('/dashboard').expect(302).expect('Location', '/login');
    await request(app).post('/api/auth/refresh').expect(401);
    await request(app).post('/api/auth/refresh').set('Authorization', 'Bearer not-a-token').expect(401);
    await tracker.flush();
    const rows = await storedActivities(db.knex);
    expect(rows.map((r) => [r.method, r.path, r.status_code, r.activity_type, r.user_id])).toEqual([
      ['POST', '/login', 302, 'login', 'demo'],
      ['GET', '/logout', 302, 'logout', 'demo'],
      ['GET', '/dashboard', 302, 'data_view', null],
      ['POST', '/api/auth/refresh', 401, 'token_refresh', null],
      ['POST', '/api/auth/refresh', 401, 'token_refresh', null],
    ]);
  });

  it('refuses uploads over 5 MB with 413 and uploads that are not multipart with 415', async () => {
    const agent = request.agent(app);
    await agent.post('/login').type('form').send({ username: DEMO_USERNAME, password: DEMO_PASSWORD }).expect(302);
    const res = await agent.post('/api/files').attach('file', Buffer.alloc(MAX_UPLOAD_BYTES + 1, 97), 'big.txt');
    expect(res.status).toBe(413);
    expect(res.body).toEqual({ error: `Files are limited to ${MAX_UPLOAD_BYTES} bytes` });
    await agent.post('/api/files').send({ name: 'not a file' }).expect(415);
    await tracker.flush();
    const rows = await storedActivities(db.knex);
    expect(rows.map((r) => [r.path, r.status_code, r.activity_type, r.success])).toEqual([
      ['/login', 302, 'login', true],
      ['/api/files', 413, 'file_upload', false],
      ['/api/files', 415, 'data_create', false],
    ]);
  });

  it('escapes what a request put in its path, and links every page to the console, where the sign-in carries over', async () => {
    const notFound = await rawGet(app, '/no-such-page/<script>alert(2)</script>');
    expect(notFound.status).toBe(404);
    expect(notFound.body).toContain('/no-such-page/&lt;script&gt;alert(2)&lt;/script&gt;');
    expect(notFound.body).not.toContain('<script>');

    const about = await request(app).get('/about').set('Accept', HTML_ACCEPT).expect(200);
    expect(about.text).toContain('<a href="/api/activity-tracking/console">Audit console</a>');
    // The demo's page that read the table directly, open to anyone, is gone.
    await request(app).get('/activity').set('Accept', HTML_ACCEPT).expect(404);

    const page = await request(app).get('/api/activity-tracking/console').expect(200);
    expect(page.text).toContain('data-auth="cookie"');
    // Signed out, the console's first call is refused; signed in, it knows who is there.
    await request(app).get('/api/activity-tracking/console/session').expect(401);
    const ops = request.agent(app);
    await ops.post('/login').type('form').send({ username: 'ops', password: 'ops-password' }).expect(302);
    const platform = await ops.get('/api/activity-tracking/console/session').expect(200);
    expect(platform.body.data).toMatchObject({ userId: 'ops', role: 'system_admin', access: { reader: true, admin: true, platform: true } });
    const demo = request.agent(app);
    await demo.post('/login').type('form').send({ username: DEMO_USERNAME, password: DEMO_PASSWORD }).expect(302);
    const tenant = await demo.get('/api/activity-tracking/console/session').expect(200);
    expect(tenant.body.data).toMatchObject({ userId: DEMO_USERNAME, role: 'auditor', tenantId: 'acme', access: { reader: true, admin: false, platform: false } });
  });

  it('documents the demo user, every page and the report route on the home page', async () => {
    const res = await request(app).get('/').set('Host', 'example.test<script>');
    expect(res.status).toBe(200);
    expect(res.text).toContain(`<code>${DEMO_USERNAME}</code>, password <code>${DEMO_PASSWORD}</code>`);
    for (const href of ['/about', '/login', '/dashboard', '/logout', '/api/activity-tracking/console', '/api/items', '/api/fail']) {
      expect(res.text).toContain(`href="${href}"`);
    }
    expect(res.text).toContain('/api/activity-tracking');
    expect(res.text).toContain('http://example.test&lt;script&gt;/api/auth/login');
    expect(res.text).not.toContain('<script');
    await request(app).get('/about').expect(200).expect('Content-Type', /html/);
    // The report router is mounted, behind sign-in.
    await request(app).get('/api/activity-tracking/activities').expect(401);
  });

  it('answers unknown API paths and malformed JSON with JSON errors', async () => {
    await request(app).get('/api/nope').expect(404, { error: 'Not found' });
    const res = await request(app).post('/api/auth/login').set('Content-Type', 'application/json').send('{"username":');
    expect(res.status).toBe(400);
    expect(res.body).toHaveProperty('error');
    expect(logged).toHaveLength(0);
  });

  it('lets the signed-in demo user read the trail through the report routes, as an auditor', async () => {
    const login = await request(app).post('/api/auth/login').send({ username: DEMO_USERNAME, password: DEMO_PASSWORD }).expect(200);
    const auth = { Authorization: `Bearer ${login.body.token as string}` };
    await tracker.flush();
    const res = await request(app).get('/api/activity-tracking/activities?activityType=login').set(auth).expect(200);
    expect(res.body.pagination.total).toBe(1);
    expect(res.body.data[0]).toMatchObject({ activityType: 'login', userId: 'demo', path: '/api/auth/login' });
    await tracker.flush();
    const reads = (await storedActivities(db.knex)).filter((row) => row.activity_type === 'audit_read');
    expect(reads).toEqual([expect.objectContaining({ user_id: 'demo', path: '/api/activity-tracking/activities' })]);
  });
});
