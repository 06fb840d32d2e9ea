import { createHmac, generateKeyPairSync } from 'node:crypto';
import request from 'supertest';
import jwt from 'jsonwebtoken';
import { parse } from 'csv-parse/sync';
import { EXPRESS_VERSIONS, memoryLogger, storedActivities, testTracker, type ExpressFactory } from './support/app';
import { openTestDatabase, resetTables, type TestDatabase } from './support/database';
import { activity, bearer, MOUNT, REPORT_SECRET, reportApp, seed, tokenFor } from './support/reports';
import { TokenVerifier } from '../lib/auth/jwt';
import { cleanId, MAX_ID_LENGTH } from '../lib/util/ids';
import { createSanitizer } from '../lib/capture/sanitize';
import { csvCell, neutralizeFormula } from '../lib/router/csv';
import type { ActivityTracker } from '../lib/tracker';
import type { Options } from '../lib/types';

/**
 * Issue 12, section 6 (the smaller findings): ids with control characters, CSV cells a spreadsheet
 * would split or evaluate, undecodable path parameters on the report routes, and the token rules
 * capture names a user by.
 */
let db: TestDatabase;
beforeAll(async () => { db = await openTestDatabase(); });
afterAll(async () => { await db.destroy(); });
beforeEach(async () => { await resetTables(db.knex); });

const trackers: ActivityTracker[] = [];
const track = (options: Options = {}): ActivityTracker => {
  const tracker = testTracker(db.knex, options);
  trackers.push(tracker);
  return tracker;
};
afterEach(async () => { await Promise.all(trackers.splice(0).map((t) => t.close())); });

/** Any character the README promises is never stored raw. */
const RAW_UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

describe('ids are cleaned like every recorded string', () => {
  it('escapes exactly what the sanitizer escapes in text, caps at 255 without splitting an escape or a pair, and is idempotent', () => {
    const sanitizer = createSanitizer();
    // Every BMP character but the surrogates: ASCII one at a time (digits and = could start a redaction
    // that is not the point here), the rest 40 to a chunk, which stays under the cap even fully escaped.
    const differ: string[] = [];
    for (let c = 0; c < 0x80; c++) {
      const text = `a${String.fromCharCode(c)}b`;
      if (cleanId(text) !== sanitizer.text(text)) differ.push(JSON.stringify(text));
    }
    let chunk = '';
    for (let c = 0x80; c <= 0x10000; c++) {
      if (c < 0x10000 && !(c >= 0xd800 && c <= 0xdfff)) chunk += String.fromCharCode(c);
      if (chunk.length === 40 || (c === 0x10000 && chunk !== '')) {
        if (cleanId(chunk) !== sanitizer.text(chunk)) differ.push(JSON.stringify(chunk));
        chunk = '';
      }
    }
    expect(differ).toEqual([]);
    expect(cleanId('bob\r\nadmin')).toBe('bob\\r\\nadmin');
    expect(cleanId('x\u202eevil')).toBe('x\\u202eevil');
    expect(cleanId('nul\u0000byte')).toBe('nul\\u0000byte');
    expect(cleanId(42)).toBe('42');
    // A numeric id that passes the Luhn check is an id, not a card: kept whole so reports find it.
    expect(cleanId('4111111111111111')).toBe('4111111111111111');
    expect(cleanId('a'.repeat(300))).toBe('a'.repeat(MAX_ID_LENGTH));
    const escapes = cleanId('\u0000'.repeat(100));
    expect(escapes).toBe('\\u0000'.repeat(Math.floor(MAX_ID_LENGTH / 6)));
    const pairs = cleanId(`${'a'.repeat(MAX_ID_LENGTH - 1)}😀`);
    expect(pairs).toBe('a'.repeat(MAX_ID_LENGTH - 1));
    for (const id of ['bob\r\nadmin', 'x\u202e', '\u0000'.repeat(100), 'plain', 'back\\slash']) expect(cleanId(cleanId(id))).toBe(cleanId(id));
  });

  describe.each(EXPRESS_VERSIONS)('on %s', (_name, express) => {
    const HOSTILE = ['bob\r\nadmin', 'eve\u202etxt.exe', 'nul\u0000user'];

    function hostileApp(tracker: ActivityTracker): ReturnType<ExpressFactory> {
      const app = express();
      app.use(tracker.middleware());
      // Auth mounted after the tracker names the user from the query: any string an app could hold.
      app.use((req: any, _res, next) => {
        if (typeof req.query.user === 'string') req.user = { id: req.query.user };
        next();
      });
      app.get('/page', (_req, res) => { res.send('ok'); });
      app.get('/override', (req: any, res) => {
        req.activity.userId = req.query.as;
        req.activity.tenantId = req.query.as;
        req.activity.action = `act:${req.query.as}`;
        req.activity.entityType = 'thing';
        req.activity.entityId = req.query.as;
        res.send('ok');
      });
      app.post('/event', async (req: any, res) => {
        const id = String(req.query.as);
        await req.activity.record({ action: 'thing.done', userId: id, sessionId: id, tenantId: id, ownerId: id, entityType: 'thing', entityId: id });
        res.send('ok');
      });
      return app;
    }

    it('stores user, session, tenant, owner and actor ids with CR/LF, U+202E and NUL escaped, and keeps every row', async () => {
      const tracker = track({ getTenantId: (req: any) => (typeof req.query.tenant === 'string' ? req.query.tenant : null), tenants: 'optional' });
      const app = hostileApp(tracker);
      for (const id of HOSTILE) {
        await request(app).get('/page').query({ user: id, tenant: id }).expect(200);
        await request(app).get('/override').query({ as: id }).expect(200);
        await request(app).post('/event').query({ as: id }).expect(200);
      }
      await tracker.record({ action: 'direct.event', userId: 'nul\u0000direct', sessionId: 's\r\n1', tenantId: 't\u202e1' });
      await tracker.flush();
      const rows = await storedActivities(db.knex);
      // Three requests and one linked event per id, plus the direct event: none refused.
      expect(rows).toHaveLength(HOSTILE.length * 4 + 1);
      expect(rows.filter((r) => r.path === '/event').map((r) => r.user_id)).toEqual(HOSTILE.map(() => null));
      const all = await db.knex('user_activity').select('user_id', 'session_id', 'tenant_id', 'owner_id', 'entity_id', 'action');
      for (const row of all) for (const value of Object.values(row)) expect(RAW_UNSAFE.test(String(value ?? ''))).toBe(false);
      const sessions = await db.knex('activity_sessions').select('user_id', 'session_id', 'tenant_id');
      for (const row of sessions) for (const value of Object.values(row)) expect(RAW_UNSAFE.test(String(value ?? ''))).toBe(false);
      for (const id of HOSTILE) {
        const escaped = cleanId(id);
        const mine = rows.filter((r) => r.user_id === escaped);
        // GET /page (req.user), GET /override (req.activity) and the event recorded by POST /event (actor.id).
        expect(mine.map((r) => r.path ?? r.action)).toEqual(['/page', '/override', 'thing.done']);
        expect(mine.map((r) => (r as unknown as { tenant_id: string }).tenant_id)).toEqual([escaped, escaped, escaped]);
        expect(mine[1]).toMatchObject({ action: `act:${escaped}`, entity_id: escaped });
      }
      const direct = rows.find((r) => r.action === 'direct.event') as unknown as { user_id: string; session_id: string; tenant_id: string };
      expect(direct).toMatchObject({ user_id: 'nul\\u0000direct', session_id: 's\\r\\n1', tenant_id: 't\\u202e1' });
      const linked = await db.knex('user_activity').where({ action: 'thing.done', user_id: cleanId('nul\u0000user') }).first();
      expect(linked).toMatchObject({ session_id: 'nul\\u0000user', tenant_id: 'nul\\u0000user', owner_id: 'nul\\u0000user', entity_id: 'nul\\u0000user' });
    });

    it('lets reports filter by an id as they show it, and finds the rows of a caller whose token names such an id', async () => {
      const tracker = track({ jwtSecret: REPORT_SECRET });
      const app = hostileApp(tracker);
      app.use(MOUNT, tracker.router());
      await request(app).get('/page').query({ user: 'bob\r\nadmin' }).expect(200);
      await request(app).get('/page').query({ user: 'bob' }).expect(200);
      await tracker.flush();
      const listed = await request(app).get(`${MOUNT}/activities`).query({ userId: 'bob\\r\\nadmin' }).set(bearer('aud-1', 'auditor')).expect(200);
      const listedRows = listed.body.data as Array<{ userId: string; path: string | null }>;
      expect(new Set(listedRows.map((r) => r.userId))).toEqual(new Set(['bob\\r\\nadmin']));
      expect(listedRows.filter((r) => r.path === '/page')).toHaveLength(1);
      // Raw control characters are no id a report shows: refused, as before, naming the parameter.
      const raw = await request(app).get(`${MOUNT}/activities`).query({ userId: 'bob\r\nadmin' }).set(bearer('aud-1', 'auditor')).expect(400);
      expect(raw.body.error).toMatchObject({ code: 'ERR_AT_INVALID_PARAM', param: 'userId' });

      // A token whose subject holds CR/LF: capture stores it escaped, /me/* reads by the same form.
      const eve = { Authorization: `Bearer ${tokenFor('eve\r\n\u202eroot', 'viewer')}` };
      await request(app).get('/page').set(eve).expect(200);
      await tracker.flush();
      const summary = await request(app).get(`${MOUNT}/me/summary`).set(eve).expect(200);
      expect(summary.body.data.userId).toBe('eve\\r\\n\\u202eroot');
      expect(summary.body.data.totalActivities).toBeGreaterThanOrEqual(1);
    });
  });
});

/** Cells of a CSV document with whether each was quoted, read by hand as RFC 4180 has it. */
function rawCells(text: string): Array<Array<{ value: string; quoted: boolean }>> {
  const records: Array<Array<{ value: string; quoted: boolean }>> = [];
  let record: Array<{ value: string; quoted: boolean }> = [];
  let i = 0;
  while (i < text.length) {
    let value = '';
    let quoted = false;
    if (text[i] === '"') {
      quoted = true;
      i++;
      for (;;) {
        const at = text.indexOf('"', i);
        if (at === -1) throw new Error('unterminated quote');
        value += text.slice(i, at);
        if (text[at + 1] === '"') { value += '"'; i = at + 2; continue; }
        i = at + 1;
        break;
      }
    } else {
      let end = i;
      while (end < text.length && text[end] !== ',' && text[end] !== '\r' && text[end] !== '\n') end++;
      value = text.slice(i, end);
      i = end;
    }
    record.push({ value, quoted });
    if (text[i] === ',') { i++; continue; }
    if (text[i] === '\n') i += 1;
    else if (i < text.length) throw new Error(`unexpected ${JSON.stringify(text[i])} at ${i}`);
    records.push(record);
    record = [];
  }
  return records;
}

/** What a spreadsheet would evaluate: a cell that, once split on any list separator or line, opens with a trigger. */
function formulaParts(cell: string): string[] {
  return cell.split(/[,;\t\r\n]/).filter((part) => /^[\s\u0000-\u001f\u007f-\u00a0\u200b-\u200f\u2028-\u202f\u2060-\u206f\ufeff]*[=+\-@\uFF1D\uFF0B\uFF0D\uFF20]/.test(part));
}

describe('CSV cells a spreadsheet would split or evaluate', () => {
  const RISKY = [
    '\n=HYPERLINK("http://evil")', ';=1+1', 'a;=1+1', 'a,+1', 'x\r\n@SUM(A1)', ' =1', '\u00a0=1', '\u200b=1', '\u202e=1',
    'a; \t-1', '\uFF1D1+1', 'ok,\u3000\uFF20x', '\t', '\nplain', '=1', '-2', '@x', '+1',
  ];
  const SAFE = ['a=b', 'x-y', '2026-11-20', 'alice@example.com', "'=already quoted", '', 'a; b', 'Mozilla/5.0 (X11; Linux x86_64)', '/api/items/1?x=-1'];

  it('prefixes every cell with a trigger at its start or after a separator, behind any invisible characters, and no other', () => {
    for (const cell of RISKY) expect([cell, neutralizeFormula(cell)]).toEqual([cell, `'${cell}`]);
    for (const cell of SAFE) expect([cell, neutralizeFormula(cell)]).toEqual([cell, cell]);
    expect(csvCell([1, -2])).toBe("'[1,-2]");
    expect(csvCell(-2)).toBe('-2');
  });

  it('scans a long hostile cell in linear time', () => {
    const cell = `${';\t '.repeat(200_000)}x`;
    const started = performance.now();
    expect(neutralizeFormula(cell)).toBe(cell);
    expect(performance.now() - started).toBeLessThan(500);
  });

  describe.each(EXPRESS_VERSIONS)('GET /export and the compliance CSV (%s)', (_name, express) => {
    it('quotes every non-empty cell and neutralizes every risky one, read back by csv-parse and cell by cell', async () => {
      const at = Date.parse('2026-11-20T10:00:00Z');
      await seed(db.knex, RISKY.map((text, i) => activity({
        startTime: at + i * 1000, userId: text === '' ? 'x' : text, entityId: text, path: text, userAgent: text, details: { note: text },
        activityType: 'login_failed', statusCode: 401, success: false,
      })));
      const tracker = track({ jwtSecret: REPORT_SECRET });
      const app = reportApp(express, tracker, { capture: false });
      const exported = await request(app).get(`${MOUNT}/export?order=asc`).set(bearer('aud-1', 'auditor')).buffer(true).expect(200);
      const compliance = await request(app).get(`${MOUNT}/compliance-report`)
        .query({ startDate: '2026-11-19', endDate: '2026-11-21', format: 'csv' }).set(bearer('aud-1', 'auditor')).buffer(true).expect(200);

      for (const text of [exported.text, compliance.text]) {
        const parsed = parse(text, { relax_column_count: false, bom: false }) as string[][];
        const cells = rawCells(text);
        // The hand reader and csv-parse agree on every cell.
        expect(cells.map((r) => r.map((c) => c.value))).toEqual(parsed);
        for (const row of cells) {
          for (const cell of row) {
            if (cell.value !== '') expect([cell.value, cell.quoted]).toEqual([cell.value, true]);
            // Whatever a spreadsheet splits the cell on, any part that would open with a trigger is behind a leading quote.
            if (formulaParts(cell.value).length > 0 || /^[\t\r\n]/.test(cell.value)) expect(cell.value.startsWith("'")).toBe(true);
          }
        }
      }

      const [header, ...body] = parse(exported.text) as string[][];
      const column = (name: string): string[] => body.map((r) => r[header!.indexOf(name)]!);
      expect(body).toHaveLength(RISKY.length);
      expect(column('entityId')).toEqual(RISKY.map((text) => `'${text}`));
      expect(column('userAgent')).toEqual(RISKY.map((text) => `'${text}`));
      // The compliance CSV names the failing accounts: ';=1+1' is among them, quoted and neutralized.
      const failing = (parse(compliance.text) as string[][]).filter((r) => r[0] === 'topFailingAccounts').map((r) => r[1]);
      expect(failing).toContain("';=1+1");
      expect(compliance.text).toContain(`"';=1+1"`);
    });
  });
});

describe.each(EXPRESS_VERSIONS)('undecodable path parameters on the report routes (%s)', (_name, express) => {
  const CASES = [
    { method: 'get' as const, path: '/entities/items/%_%/audit-trail', param: 'entityId', role: 'auditor', wrongRole: 'viewer' },
    { method: 'get' as const, path: '/entities/%E0%A4%A/1/audit-trail', param: 'entityType', role: 'auditor', wrongRole: 'viewer' },
    { method: 'post' as const, path: '/alerts/%E0%A4%A/acknowledge', param: 'id', role: 'admin', wrongRole: 'auditor' },
  ];

  it('answers 401 without a caller, 403 for a wrong role and 400 naming the parameter otherwise, never 500, and stores no error row', async () => {
    const logger = memoryLogger();
    const tracker = track({ jwtSecret: REPORT_SECRET, logger });
    const app = reportApp(express, tracker);
    const statuses: number[] = [];
    for (const c of CASES) {
      const anonymous = await request(app)[c.method](`${MOUNT}${c.path}`);
      expect([c.path, anonymous.status, anonymous.body.error?.code]).toEqual([c.path, 401, 'ERR_AT_UNAUTHENTICATED']);
      const wrong = await request(app)[c.method](`${MOUNT}${c.path}`).set(bearer('someone', c.wrongRole));
      expect([c.path, wrong.status]).toEqual([c.path, 403]);
      const bad = await request(app)[c.method](`${MOUNT}${c.path}`).set(bearer('reader-1', c.role));
      expect([c.path, bad.status]).toEqual([c.path, 400]);
      expect(bad.body).toEqual({ error: { code: 'ERR_AT_INVALID_PARAM', param: c.param, message: expect.stringContaining(`"${c.param}" is not valid percent-encoding`) } });
      statuses.push(anonymous.status, wrong.status, bad.status);
    }
    // Well-formed encoding still reaches the route.
    await request(app).get(`${MOUNT}/entities/items/item%2D1/audit-trail`).set(bearer('reader-1', 'auditor')).expect(200);
    await tracker.flush();
    const rows = await storedActivities(db.knex);
    const probes = rows.filter((r) => r.path !== null && /%_%|%E0%A4%A/.test(r.path));
    expect(probes.map((r) => r.status_code)).toEqual(statuses);
    expect(probes.every((r) => r.activity_type !== 'error' && r.success === false)).toBe(true);
    expect(probes.map((r) => r.activity_type)).toEqual(CASES.flatMap(() => ['authz_fail', 'authz_fail', 'audit_read']));
    expect(probes.some((r) => (r.details as { captureFailed?: boolean } | null)?.captureFailed)).toBe(false);
    expect(rows.some((r) => r.activity_type === 'error' || (r.status_code ?? 0) >= 500)).toBe(false);
    expect(logger.lines.filter((l) => l.level === 'error')).toEqual([]);
  });
});

describe.each(EXPRESS_VERSIONS)('the user capture names from a bearer token (%s)', (_name, express) => {
  const ISSUER = 'https://id.example.test';
  const AUDIENCE = 'activity-reports';
  const now = (): number => Math.floor(Date.now() / 1000);

  function tokens(sign: (claims: Record<string, unknown>) => string): Array<[string, string, boolean]> {
    return [
      ['valid', sign({ sub: 'valid-user', role: 'viewer', iss: ISSUER, aud: AUDIENCE, exp: now() + 300 }), true],
      ['expired 10 s ago', sign({ sub: 'expired-user', role: 'viewer', iss: ISSUER, aud: AUDIENCE, exp: now() - 10 }), false],
      ['wrong issuer', sign({ sub: 'issuer-user', role: 'viewer', iss: 'https://evil.test', aud: AUDIENCE, exp: now() + 300 }), false],
      ['wrong audience', sign({ sub: 'audience-user', role: 'viewer', iss: ISSUER, aud: 'another-app', exp: now() + 300 }), false],
      ['no exp', sign({ sub: 'forever-user', role: 'viewer', iss: ISSUER, aud: AUDIENCE }), false],
      ['not yet valid', sign({ sub: 'future-user', role: 'viewer', iss: ISSUER, aud: AUDIENCE, nbf: now() + 60, exp: now() + 300 }), false],
    ];
  }

  async function expectSameRules(options: Options, sign: (claims: Record<string, unknown>) => string): Promise<void> {
    const tracker = track({ ...options, jwtIssuer: ISSUER, jwtAudience: AUDIENCE });
    const app = reportApp(express, tracker);
    app.get('/page', (_req, res) => { res.send('ok'); });
    const cases = tokens(sign);
    const answers: Array<[string, number]> = [];
    for (const [name, token] of cases) {
      await request(app).get('/page').set('Authorization', `Bearer ${token}`).expect(200);
      answers.push([name, (await request(app).get(`${MOUNT}/me/summary`).set('Authorization', `Bearer ${token}`)).status]);
    }
    await tracker.flush();
    const rows = (await storedActivities(db.knex)).filter((r) => r.path === '/page');
    expect(rows.map((r, i) => [cases[i]![0], r.user_id])).toEqual(cases.map(([name, , valid]) => [name, valid ? 'valid-user' : null]));
    // The report routes take exactly the same tokens.
    expect(answers).toEqual(cases.map(([name, , valid]) => [name, valid ? 200 : 401]));
    // And the 401 rows of the refused ones name no user either.
    const refused = (await storedActivities(db.knex)).filter((r) => r.activity_type === 'authz_fail');
    expect(refused.map((r) => r.user_id)).toEqual(cases.filter(([, , valid]) => !valid).map(() => null));
  }

  it('with an HS256 secret: only a token the report routes accept names the user', async () => {
    await expectSameRules({ jwtSecret: REPORT_SECRET }, (claims) => jwt.sign(claims, REPORT_SECRET, { algorithm: 'HS256' }));
  });

  it('with a public key: the same rules, and capture now names the user of an RS256 token', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await expectSameRules(
      { jwtPublicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(), jwtAlgorithm: 'RS256' },
      (claims) => jwt.sign(claims, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), { algorithm: 'RS256' }),
    );
  });
});

describe('TokenVerifier, the one check for report routes and capture', () => {
  const rules = { key: REPORT_SECRET, algorithm: 'HS256' as const, issuer: 'iss-a', audience: 'aud-a', clockToleranceSeconds: 5 };
  const t0 = Date.UTC(2026, 10, 20, 10, 0, 0);
  const sec = Math.floor(t0 / 1000);
  const sign = (claims: Record<string, unknown>): string => jwt.sign({ iat: sec, ...claims }, REPORT_SECRET, { algorithm: 'HS256' });

  it('holds a remembered token to its exp and nbf, with the configured tolerance, as jsonwebtoken counts them', () => {
    const verifier = new TokenVerifier(rules);
    const token = sign({ sub: 'u', iss: 'iss-a', aud: 'aud-a', nbf: sec + 10, exp: sec + 60 });
    expect(verifier.verify(token, t0)).toEqual({ ok: false, reason: 'not_yet_valid' });
    expect(verifier.verify(token, t0 + 5_000)).toMatchObject({ ok: true });
    expect(verifier.verify(token, t0 + 64_999)).toMatchObject({ ok: true });
    expect(verifier.verify(token, t0 + 65_000)).toEqual({ ok: false, reason: 'expired_token' });
    // The same answers jsonwebtoken gives at those instants.
    for (const at of [t0, t0 + 5_000, t0 + 64_999, t0 + 65_000]) {
      let plain: string;
      try {
        jwt.verify(token, REPORT_SECRET, { algorithms: ['HS256'], issuer: 'iss-a', audience: 'aud-a', clockTolerance: 5, clockTimestamp: Math.floor(at / 1000) });
        plain = 'ok';
      } catch (error) {
        plain = (error as Error).name;
      }
      const ours = verifier.verify(token, at);
      expect([at, ours.ok ? 'ok' : ours.reason]).toEqual([at, { ok: 'ok', NotBeforeError: 'not_yet_valid', TokenExpiredError: 'expired_token' }[plain]]);
    }
  });

  it('reports the reasons in jsonwebtoken\'s order, and names no user without exp', () => {
    const verifier = new TokenVerifier(rules);
    expect(verifier.verify(sign({ sub: 'u', iss: 'other', aud: 'aud-a', exp: sec - 60 }), t0)).toEqual({ ok: false, reason: 'expired_token' });
    expect(verifier.verify(sign({ sub: 'u', iss: 'other', aud: 'aud-a', exp: sec + 60 }), t0)).toEqual({ ok: false, reason: 'wrong_issuer' });
    expect(verifier.verify(sign({ sub: 'u', iss: 'iss-a', aud: 'other', exp: sec + 60 }), t0)).toEqual({ ok: false, reason: 'wrong_audience' });
    expect(verifier.verify(sign({ sub: 'u', iss: 'iss-a', aud: 'aud-a' }), t0)).toEqual({ ok: false, reason: 'missing_exp' });
    // jwt.sign refuses a non-numeric exp, so this one is signed by hand.
    const body = `${Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'u', iss: 'iss-a', aud: 'aud-a', exp: 'soon' })).toString('base64url')}`;
    const textExp = `${body}.${createHmac('sha256', REPORT_SECRET).update(body).digest('base64url')}`;
    expect(verifier.verify(textExp, t0)).toEqual({ ok: false, reason: 'malformed_token' });
    expect(verifier.verify(jwt.sign({ sub: 'u', exp: sec + 60 }, 'another-secret-of-enough-length!', { algorithm: 'HS256' }), t0)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifier.verify('a.b', t0)).toEqual({ ok: false, reason: 'malformed_token' });
  });
});
