import request from 'supertest';
import jwt from 'jsonwebtoken';
import { EXPRESS_VERSIONS, storedActivities, testTracker } from './support/app';
import { dumpAllRows, openTestDatabase, resetTables, type TestDatabase } from './support/database';

let db: TestDatabase;
beforeAll(async () => { db = await openTestDatabase(); });
afterAll(async () => { await db.destroy(); });

/** Values that must never reach storage, each unique enough to search for. */
const CANARY = {
  password: 'CANARY-password-5f1c',
  nestedToken: 'CANARY-nested-token-9a2e',
  apiKey: 'CANARY-api-key-77c3',
  cookie: 'CANARY-cookie-value-1b8d',
  queryToken: 'CANARY-query-token-4e6f',
  cvv: '9371',
  cpf: 'CANARY-cpf-123.456.789-09',
  headerSecret: 'CANARY-client-secret-2d4a',
  card: '4111111111111111',
  cardSpaced: '4111 1111 1111 1111',
  cardDashed: '5500-0000-0000-0004',
};
/**
 * Whether the dump holds the value as a value of its own: a short canary such as the CVV can turn up
 * by chance inside a hash, an id or a decimal, which is not a leak.
 */
function holds(dump: string, value: string): boolean {
  const escaped = value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(?<![0-9A-Za-z.])${escaped}(?![0-9A-Za-z])`).test(dump);
}

const JWT = jwt.sign({ sub: 'someone', canary: 'x' }, 'a-signing-secret-that-is-long-enough', { expiresIn: '1h' });
const JWT_SIGNATURE = JWT.split('.')[2]!;

describe.each(EXPRESS_VERSIONS)('secrets never reach storage, on %s', (_name, express) => {
  beforeEach(async () => { await resetTables(db.knex); });

  it('redacts canaries planted in bodies, query strings, headers, cookies, paths and free text', async () => {
    const tracker = testTracker(db.knex, {
      // Even when an app asks to keep sensitive headers, their values are redacted.
      headers: ['authorization', 'cookie', 'x-api-key', 'x-client-secret', 'user-agent', 'referer'],
      sensitiveKeys: ['cpf'],
    });
    const app = express();
    app.use(tracker.middleware());
    app.use(express.json());
    app.use(express.urlencoded({ extended: true }));
    app.post('/api/accounts/:id', (_req, res) => { res.status(201).json({ ok: true }); });
    app.post('/login', (_req, res) => { res.status(401).json({ ok: false }); });
    app.get('/reset/:token', (_req, res) => { res.json({ ok: true }); });

    await request(app)
      .post(`/api/accounts/1?access_token=${CANARY.queryToken}&page=2`)
      .set('Authorization', `Bearer ${JWT}`)
      .set('Cookie', `sid=${CANARY.cookie}; theme=dark`)
      .set('X-API-Key', CANARY.apiKey)
      .set('X-Client-Secret', CANARY.headerSecret)
      .set('Referer', `https://example.test/back?password=${CANARY.password}`)
      .send({
        user: { profile: { settings: [{ Password: CANARY.password }, { auth: { refresh_token: CANARY.nestedToken } }] } },
        payment: { card_number: CANARY.card, CVV: CANARY.cvv, holder: 'Ada' },
        cpf: CANARY.cpf,
        note: `pay with ${CANARY.cardSpaced} or ${CANARY.cardDashed}, my token is ${JWT}`,
      });
    await request(app).post('/login').type('form').send(`username=ada&password=${CANARY.password}`);
    await request(app).get(`/reset/${JWT}`);
    await tracker.flush();
    await tracker.close();

    const everything = await dumpAllRows(db.knex);
    expect(everything.length).toBeGreaterThan(500);
    for (const [name, value] of Object.entries(CANARY)) {
      expect({ name, found: holds(everything, value) }).toEqual({ name, found: false });
    }
    expect(everything).not.toContain(JWT_SIGNATURE);

    const rows = await storedActivities(db.knex);
    const details = rows[0]?.details as Record<string, any>;
    // What is not secret is still there, so the trail stays useful.
    expect(details['query']).toEqual({ access_token: '[REDACTED]', page: '2' });
    expect(details['body'].payment.holder).toBe('Ada');
    expect(details['body'].user.profile.settings[0].Password).toBe('[REDACTED]');
    expect(details['headers'].authorization).toBe('[REDACTED]');
    expect(details['headers'].cookie).toBe('[REDACTED]');
    expect(rows[1]?.details?.['body']).toEqual({ username: 'ada', password: '[REDACTED]' });
    expect(rows[2]?.path).not.toContain(JWT_SIGNATURE);
  });

  it('keeps control characters from forging anything in stored text', async () => {
    const tracker = testTracker(db.knex);
    const app = express();
    app.use(tracker.middleware());
    app.use(express.json());
    app.post('/api/notes', (_req, res) => { res.status(201).end(); });
    await request(app).post('/api/notes').set('User-Agent', 'evil\tagent').send({ 'key\r\nX-Injected: 1': 'line1\nline2\r\u2028,=cmd' });
    await tracker.flush();
    await tracker.close();
    const [row] = await storedActivities(db.knex);
    expect(row?.user_agent).toBe('evil\\tagent');
    expect(row?.details?.['body']).toEqual({ 'key\\r\\nX-Injected: 1': 'line1\\nline2\\r\\u2028,=cmd' });
  });
});
