/**
 * One visit, one session: a browser's anonymous pages, its failed and successful logins, the
 * express-session ids the app regenerates on the way, its logout and what follows are one session;
 * another user signing in on that browser starts a session of their own; an API client's login
 * and its token calls, across a token refresh, are one session too.
 */
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import session from 'express-session';
import type { Express, NextFunction, Request, Response } from 'express';
import { EXPRESS_VERSIONS, storedActivities, testTracker, type ExpressFactory, type StoredActivity } from './support/app';
import { openTestDatabase, resetTables, type TestDatabase } from './support/database';
import { bearer, MOUNT, REPORT_SECRET } from './support/reports';
import type { ActivityTracker } from '../lib/tracker';

const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
const CURL = 'curl/8.5.0';
const PASSWORDS: Record<string, string> = { demo: 'demo-password', grace: 'grace-password' };

let db: TestDatabase;
beforeAll(async () => { db = await openTestDatabase(); });
afterAll(async () => { await db.destroy(); });

type SessionData = { user?: string; csrf?: string };
const sessionOf = (req: Request): SessionData => req.session as unknown as SessionData;

/** A site signed into as the example app is: express-session, a new session id at sign-in, destroyed at sign-out; and a token API. */
function site(express: ExpressFactory, tracker: ActivityTracker): Express {
  const app = express();
  const tokens = new Map<string, string>();
  app.use(tracker.middleware());
  app.use(express.urlencoded({ extended: false }));
  app.use(express.json());
  app.use(session({ name: 'app.sid', secret: 'visit-test-secret-0123456789', resave: false, saveUninitialized: false }));
  app.use((req: Request, _res: Response, next: NextFunction) => {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const user = sessionOf(req).user ?? (token === undefined ? undefined : tokens.get(token));
    if (user !== undefined) (req as unknown as { user: { id: string } }).user = { id: user };
    next();
  });
  app.get('/', (_req, res) => { res.type('html').send('<h1>Home</h1>'); });
  // The login form keeps a CSRF value in the session, so the app's session exists before sign-in.
  app.get('/login', (req, res) => { sessionOf(req).csrf = randomBytes(8).toString('hex'); res.type('html').send('<form></form>'); });
  app.post('/login', (req, res, next) => {
    const { username, password } = req.body as { username: string; password: string };
    if (PASSWORDS[username] !== password) { res.status(401).type('html').send('Wrong username or password'); return; }
    req.session.regenerate((error) => {
      if (error) { next(error); return; }
      sessionOf(req).user = username;
      (req as unknown as { user: { id: string } }).user = { id: username };
      res.redirect(302, '/dashboard');
    });
  });
  app.get('/dashboard', (req, res) => { res.type('html').send(`<h1>${sessionOf(req).user ?? 'nobody'}</h1>`); });
  app.post('/logout', (req, res, next) => {
    req.session.destroy((error) => {
      if (error) { next(error); return; }
      res.clearCookie('app.sid').redirect(302, '/');
    });
  });
  app.post('/api/login', (req, res) => {
    const { username, password } = req.body as { username: string; password: string };
    if (PASSWORDS[username] !== password) { res.status(401).json({ error: 'Wrong username or password' }); return; }
    const token = randomBytes(16).toString('hex');
    tokens.set(token, username);
    (req as unknown as { user: { id: string } }).user = { id: username };
    res.json({ token });
  });
  app.post('/api/refresh', (req, res) => {
    const old = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
    const user = tokens.get(old);
    if (user === undefined) { res.status(401).json({ error: 'Send a valid token' }); return; }
    tokens.delete(old);
    const token = randomBytes(16).toString('hex');
    tokens.set(token, user);
    res.json({ token });
  });
  app.get('/api/items', (_req, res) => { res.json([{ id: 1 }]); });
  app.use(MOUNT, tracker.router());
  return app;
}

const appSessionOf = (row: StoredActivity): { kind: string; from: string | null; to: string } => row.details?.['appSession'] as { kind: string; from: string | null; to: string };

describe.each(EXPRESS_VERSIONS)('one visit, one session, on %s', (_name, express) => {
  let tracker: ActivityTracker;
  let app: Express;
  beforeEach(async () => {
    await resetTables(db.knex);
    tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET });
    app = site(express, tracker);
  });
  afterEach(async () => { await tracker.close(); });

  /** demo's visit from the first page to after logout, then grace signing in on the same browser. */
  async function browse(): Promise<{ graceCookie: string | undefined }> {
    const browser = request.agent(app);
    const send = (test: request.Test): request.Test => test.set('User-Agent', CHROME).set('Accept', 'text/html');
    await send(browser.get('/')).expect(200);
    await send(browser.get('/login')).expect(200);
    await send(browser.post('/login')).type('form').send({ username: 'demo', password: 'typo' }).expect(401);
    await send(browser.post('/login')).type('form').send({ username: 'demo', password: 'demo-password' }).expect(302);
    await send(browser.get('/dashboard')).expect(200, /demo/);
    await send(browser.post('/logout')).expect(302);
    await send(browser.get('/')).expect(200);
    await send(browser.get('/login')).expect(200);
    await send(browser.post('/login')).type('form').send({ username: 'grace', password: 'grace-password' }).expect(302);
    const dashboard = await send(browser.get('/dashboard')).expect(200, /grace/);
    await send(browser.get('/')).expect(200);
    await tracker.flush();
    const setCookie = ([] as string[]).concat(dashboard.headers['set-cookie'] ?? []);
    return { graceCookie: setCookie.find((c) => c.startsWith('activity_sid=')) };
  }

  it("keeps a browser's visit one session across a failed login, express-session's regenerate, logout and after; a second user starts another", async () => {
    const { graceCookie } = await browse();
    const rows = await storedActivities(db.knex);
    expect(rows.map((r) => [r.method, r.path, r.user_id])).toEqual([
      ['GET', '/', null], ['GET', '/login', null], ['POST', '/login', null], ['POST', '/login', 'demo'], ['GET', '/dashboard', 'demo'],
      ['POST', '/logout', 'demo'], ['GET', '/', null], ['GET', '/login', null],
      ['POST', '/login', 'grace'], ['GET', '/dashboard', 'grace'], ['GET', '/', 'grace'],
    ]);
    const demoVisit = rows[0]?.session_id;
    const graceVisit = rows[8]?.session_id;
    expect(rows.slice(0, 8).map((r) => r.session_id)).toEqual(Array(8).fill(demoVisit));
    expect(rows.slice(8).map((r) => r.session_id)).toEqual(Array(3).fill(graceVisit));
    expect(graceVisit).not.toBe(demoVisit);
    // The failed attempt is in the session an auditor reads for demo's sign-in.
    expect(rows[2]).toMatchObject({ activity_type: 'login_failed', session_id: demoVisit });
    // The browser is handed grace's visit at its next request, so it no longer depends on this process's memory.
    expect(graceCookie).toMatch(new RegExp(`^activity_sid=${graceVisit}\\.`));
  });

  it("records the app's session id beside the visit: linked, then rotated at sign-in and after logout, with old and new ids", async () => {
    await browse();
    const all = await storedActivities(db.knex, { sessionEvents: true });
    const notes = all.filter((r) => r.action === 'session.linked' || r.action === 'session.rotated');
    const demoVisit = all.find((r) => r.path === '/')?.session_id;
    const demoNotes = notes.filter((r) => r.session_id === demoVisit);
    expect(demoNotes.map((r) => [r.action, r.path, r.user_id])).toEqual([
      ['session.linked', '/login', null],
      ['session.rotated', '/login', 'demo'],
      ['session.rotated', '/login', null],
    ]);
    const [linked, atSignIn, afterLogout] = demoNotes.map(appSessionOf);
    expect(linked).toMatchObject({ kind: 'express-session', from: null });
    expect(atSignIn?.from).toBe(linked?.to);
    expect(afterLogout?.from).toBe(atSignIn?.to);
    expect(new Set([linked?.to, atSignIn?.to, afterLogout?.to]).size).toBe(3);
    // Hashes, never the app's own session ids (credentials).
    const cookieIds = all.map((r) => JSON.stringify(r)).join('\n');
    expect(cookieIds).not.toMatch(/s%3A|s:/);
    const graceNotes = notes.filter((r) => r.session_id !== demoVisit);
    expect(graceNotes.map((r) => [r.action, r.user_id, appSessionOf(r).from])).toEqual([['session.linked', 'grace', null]]);
  });

  it('GET /me/sessions and /sessions/active show each visit with its users in order', async () => {
    await browse();
    type Visit = { sessionId: string; userId: string | null; users: Array<{ userId: string | null; firstSeen: string; lastSeen: string }> };
    const mine = await request(app).get(`${MOUNT}/me/sessions`).set(bearer('demo', 'user')).expect(200);
    const demo = (mine.body.data as Visit[])[0];
    expect((mine.body.data as Visit[]).map((v) => v.users.map((u) => u.userId))).toEqual([[null, 'demo']]);
    // Signed out before and after: the anonymous stretch spans the whole visit.
    expect(Date.parse(demo?.users[0]?.firstSeen ?? '')).toBeLessThan(Date.parse(demo?.users[1]?.firstSeen ?? ''));
    expect(Date.parse(demo?.users[0]?.lastSeen ?? '')).toBeGreaterThan(Date.parse(demo?.users[1]?.lastSeen ?? ''));
    const active = await request(app).get(`${MOUNT}/sessions/active`).set(bearer('root', 'admin')).expect(200);
    const grace = (active.body.data as Visit[]).find((v) => v.userId === 'grace');
    expect(grace?.users.map((u) => u.userId)).toEqual(['grace']);
    // demo's visit went on after the logout (whichever batches the requests fell in), so it is still active.
    // (The report calls are tracked too, each a session of its own: demo's visit is found by its id.)
    expect((active.body.data as Visit[]).find((v) => v.sessionId === demo?.sessionId)?.users.map((u) => u.userId)).toEqual([null, 'demo']);
  });

  it("keeps an API client's failed and successful login, its token calls and a refreshed token in one session", async () => {
    const api = (test: request.Test): request.Test => test.set('User-Agent', CURL).set('Accept', 'application/json');
    await api(request(app).post('/api/login')).send({ username: 'demo', password: 'typo' }).expect(401);
    const login = await api(request(app).post('/api/login')).send({ username: 'demo', password: 'demo-password' }).expect(200);
    const first = (login.body as { token: string }).token;
    await api(request(app).get('/api/items')).set('Authorization', `Bearer ${first}`).expect(200);
    const refreshed = await api(request(app).post('/api/refresh')).set('Authorization', `Bearer ${first}`).expect(200);
    const second = (refreshed.body as { token: string }).token;
    await api(request(app).get('/api/items')).set('Authorization', `Bearer ${second}`).expect(200);
    // Another client, with a token of its own and another user agent, is another session.
    const other = await api(request(app).post('/api/login')).set('User-Agent', 'python-requests/2.31').send({ username: 'grace', password: 'grace-password' }).expect(200);
    await request(app).get('/api/items').set('User-Agent', 'python-requests/2.31').set('Authorization', `Bearer ${(other.body as { token: string }).token}`).expect(200);
    await tracker.flush();

    const all = await storedActivities(db.knex, { sessionEvents: true });
    const rows = all.filter((r) => r.user_agent === CURL && r.path !== null && !r.action?.startsWith('session.'));
    expect(rows.map((r) => [r.path, r.status_code, r.user_id])).toEqual([
      ['/api/login', 401, null], ['/api/login', 200, 'demo'], ['/api/items', 200, 'demo'], ['/api/refresh', 200, 'demo'], ['/api/items', 200, 'demo'],
    ]);
    expect(new Set(rows.map((r) => r.session_id)).size).toBe(1);
    const visit = rows[0]?.session_id;
    const notes = all.filter((r) => r.session_id === visit && r.action?.startsWith('session.') && r.activity_type === 'system_action');
    expect(notes.map((r) => [r.action, appSessionOf(r).kind])).toEqual([['session.linked', 'bearer'], ['session.rotated', 'bearer']]);
    expect(all.map((r) => JSON.stringify(r)).join('\n')).not.toContain(first);
    const grace = all.filter((r) => r.user_id === 'grace' && r.path === '/api/items');
    expect(grace[0]?.session_id).not.toBe(visit);
  });
});
