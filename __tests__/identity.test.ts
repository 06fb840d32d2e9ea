import request from 'supertest';
import jwt from 'jsonwebtoken';
import session from 'express-session';
import type { Express } from 'express';
import { EXPRESS_VERSIONS, storedActivities, testTracker, type ExpressFactory } from './support/app';
import { openTestDatabase, resetTables, type TestDatabase } from './support/database';
import type { ActivityTracker } from '../lib/tracker';
import type { Options } from '../lib/types';

const SECRET = 'test-secret-of-thirty-two-chars!';
let db: TestDatabase;
beforeAll(async () => { db = await openTestDatabase(); });
afterAll(async () => { await db.destroy(); });

function appWith(express: ExpressFactory, tracker: ActivityTracker, before: Array<(req: any, res: any, next: () => void) => void> = []): Express {
  const app = express();
  app.set('trust proxy', false);
  for (const mw of before) app.use(mw);
  app.use(tracker.middleware());
  // Auth mounted after the tracker: the user is read when the response ends, so it still counts.
  app.use((req: any, _res, next) => {
    if (req.headers['x-test-user']) req.user = { id: req.headers['x-test-user'] };
    if (req.headers['x-test-sub']) req.user = { sub: req.headers['x-test-sub'] };
    next();
  });
  app.get('/page', (_req, res) => { res.type('html').send('ok'); });
  return app;
}

describe.each(EXPRESS_VERSIONS)('who and which session on %s', (_name, express) => {
  const trackers: ActivityTracker[] = [];
  const track = (options: Options = {}): ActivityTracker => {
    const tracker = testTracker(db.knex, options);
    trackers.push(tracker);
    return tracker;
  };
  beforeEach(async () => { await resetTables(db.knex); });
  afterEach(async () => { await Promise.all(trackers.splice(0).map((t) => t.close())); });
  const rowsAfter = async (tracker: ActivityTracker) => { await tracker.flush(); return storedActivities(db.knex); };

  it('takes the user from getUserId, then req.user.id, then req.user.sub', async () => {
    const withOption = track({ getUserId: (req) => (req.headers['x-app-user'] as string | undefined) ?? null });
    await request(appWith(express, withOption)).get('/page').set('X-App-User', 'from-option').set('X-Test-User', 'ignored');
    await request(appWith(express, withOption)).get('/page').set('X-Test-User', 'u-42');
    await request(appWith(express, withOption)).get('/page').set('X-Test-Sub', 'sub-7');
    await request(appWith(express, withOption)).get('/page');
    expect((await rowsAfter(withOption)).map((r) => r.user_id)).toEqual(['from-option', 'u-42', 'sub-7', null]);
  });

  it('names the user from a bearer JWT only when it verifies with the pinned algorithm and has exp', async () => {
    const tracker = track({ jwtSecret: SECRET });
    const app = appWith(express, tracker);
    const good = jwt.sign({ sub: 'jwt-user' }, SECRET, { algorithm: 'HS256', expiresIn: '5m' });
    const wrongSecret = jwt.sign({ sub: 'forged' }, 'another-secret-another-secret!!', { algorithm: 'HS256', expiresIn: '5m' });
    const noExp = jwt.sign({ sub: 'no-exp' }, SECRET, { algorithm: 'HS256' });
    const expired = jwt.sign({ sub: 'expired', exp: Math.floor(Date.now() / 1000) - 3600 }, SECRET, { algorithm: 'HS256' });
    const unsigned = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'none-alg', exp: 9999999999 })).toString('base64url')}.`;
    const hs512 = jwt.sign({ sub: 'hs512' }, SECRET, { algorithm: 'HS512', expiresIn: '5m' });
    for (const token of [good, wrongSecret, noExp, expired, unsigned, hs512]) {
      await request(app).get('/page').set('Authorization', `Bearer ${token}`);
    }
    expect((await rowsAfter(tracker)).map((r) => r.user_id)).toEqual(['jwt-user', null, null, null, null, null]);
  });

  it('never names a user from a token when no secret is configured', async () => {
    const tracker = track({ jwtSecret: undefined });
    const token = jwt.sign({ sub: 'jwt-user' }, SECRET, { algorithm: 'HS256', expiresIn: '5m' });
    await request(appWith(express, tracker)).get('/page').set('Authorization', `Bearer ${token}`);
    expect((await rowsAfter(tracker)).map((r) => r.user_id)).toEqual([null]);
  });

  it("gives a browser's requests one session through the package cookie", async () => {
    const tracker = track();
    const agent = request.agent(appWith(express, tracker));
    const first = await agent.get('/page');
    const cookie = first.headers['set-cookie'] as unknown as string[];
    expect(cookie).toHaveLength(1);
    expect(cookie[0]).toMatch(/^activity_sid=[0-9a-f]{32}\.[\w-]{22}; Path=\/; HttpOnly; SameSite=Lax$/);
    await agent.get('/page');
    await agent.get('/page');
    const rows = await rowsAfter(tracker);
    expect(new Set(rows.map((r) => r.session_id))).toEqual(new Set([cookie[0]!.slice('activity_sid='.length, 'activity_sid='.length + 32)]));
    const [stored] = await db.knex('activity_sessions').select('*');
    expect(stored).toMatchObject({ page_views: 3, actions_count: 0, ip_address: '127.0.0.1', is_active: true });
  });

  it('marks the cookie Secure behind HTTPS as the trust proxy setting reports it', async () => {
    const tracker = track();
    const app = appWith(express, tracker);
    app.set('trust proxy', true);
    const response = await request(app).get('/page').set('X-Forwarded-Proto', 'https');
    expect(String(response.headers['set-cookie'])).toMatch(/; HttpOnly; SameSite=Lax; Secure$/);
  });

  it('gives a thousand cookie-less requests from one client one session, and another client another', async () => {
    const tracker = track();
    const app = appWith(express, tracker);
    for (let i = 0; i < 1000; i++) await request(app).get('/page').set('User-Agent', 'curl/8.4.0');
    await request(app).get('/page').set('User-Agent', 'Wget/1.21');
    const rows = await rowsAfter(tracker);
    const curl = new Set(rows.filter((r) => r.user_agent === 'curl/8.4.0').map((r) => r.session_id));
    const wget = new Set(rows.filter((r) => r.user_agent === 'Wget/1.21').map((r) => r.session_id));
    expect(rows).toHaveLength(1001);
    expect(curl.size).toBe(1);
    expect(wget.size).toBe(1);
    expect([...curl][0]).not.toBe([...wget][0]);
    const sessions = await db.knex('activity_sessions').select('session_id', 'page_views').orderBy('page_views');
    expect(sessions.map((s) => Number(s.page_views))).toEqual([1, 1000]);
  }, 120_000);

  it('keeps a cookie-less client\'s session for its first user: another user behind the same address and user agent gets one of their own', async () => {
    const tracker = track();
    const app = appWith(express, tracker);
    const send = (user: string | null) => {
      const call = request(app).get('/page').set('User-Agent', 'curl/8.4.0');
      return user === null ? call : call.set('x-test-user', user);
    };
    for (const user of [null, 'alice', 'alice', 'bob', null, 'bob', 'alice']) await send(user);
    const rows = await rowsAfter(tracker);
    const sessionOf = (i: number) => rows[i]?.session_id;
    expect(rows.map((r) => r.user_id)).toEqual([null, 'alice', 'alice', 'bob', null, 'bob', 'alice']);
    // The anonymous start, alice's requests and later anonymous ones: one session; bob's: another.
    expect(new Set([0, 1, 2, 4, 6].map(sessionOf)).size).toBe(1);
    expect(new Set([3, 5].map(sessionOf)).size).toBe(1);
    expect(sessionOf(3)).not.toBe(sessionOf(0));
    const sessions = await db.knex('activity_sessions').select('user_id', 'page_views').orderBy('user_id');
    expect(sessions.map((s) => [s.user_id, Number(s.page_views)])).toEqual([['alice', 5], ['bob', 2]]);
  });

  it('derives a stable session from a bearer token for clients without cookies', async () => {
    const tracker = track();
    const app = appWith(express, tracker);
    await request(app).get('/page').set('Authorization', 'Bearer token-a');
    await request(app).get('/page').set('Authorization', 'Bearer token-a');
    await request(app).get('/page').set('Authorization', 'Bearer token-b');
    const rows = await rowsAfter(tracker);
    expect(rows[0]?.session_id).toBe(rows[1]?.session_id);
    expect(rows[2]?.session_id).not.toBe(rows[0]?.session_id);
    expect(rows.map((r) => r.session_id).join()).not.toContain('token');
  });

  it("uses express-session's id, hashed, even when express-session is mounted after the tracker", async () => {
    const tracker = track();
    const app = express();
    app.use(tracker.middleware());
    app.use(session({ secret: 'keyboard cat keyboard cat', resave: false, saveUninitialized: true }));
    app.get('/page', (req, res) => { res.json({ sid: req.sessionID }); });
    const agent = request.agent(app);
    const first = await agent.get('/page');
    await agent.get('/page');
    const rows = await rowsAfter(tracker);
    const sid = (first.body as { sid: string }).sid;
    expect(rows).toHaveLength(2);
    expect(rows[0]?.session_id).toBe(rows[1]?.session_id);
    expect(rows[0]?.session_id).toMatch(/^[0-9a-f]{32}$/);
    expect(rows[0]?.session_id).not.toContain(sid);
  });

  it('keeps a browser one session across its sign-in, and a token client one of its own, when express-session saves only signed-in sessions', async () => {
    const tracker = track();
    const app = express();
    app.use(tracker.middleware());
    app.use(session({ secret: 'keyboard cat keyboard cat', resave: false, saveUninitialized: false }));
    app.get('/page', (_req, res) => { res.type('html').send('ok'); });
    app.post('/login', (req, res) => { (req.session as unknown as { user: string }).user = 'ada'; res.json({ ok: true }); });
    const browser = request.agent(app);
    await browser.get('/page');
    await browser.get('/page');
    await browser.post('/login');
    await browser.get('/page');
    await browser.get('/page');
    await request(app).get('/page').set('Authorization', 'Bearer token-a');
    await request(app).get('/page').set('Authorization', 'Bearer token-a');
    const rows = await rowsAfter(tracker);
    const ids = rows.map((r) => r.session_id);
    // Signing in starts the app's own session, which is linked to the visit, not used instead of it.
    expect(new Set(ids.slice(0, 5)).size).toBe(1);
    expect(ids[5]).toBe(ids[6]);
    expect(ids[5]).not.toBe(ids[0]);
    const linked = (await storedActivities(db.knex, { sessionEvents: true })).filter((r) => r.action === 'session.linked');
    expect(linked.map((r) => [r.session_id, (r.details?.['appSession'] as { kind: string }).kind])).toEqual([[ids[0], 'express-session'], [ids[5], 'bearer']]);
  });

  it('sets no cookie when sessionCookie is false', async () => {
    const tracker = track({ sessionCookie: false });
    const response = await request(appWith(express, tracker)).get('/page');
    expect(response.headers['set-cookie']).toBeUndefined();
    expect((await rowsAfter(tracker))[0]?.session_id).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe('reading the session cookie', () => {
  it('finds the cookie among others, and not inside another cookie name or value', () => {
    const { readCookie } = jest.requireActual<typeof import('../lib/capture/session')>('../lib/capture/session');
    expect(readCookie('a=1; activity_sid=abc; b=2', 'activity_sid')).toBe('abc');
    expect(readCookie('activity_sid=abc', 'activity_sid')).toBe('abc');
    expect(readCookie('my_activity_sid=evil; x=activity_sid=evil2', 'activity_sid')).toBeNull();
    expect(readCookie('my_activity_sid=evil; activity_sid=good', 'activity_sid')).toBe('good');
    expect(readCookie(undefined, 'activity_sid')).toBeNull();
  });
});
