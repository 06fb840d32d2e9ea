/**
 * A failed login's name is kept only when it is an account (issue 15): a name that is no account
 * may be a password typed into the wrong field. The example app promises it; dropUnknownLoginNames
 * keeps the promise, for any app.
 */
import express from 'express';
import request from 'supertest';
import { createExampleApp, DEMO_PASSWORD, DEMO_USERNAME, EXAMPLE_TRACKER_OPTIONS } from '../example-app/app';
import { resolveConfig } from '../lib/config';
import type { Options } from '../lib/types';
import { memoryLogger, storedActivities, testTracker } from './support/app';
import { dumpAllRows, openTestDatabase, resetTables, type TestDatabase } from './support/database';

let db: TestDatabase;
beforeAll(async () => { db = await openTestDatabase(); });
afterAll(async () => { await db.destroy(); });
beforeEach(async () => { await resetTables(db.knex); });

/** A password typed into the name field: it must be nowhere once stored. */
const CANARY = 'Canary-Pass-9f3k';
const HTML_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

function exampleHarness(overrides: Options = {}) {
  const logger = memoryLogger();
  const tracker = testTracker(db.knex, { ...EXAMPLE_TRACKER_OPTIONS, risk: { workingHours: false }, logger, ...overrides });
  const app = createExampleApp(tracker, { logError: () => undefined });
  return { tracker, app, logger };
}

/** The failed logins' rows, oldest first, as [path, user, details.body]. */
async function failedLogins(): Promise<unknown[][]> {
  return (await storedActivities(db.knex)).filter((r) => r.activity_type === 'login_failed')
    .map((r) => [r.path, r.user_id, (r.details as { body?: unknown } | null)?.body]);
}

describe('the example app, a failed login with a name that is no account', () => {
  it('keeps the name nowhere: not in any table, not in the CSV export, not in the logs; a failed login at a real account keeps it', async () => {
    const { tracker, app, logger } = exampleHarness();
    // As a browser posts the login form, and as an API client posts JSON (with an email field too).
    await request(app).post('/login').set('Accept', HTML_ACCEPT).type('form').send({ username: CANARY, password: 'wrong' }).expect(401);
    await request(app).post('/api/auth/login').send({ username: CANARY, email: CANARY, password: 'wrong' }).expect(401);
    await request(app).post('/api/auth/login').send({ username: 'grace', password: 'wrong' }).expect(401);
    const ops = (await request(app).post('/api/auth/login').send({ username: 'ops', password: 'ops-password' }).expect(200)).body.token as string;
    await tracker.flush();

    expect(await failedLogins()).toEqual([
      ['/login', null, { username: '[unknown account]', password: '[REDACTED]' }],
      ['/api/auth/login', null, { username: '[unknown account]', email: '[unknown account]', password: '[REDACTED]' }],
      ['/api/auth/login', 'grace', { username: 'grace', password: '[REDACTED]' }],
    ]);
    expect(await dumpAllRows(db.knex)).not.toContain(CANARY);
    const csv = await request(app).get('/api/activity-tracking/export').set('Authorization', `Bearer ${ops}`).buffer(true).expect(200);
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(csv.text).toContain('[unknown account]');
    expect(csv.text).toContain('grace');
    expect(csv.text).not.toContain(CANARY);
    expect(JSON.stringify(logger.lines)).not.toContain(CANARY);
    await tracker.close();
  });

  it('keeps it with the option off, as before', async () => {
    const { tracker, app } = exampleHarness({ dropUnknownLoginNames: false });
    await request(app).post('/login').set('Accept', HTML_ACCEPT).type('form').send({ username: CANARY, password: 'wrong' }).expect(401);
    await request(app).post('/api/auth/login').send({ username: 'grace', password: 'wrong' }).expect(401);
    await tracker.flush();
    expect(await failedLogins()).toEqual([
      ['/login', null, { username: CANARY, password: '[REDACTED]' }],
      ['/api/auth/login', 'grace', { username: 'grace', password: '[REDACTED]' }],
    ]);
    await tracker.close();
  });

  it('keeps the name of a successful login', async () => {
    const { tracker, app } = exampleHarness();
    await request(app).post('/api/auth/login').send({ username: DEMO_USERNAME, password: DEMO_PASSWORD }).expect(200);
    await tracker.flush();
    const [row] = (await storedActivities(db.knex)).filter((r) => r.activity_type === 'login');
    expect([row?.user_id, row?.details?.['body']]).toEqual([DEMO_USERNAME, { username: DEMO_USERNAME, password: '[REDACTED]' }]);
    await tracker.close();
  });
});

describe('dropUnknownLoginNames in an app of its own', () => {
  /** A login route that knows one account, `alice`, and names it as the example does; anyone may already be signed in. */
  function smallApp(options: Options) {
    const tracker = testTracker(db.knex, { dropUnknownLoginNames: true, ...options });
    const app = express();
    app.use(tracker.middleware());
    app.use(express.json());
    app.use(express.urlencoded({ extended: false }));
    app.use((req, _res, next) => {
      const signedIn = req.headers['x-signed-in'];
      if (typeof signedIn === 'string') (req as { user?: unknown }).user = { id: signedIn };
      next();
    });
    app.post('/login', (req, res) => {
      const body = req.body as Record<string, unknown>;
      const name = body['username'] ?? body['handle'];
      if (name === 'alice' && req.activity) req.activity.userId = 'alice';
      res.status(401).json({ error: 'Wrong name or password' });
    });
    return { tracker, app };
  }

  async function storedDetails(): Promise<Array<[string | null, unknown]>> {
    return (await storedActivities(db.knex)).map((r) => [r.user_id, r.details && { body: r.details['body'], query: r.details['query'] }]);
  }

  it('empties the listed fields at any depth of the body and in the query, case- and separator-insensitive, and nothing else', async () => {
    const { tracker, app } = smallApp({});
    await request(app).post(`/login?login=${CANARY}&next=/home`).send({
      User_Name: CANARY, remember: true, profile: { emailAddress: CANARY, plan: 'basic' }, accounts: [{ Email: CANARY }],
    }).expect(401);
    // A urlencoded parser without nesting keeps `user[email]` as the key.
    await request(app).post('/login').type('form').send(`user%5Bemail%5D=${CANARY}&user%5Bpassword%5D=x&theme=dark`).expect(401);
    // A signed-in user's id says nothing of the name typed: the unknown name is still dropped.
    await request(app).post('/login').set('X-Signed-In', 'bob').send({ username: CANARY }).expect(401);
    await request(app).post('/login').send({ username: 'alice', password: 'wrong' }).expect(401);
    await tracker.flush();
    expect(await storedDetails()).toEqual([
      [null, {
        body: { User_Name: '[unknown account]', remember: true, profile: { emailAddress: '[unknown account]', plan: 'basic' }, accounts: [{ Email: '[unknown account]' }] },
        query: { login: '[unknown account]', next: '/home' },
      }],
      [null, { body: { 'user[email]': '[unknown account]', 'user[password]': '[REDACTED]', theme: 'dark' }, query: undefined }],
      ['bob', { body: { username: '[unknown account]' }, query: undefined }],
      ['alice', { body: { username: 'alice', password: '[REDACTED]' }, query: undefined }],
    ]);
    expect(await dumpAllRows(db.knex)).not.toContain(CANARY);
    await tracker.close();
  });

  it('empties the fields loginNameFields lists instead of the default ones', async () => {
    const { tracker, app } = smallApp({ loginNameFields: ['handle'] });
    await request(app).post('/login').send({ handle: CANARY, username: 'kept' }).expect(401);
    await request(app).post('/login').send({ handle: 'alice' }).expect(401);
    await tracker.flush();
    expect(await storedDetails()).toEqual([
      [null, { body: { handle: '[unknown account]', username: 'kept' }, query: undefined }],
      ['alice', { body: { handle: 'alice' }, query: undefined }],
    ]);
    await tracker.close();
  });
});

describe('dropUnknownLoginNames and loginNameFields are checked at start-up', () => {
  it.each([
    [{ dropUnknownLoginNames: 'yes' }, 'Invalid dropUnknownLoginNames: "yes". Fix: use true or false.'],
    [{ loginNameFields: 'username' }, 'Invalid loginNameFields: "username". Fix: pass an array of non-empty strings.'],
    [{ loginNameFields: ['--'] }, 'Invalid loginNameFields: "--". Fix: name a field with letters or digits'],
    [{ dropUnknownLoginNames: true, loginNameFields: [] }, "Invalid loginNameFields: []. Fix: list the fields a login form sends its name in, such as ['username', 'email'], or leave it out for the default list."],
  ])('%j', (options, message) => {
    expect(() => resolveConfig(options as never, {})).toThrow(expect.objectContaining({ code: 'ERR_AT_INVALID_OPTION', message: expect.stringContaining(message) }));
  });

  it('is off by default, with the documented list', () => {
    const config = resolveConfig({}, {});
    expect(config.dropUnknownLoginNames).toBe(false);
    expect([...config.loginNameFields]).toEqual(['username', 'user', 'userid', 'login', 'loginid', 'email', 'emailaddress', 'account', 'accountname', 'identifier']);
  });
});
