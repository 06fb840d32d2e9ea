import { generateKeyPairSync } from 'node:crypto';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { EXPRESS_VERSIONS, storedActivities, testTracker } from './support/app';
import { openTestDatabase, resetTables, type TestDatabase } from './support/database';
import { bearer, MOUNT, REPORT_SECRET, reportApp, tokenFor } from './support/reports';
import type { ActivityTracker } from '../lib/tracker';

let db: TestDatabase;
beforeAll(async () => { db = await openTestDatabase(); });
afterAll(async () => { await db.destroy(); });
beforeEach(async () => { await resetTables(db.knex); });

/** Every report route, with parameters that make it answer 200 for a caller allowed to use it. */
const READER_ROUTES = [
  '/activities',
  '/stats',
  '/sessions/active',
  '/suspicious',
  '/entities/items/1/audit-trail',
  '/export',
  '/compliance-report?startDate=2026-11-01&endDate=2026-11-30',
];
const SELF_ROUTES = ['/me/sessions', '/me/summary'];
const ROLES = ['system_admin', 'admin', 'auditor', 'manager', 'user', 'viewer'];
const READERS = new Set(['system_admin', 'admin', 'auditor', 'manager']);

describe.each(EXPRESS_VERSIONS)('report route access with %s', (_name, express) => {
  let tracker: ActivityTracker;
  beforeEach(() => { tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET }); });
  afterEach(async () => { await tracker.close(); });

  describe.each(ROLES)('role %s', (role) => {
    it.each(READER_ROUTES)(`GET %s: 200 for readers, 403 for others`, async (route) => {
      const response = await request(reportApp(express, tracker)).get(`${MOUNT}${route}`).set(bearer(`${role}-1`, role));
      expect(response.status).toBe(READERS.has(role) ? 200 : 403);
      if (!READERS.has(role)) expect(response.body.error.code).toBe('ERR_AT_FORBIDDEN');
    });
    it.each(SELF_ROUTES)('GET %s: 200 for every signed-in user', async (route) => {
      const response = await request(reportApp(express, tracker)).get(`${MOUNT}${route}`).set(bearer(`${role}-1`, role));
      expect(response.status).toBe(200);
    });
  });

  it.each([...READER_ROUTES, ...SELF_ROUTES])('GET %s without a token: 401 with WWW-Authenticate', async (route) => {
    const response = await request(reportApp(express, tracker)).get(`${MOUNT}${route}`);
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(response.body.error.code).toBe('ERR_AT_UNAUTHENTICATED');
  });

  it('serves the OpenAPI document without a token, and 404 JSON for unknown report paths', async () => {
    const app = reportApp(express, tracker);
    const doc = await request(app).get(`${MOUNT}/openapi.json`);
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe('3.1.0');
    const missing = await request(app).get(`${MOUNT}/nothing-here`).set(bearer('a', 'admin'));
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('ERR_AT_NOT_FOUND');
  });
});

describe('bad tokens', () => {
  const express = EXPRESS_VERSIONS[1][1];
  const now = () => Math.floor(Date.now() / 1000);
  const unsigned = (claims: object) => `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`;
  const cases: Array<[string, () => string, string]> = [
    ['expired', () => jwt.sign({ sub: 'a', role: 'admin', exp: now() - 60 }, REPORT_SECRET, { algorithm: 'HS256' }), 'expired_token'],
    ['unsigned (alg none)', () => unsigned({ sub: 'a', role: 'admin', exp: now() + 600 }), 'unsigned_token'],
    ['signed with another secret', () => tokenFor('a', 'admin', {}, 'another-secret-that-is-long-enough'), 'bad_signature'],
    ['signed with HS512', () => jwt.sign({ sub: 'a', role: 'admin' }, REPORT_SECRET, { algorithm: 'HS512', expiresIn: '5m' }), 'bad_signature'],
    ['without exp', () => jwt.sign({ sub: 'a', role: 'admin' }, REPORT_SECRET, { algorithm: 'HS256' }), 'missing_exp'],
    ['not yet valid', () => jwt.sign({ sub: 'a', role: 'admin', nbf: now() + 600 }, REPORT_SECRET, { algorithm: 'HS256', expiresIn: '20m' }), 'not_yet_valid'],
    ['malformed', () => 'not-a-jwt', 'malformed_token'],
    ['garbage in three parts', () => 'abc.def.ghi', 'malformed_token'],
    ['without a subject', () => jwt.sign({ role: 'admin' }, REPORT_SECRET, { algorithm: 'HS256', expiresIn: '5m' }), 'missing_subject'],
  ];

  it.each(cases)('%s: 401, recorded as authz_fail with the reason', async (_label, make, reason) => {
    const tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET });
    try {
      const response = await request(reportApp(express, tracker)).get(`${MOUNT}/activities`).set('Authorization', `Bearer ${make()}`);
      expect(response.status).toBe(401);
      await tracker.flush();
      const rows = await storedActivities(db.knex);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ activity_type: 'authz_fail', status_code: 401, success: false, user_id: null });
      expect(rows[0]?.details?.['custom']).toMatchObject({ reason, route: `${MOUNT}/activities` });
    } finally {
      await tracker.close();
    }
  });

  it('a token without sub names its caller by a userId claim, and the read is on the trail under that user', async () => {
    const tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET });
    try {
      const token = jwt.sign({ userId: 'uma', role: 'auditor' }, REPORT_SECRET, { algorithm: 'HS256', expiresIn: '5m' });
      await request(reportApp(express, tracker)).get(`${MOUNT}/stats`).set('Authorization', `Bearer ${token}`).expect(200);
      await tracker.flush();
      const rows = await storedActivities(db.knex);
      expect(rows.map((row) => [row.activity_type, row.user_id])).toEqual([['audit_read', 'uma']]);
    } finally {
      await tracker.close();
    }
  });

  it('a 403 is recorded as authz_fail with the caller and the role', async () => {
    const tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET });
    try {
      await request(reportApp(express, tracker)).get(`${MOUNT}/stats`).set(bearer('bob', 'user')).expect(403);
      await tracker.flush();
      const [row] = await storedActivities(db.knex);
      expect(row).toMatchObject({ activity_type: 'authz_fail', user_id: 'bob', status_code: 403, action: 'report.forbidden' });
      expect(row?.details?.['custom']).toMatchObject({ reason: 'role_not_allowed', role: 'user' });
    } finally {
      await tracker.close();
    }
  });

  it('without the capture middleware the router records refusals and reads itself, once each', async () => {
    const tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET });
    try {
      const app = reportApp(express, tracker, { capture: false });
      await request(app).get(`${MOUNT}/activities`).expect(401);
      await request(app).get(`${MOUNT}/activities?userId=carol`).set(bearer('dave', 'auditor')).expect(200);
      await tracker.flush();
      const rows = await storedActivities(db.knex);
      expect(rows.map((r) => [r.activity_type, r.user_id, r.success])).toEqual([['authz_fail', null, false], ['audit_read', 'dave', true]]);
      expect(rows[1]?.details).toMatchObject({ filters: { userId: 'carol' }, statusCode: 200, path: `${MOUNT}/activities` });
    } finally {
      await tracker.close();
    }
  });

  it('checks iss and aud when configured', async () => {
    const tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET, jwtIssuer: 'https://id.example.com', jwtAudience: 'activity-reports' });
    try {
      const app = reportApp(express, tracker);
      const sign = (claims: object) => `Bearer ${jwt.sign({ sub: 'a', role: 'admin', ...claims }, REPORT_SECRET, { algorithm: 'HS256', expiresIn: '5m' })}`;
      await request(app).get(`${MOUNT}/activities`).set('Authorization', sign({ iss: 'https://id.example.com', aud: 'activity-reports' })).expect(200);
      await request(app).get(`${MOUNT}/activities`).set('Authorization', sign({ iss: 'https://evil.example.com', aud: 'activity-reports' })).expect(401);
      await request(app).get(`${MOUNT}/activities`).set('Authorization', sign({ iss: 'https://id.example.com', aud: 'something-else' })).expect(401);
      await request(app).get(`${MOUNT}/activities`).set('Authorization', sign({})).expect(401);
    } finally {
      await tracker.close();
    }
  });
});

describe('public-key tokens', () => {
  const express = EXPRESS_VERSIONS[1][1];
  it.each([['RS256', 'rsa'], ['ES256', 'ec']] as const)('%s with jwtPublicKey; the same key used as an HMAC secret is refused', async (algorithm, kind) => {
    const { publicKey, privateKey } = kind === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const tracker = testTracker(db.knex, { jwtPublicKey: publicPem, jwtAlgorithm: algorithm });
    try {
      const app = reportApp(express, tracker);
      const good = jwt.sign({ sub: 'a', role: 'auditor' }, privateKey, { algorithm, expiresIn: '5m' });
      await request(app).get(`${MOUNT}/activities`).set('Authorization', `Bearer ${good}`).expect(200);
      // The classic algorithm-confusion forgery: HS256 signed with the public key as the secret.
      const forged = `${Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'a', role: 'admin', exp: Math.floor(Date.now() / 1000) + 600 })).toString('base64url')}`;
      const { createHmac } = await import('node:crypto');
      const signature = createHmac('sha256', publicPem).update(forged).digest('base64url');
      await request(app).get(`${MOUNT}/activities`).set('Authorization', `Bearer ${forged}.${signature}`).expect(401);
    } finally {
      await tracker.close();
    }
  });
});

describe('authorize(req) for apps with their own auth', () => {
  const express = EXPRESS_VERSIONS[1][1];
  it('decides the caller and role; null is 401', async () => {
    const tracker = testTracker(db.knex, {
      authorize: (req) => {
        const who = req.headers['x-demo-user'];
        return typeof who === 'string' ? { userId: who, role: who === 'root' ? 'admin' : 'user' } : null;
      },
    });
    try {
      const app = reportApp(express, tracker);
      await request(app).get(`${MOUNT}/activities`).set('x-demo-user', 'root').expect(200);
      await request(app).get(`${MOUNT}/activities`).set('x-demo-user', 'jo').expect(403);
      await request(app).get(`${MOUNT}/me/sessions`).set('x-demo-user', 'jo').expect(200);
      await request(app).get(`${MOUNT}/activities`).expect(401);
    } finally {
      await tracker.close();
    }
  });

  it('refuses to build the router with no secret, key or authorize, saying which to set', async () => {
    const tracker = testTracker(db.knex);
    try {
      expect(() => tracker.router()).toThrow(expect.objectContaining({ code: 'ERR_AT_REPORT_AUTH_MISSING', message: expect.stringMatching(/ACTIVITY_JWT_SECRET.*jwtPublicKey.*authorize/s) }));
    } finally {
      await tracker.close();
    }
  });
});

describe('reads that fail are still on the trail', () => {
  const express = EXPRESS_VERSIONS[1][1];
  it('a rejected parameter leaves an audit_read row of the caller that did not succeed', async () => {
    const tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET });
    try {
      await request(reportApp(express, tracker)).get(`${MOUNT}/activities?limit=5000`).set(bearer('eve', 'auditor')).expect(400);
      await tracker.flush();
      const rows = await storedActivities(db.knex);
      expect(rows.map((r) => [r.activity_type, r.user_id, r.status_code, r.success])).toEqual([['audit_read', 'eve', 400, false]]);
      expect(rows[0]?.details?.['custom']).toEqual({ route: `${MOUNT}/activities`, role: 'auditor' });
    } finally {
      await tracker.close();
    }
  });
});

describe('with detailed tracking off', () => {
  const express = EXPRESS_VERSIONS[0][1];
  it('a read keeps its reader, role and filters; request details stay out', async () => {
    const tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET, detailedTracking: false });
    try {
      await request(reportApp(express, tracker)).get(`${MOUNT}/activities?userId=zoe&limit=5`).set(bearer('ann', 'manager')).set('Referer', 'https://x.test/').expect(200);
      await tracker.flush();
      const [row] = await storedActivities(db.knex);
      expect(row).toMatchObject({ activity_type: 'audit_read', user_id: 'ann' });
      expect(row?.details).toEqual({
        custom: { route: `${MOUNT}/activities`, role: 'manager', rows: 0, filters: { userId: 'zoe', limit: 5, offset: 0, orderBy: 'startTime', order: 'desc' } },
      });
    } finally {
      await tracker.close();
    }
  });
});
