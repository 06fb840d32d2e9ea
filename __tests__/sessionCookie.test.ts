import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import request from 'supertest';
import { memoryLogger, storedActivities, testTracker } from './support/app';
import { runScript } from './support/child';
import { openTestDatabase, resetTables, type TestDatabase } from './support/database';
import { withEnv } from './support/env';
import { createActivityTracker, type ActivityTracker } from '../lib/tracker';
import type { Options } from '../lib/types';

/**
 * Issue 12, section 6: the package's session cookie is `<id>.<HMAC>`; a cookie the server did not
 * sign (another user's 32-hex session id, say) is ignored and the request gets a session of its own.
 */

const SECRET = 'one secret shared by every process of the app';
let db: TestDatabase;
beforeAll(async () => { db = await openTestDatabase(); });
afterAll(async () => { await db.destroy(); });
beforeEach(async () => { await resetTables(db.knex); });

const trackers: ActivityTracker[] = [];
afterEach(async () => { await Promise.all(trackers.splice(0).map((t) => t.close())); });
function track(options: Options = {}): ActivityTracker {
  const tracker = testTracker(db.knex, { dataDir: mkdtempSync(path.join(os.tmpdir(), 'activity-sid-')), ...options });
  trackers.push(tracker);
  return tracker;
}

function appWith(tracker: ActivityTracker): express.Express {
  const app = express();
  app.use(tracker.middleware());
  app.use((req, _res, next) => {
    const user = req.headers['x-test-user'];
    if (typeof user === 'string') (req as { user?: unknown }).user = { id: user };
    next();
  });
  app.get('/page', (_req, res) => { res.type('html').send('ok'); });
  return app;
}

/** The value of the package cookie a response set, or null when it set none. */
function issuedCookie(response: request.Response): string | null {
  const header = response.headers['set-cookie'] as unknown as string[] | undefined;
  const match = /(?:^|,)activity_sid=([^;]+);/.exec(String(header ?? ''));
  return match ? (match[1] as string) : null;
}

async function sessionsByUser(tracker: ActivityTracker): Promise<Record<string, string[]>> {
  await tracker.flush();
  const byUser: Record<string, string[]> = {};
  for (const row of await storedActivities(db.knex)) (byUser[row.user_id ?? 'anonymous'] ??= []).push(row.session_id as string);
  return byUser;
}

describe('the package session cookie', () => {
  it("ignores a cookie it did not sign: another user's session id, bare or with a made-up or borrowed signature, starts a session of its own", async () => {
    const tracker = track();
    const app = appWith(tracker);
    const alice = await request(app).get('/page').set('User-Agent', 'alice-browser').set('X-Test-User', 'alice');
    const aliceCookie = issuedCookie(alice);
    expect(aliceCookie).toMatch(/^[0-9a-f]{32}\.[\w-]{22}$/);
    const aliceSession = (aliceCookie as string).slice(0, 32);
    const mallory = await request(app).get('/page').set('User-Agent', 'mallory-cli').set('X-Test-User', 'mallory');
    const malloryMac = (issuedCookie(mallory) as string).slice(33);

    const forged = [
      aliceSession, // what every earlier version accepted
      `${aliceSession}.${'A'.repeat(22)}`,
      `${aliceSession}.${malloryMac}`, // a genuine signature, of another id
      `${aliceSession.toUpperCase()}.${(aliceCookie as string).slice(33)}`,
      `${aliceCookie}x`,
    ];
    for (const value of forged) {
      const response = await request(app).get('/page').set('Cookie', `activity_sid=${value}`).set('User-Agent', 'mallory-cli').set('X-Test-User', 'mallory');
      // Treated as no cookie: the request is given a session, and a signed cookie for it.
      expect(issuedCookie(response)).toMatch(/^[0-9a-f]{32}\.[\w-]{22}$/);
      expect(issuedCookie(response)?.slice(0, 32)).not.toBe(aliceSession);
    }
    const sessions = await sessionsByUser(tracker);
    expect(sessions['alice']).toEqual([aliceSession]);
    expect(sessions['mallory']).toHaveLength(1 + forged.length);
    expect(sessions['mallory']).not.toContain(aliceSession);
  });

  it('continues the session of a cookie it signed, from another user agent too, and sets no new cookie', async () => {
    const tracker = track();
    const app = appWith(tracker);
    const cookie = issuedCookie(await request(app).get('/page').set('User-Agent', 'browser/1').set('X-Test-User', 'alice')) as string;
    const next = await request(app).get('/page').set('Cookie', `theme=dark; activity_sid=${cookie}`).set('User-Agent', 'browser/2').set('X-Test-User', 'alice');
    expect(issuedCookie(next)).toBeNull();
    expect((await sessionsByUser(tracker))['alice']).toEqual([cookie.slice(0, 32), cookie.slice(0, 32)]);
  });

  it('is accepted by every tracker given the same sessionSecret (option or ACTIVITY_SESSION_SECRET), and by no other', async () => {
    const first = track({ sessionSecret: SECRET });
    const second = track({ sessionSecret: SECRET });
    const fromEnv = await withEnv({ ACTIVITY_SESSION_SECRET: SECRET }, async () => track());
    const other = track({ sessionSecret: 'another secret of enough length' });
    const cookie = issuedCookie(await request(appWith(first)).get('/page').set('X-Test-User', 'alice').set('User-Agent', 'a')) as string;
    for (const tracker of [second, fromEnv]) {
      const response = await request(appWith(tracker)).get('/page').set('Cookie', `activity_sid=${cookie}`).set('X-Test-User', 'alice').set('User-Agent', 'b');
      expect(issuedCookie(response)).toBeNull();
    }
    const refused = await request(appWith(other)).get('/page').set('Cookie', `activity_sid=${cookie}`).set('X-Test-User', 'alice').set('User-Agent', 'c');
    expect(issuedCookie(refused)?.slice(0, 32)).not.toBe(cookie.slice(0, 32));
    for (const tracker of [first, second, fromEnv, other]) await tracker.flush();
    expect((await storedActivities(db.knex)).map((r) => r.session_id)).toEqual([
      cookie.slice(0, 32), cookie.slice(0, 32), cookie.slice(0, 32), issuedCookie(refused)?.slice(0, 32),
    ]);
  });

  it('without a secret, signs with a key generated once under the data folder (0600), which every tracker on that folder shares', async () => {
    const dataDir = path.join(mkdtempSync(path.join(os.tmpdir(), 'activity-sid-')), 'data');
    const first = track({ dataDir });
    const keyFile = path.join(dataDir, 'session-key');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(keyFile, 'utf8')).toMatch(/^[0-9a-f]{64}\n$/);
    const cookie = issuedCookie(await request(appWith(first)).get('/page').set('User-Agent', 'a')) as string;
    await first.close();
    // A restart, or another process of the app on the same folder.
    const second = track({ dataDir });
    expect(issuedCookie(await request(appWith(second)).get('/page').set('Cookie', `activity_sid=${cookie}`).set('User-Agent', 'b'))).toBeNull();
    // Another data folder has another key.
    const elsewhere = track();
    expect(issuedCookie(await request(appWith(elsewhere)).get('/page').set('Cookie', `activity_sid=${cookie}`).set('User-Agent', 'c'))).not.toBeNull();
  });

  it('creates one key when several processes start on a new data folder at the same moment', async () => {
    const dataDir = path.join(mkdtempSync(path.join(os.tmpdir(), 'activity-sid-')), 'data');
    const startAt = String(Date.now() + 1500);
    const children = Array.from({ length: 6 }, () => runScript('sessionKeyChild.ts', [dataDir, startAt]));
    const exits = await Promise.all(children.map((c) => c.exited));
    expect(exits.map((e) => e.code)).toEqual(children.map(() => 0));
    const keys = new Set(children.map((c) => c.output().trim()));
    expect(keys.size).toBe(1);
    expect([...keys][0]).toBe(readFileSync(path.join(dataDir, 'session-key'), 'utf8').trim());
    // No temporary file is left behind.
    expect(readdirSync(dataDir)).toEqual(['session-key']);
  }, 30_000);

  it('sets no key file when the package cookie is off', async () => {
    const dataDir = path.join(mkdtempSync(path.join(os.tmpdir(), 'activity-sid-')), 'data');
    track({ dataDir, sessionCookie: false });
    expect(existsSync(path.join(dataDir, 'session-key'))).toBe(false);
  });

  it('refuses at start-up a secret that is too short or not a string, naming the option and the fix but never the secret', () => {
    const attempt = (options: Options, env: Record<string, string | undefined> = {}) => {
      const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
      Object.assign(process.env, env);
      try {
        createActivityTracker({ database: db.knex, logger: memoryLogger(), ...options });
        return null;
      } catch (error) {
        return error as Error & { code?: string };
      } finally {
        for (const [k, v] of Object.entries(saved)) { if (v === undefined) delete process.env[k]; else process.env[k] = v; }
      }
    };
    const short = attempt({ sessionSecret: 'short-secret' });
    expect(short?.code).toBe('ERR_AT_INVALID_OPTION');
    expect(short?.message).toMatch(/^Invalid sessionSecret: \[hidden\]\. Fix: it has 12 characters; use at least 16 random characters/);
    expect(short?.message).not.toContain('short-secret');
    const wrongType = attempt({ sessionSecret: 1234567890123456789 as unknown as string });
    expect(wrongType?.message).toMatch(/^Invalid sessionSecret: \[hidden\]\. Fix: it is a number; pass a string of at least 16 random characters/);
    expect(wrongType?.message).not.toContain('123456789');
    const fromEnv = attempt({}, { ACTIVITY_SESSION_SECRET: 'too-short' });
    expect(fromEnv?.message).toMatch(/^Invalid ACTIVITY_SESSION_SECRET: \[hidden\]\. Fix: it has 9 characters/);
  });
});
