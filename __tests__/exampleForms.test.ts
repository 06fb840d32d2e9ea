/**
 * The example dashboard's forms post to the JSON API: a browser is sent back to the dashboard (or
 * shown the error with a link on), API clients keep their JSON answers and status codes.
 */
import request from 'supertest';
import { createExampleApp, DEMO_PASSWORD, DEMO_USERNAME, EXAMPLE_TRACKER_OPTIONS } from '../example-app/app';
import { storedActivities, testTracker } from './support/app';
import { openTestDatabase, resetTables, type TestDatabase } from './support/database';

let db: TestDatabase;
beforeAll(async () => { db = await openTestDatabase(); });
afterAll(async () => { await db.destroy(); });
beforeEach(async () => { await resetTables(db.knex); });

/** What Chrome sends when it submits a form. */
const HTML_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';

function exampleApp() {
  const tracker = testTracker(db.knex, EXAMPLE_TRACKER_OPTIONS);
  return { tracker, app: createExampleApp(tracker, { logError: () => undefined }) };
}

describe('the example dashboard\'s forms, posted by a browser', () => {
  it('create an item and upload a file, then land back on the dashboard that lists them', async () => {
    const { tracker, app } = exampleApp();
    const browser = request.agent(app);
    await browser.post('/login').set('Accept', HTML_ACCEPT).type('form').send({ username: DEMO_USERNAME, password: DEMO_PASSWORD }).expect(302);

    let res = await browser.post('/api/items').set('Accept', HTML_ACCEPT).type('form').send({ name: 'chair' });
    expect([res.status, res.headers['location']]).toEqual([303, '/dashboard']);
    res = await browser.post('/api/files').set('Accept', HTML_ACCEPT).attach('file', Buffer.from('hello\n'), 'hello.txt');
    expect([res.status, res.headers['location']]).toEqual([303, '/dashboard']);
    res = await browser.get('/dashboard').set('Accept', HTML_ACCEPT).expect(200);
    expect(res.text).toContain('<a href="/api/items/2">#2</a> chair');
    expect(res.text).toContain('<a href="/api/files/1/download">file-1.txt</a>');

    await tracker.flush();
    const rows = (await storedActivities(db.knex)).filter((r) => r.method === 'POST' && r.path !== '/login')
      .map((r) => [r.path, r.status_code, r.activity_type, r.user_id, r.entity_type, r.entity_id, r.success]);
    expect(rows).toEqual([
      ['/api/items', 303, 'data_create', 'demo', 'items', '2', true],
      ['/api/files', 303, 'file_upload', 'demo', 'files', '1', true],
    ]);
    await tracker.close();
  });

  it('show what was refused on a page with a way back, the status kept', async () => {
    const { tracker, app } = exampleApp();
    const browser = request.agent(app);
    await browser.post('/login').set('Accept', HTML_ACCEPT).type('form').send({ username: DEMO_USERNAME, password: DEMO_PASSWORD }).expect(302);

    let res = await browser.post('/api/items').set('Accept', HTML_ACCEPT).type('form').send({ name: '   ' });
    expect([res.status, res.type]).toEqual([400, 'text/html']);
    expect(res.text).toContain('name must be a non-empty string');
    expect(res.text).toContain('<a href="/dashboard">Back to the dashboard</a>');
    // A browser whose session is gone (a fresh one, no cookie): sign in first.
    res = await request(app).post('/api/items').set('Accept', HTML_ACCEPT).type('form').send({ name: 'chair' });
    expect([res.status, res.type]).toEqual([401, 'text/html']);
    expect(res.text).toContain('<a href="/login">Log in</a>');
    await tracker.close();
  });
});

describe('the same routes, called by API clients', () => {
  it('answer with JSON and the status codes they always had', async () => {
    const { tracker, app } = exampleApp();
    const token = (await request(app).post('/api/auth/login').send({ username: DEMO_USERNAME, password: DEMO_PASSWORD }).expect(200)).body.token as string;
    const auth = { Authorization: `Bearer ${token}` };

    let res = await request(app).post('/api/items').set(auth).send({ name: 'chair' }).expect(201);
    expect([res.headers['location'], res.body]).toEqual(['/api/items/2', { id: '2', name: 'chair', createdBy: 'demo' }]);
    // A form-encoded post that asks for JSON gets JSON.
    res = await request(app).post('/api/items').set(auth).set('Accept', 'application/json').type('form').send({ name: 'lamp' }).expect(201);
    expect(res.body).toEqual({ id: '3', name: 'lamp', createdBy: 'demo' });
    res = await request(app).post('/api/items').set(auth).send({ name: '' }).expect(400);
    expect(res.body).toEqual({ error: 'name must be a non-empty string' });
    // As curl -F sends it: no Accept of its own but */*.
    res = await request(app).post('/api/files').set(auth).set('Accept', '*/*').attach('file', Buffer.from('hello\n'), 'hello.txt').expect(201);
    expect([res.headers['location'], res.body]).toEqual(['/api/files/1/download', { id: '1', size: expect.any(Number) }]);
    res = await request(app).post('/api/files').set(auth).send({ file: 'not multipart' }).expect(415);
    expect(res.body).toEqual({ error: 'Send the file as multipart/form-data' });
    res = await request(app).post('/api/items').send({ name: 'chair' }).expect(401);
    expect([res.headers['www-authenticate'], res.body]).toEqual(['Bearer', { error: 'Sign in first: log in at /login or send a bearer token from POST /api/auth/login' }]);
    await tracker.close();
  });
});
