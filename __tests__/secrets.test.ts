import request from 'supertest';
import jwt from 'jsonwebtoken';
import { EXPRESS_VERSIONS, storedActivities, testTracker } from './support/app';
import { dumpAllRows, openTestDatabase, resetTables, type TestDatabase } from './support/database';
import { bearer, MOUNT, REPORT_SECRET } from './support/reports';

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

/** The cases an outside review found stored (issue 12), one canary each. */
const REVIEW = {
  keyPass: 'CANARY-key-pass-81d2',
  keyPw: 'CANARY-key-pw-03af',
  keyPasscode: 'CANARY-key-passcode-6b1e',
  keyPincode: 'CANARY-key-pincode-29c7',
  keyOtpCode: 'CANARY-key-otp-code-f40a',
  keyAccessKey: 'CANARY-key-accessKey-5e93',
  keyCredentials: 'CANARY-key-credentials-c8b6',
  keySsn: 'CANARY-key-ssn-7d21',
  keyAwsId: 'CANARY-key-aws-id-1a5f',
  keyAwsSecret: 'CANARY-key-aws-secret-e6c4',
  formPass: 'CANARY-form-pass-90b3',
  urlSig: 'CANARY-url-sig-4c1d',
  urlAmzSignature: 'CANARY-url-amz-signature-b7e2',
  urlAmzCredential: 'CANARY-url-amz-credential-35fa',
  urlGoogSignature: 'CANARY-url-goog-signature-d90c',
  urlCode: 'CANARY-url-code-6a47',
  urlAuthCode: 'CANARY-url-auth-code-02eb',
  urlKey: 'CANARY-url-key-f1c8',
  pemBody: 'CANARYPEMBODY7xKq2b',
  awsKeyId: 'AKIACANARY7EXAMPLE12',
  iniSecret: 'CANARYiniSecretK7MDENGbPxRfiCY',
  cardDots: '5555.5555.5555.4444',
  cardDoubleSpaces: '4012  8888  8888  1881',
  ibanText: 'DE89 3704 0044 0532 0130 00',
  ibanAccount: 'GB29NWBK60161331926819',
  graphql: 'CANARY-graphql-password-7be0',
  jsonPatch: 'CANARY-json-patch-4d8c',
  nameValue: 'CANARY-name-value-a2f9',
  unicodeKey: 'CANARY-unicode-escaped-key-58e1',
  singleQuotes: 'CANARY-single-quoted-key-c3d7',
  routeToken: 'CANARY-route-token-9f6b',
  failedRouteToken: 'CANARY-failed-route-token-1e24',
};

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

  it('redacts every case an outside review found stored, in every table and in the CSV export', async () => {
    const tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET });
    const app = express();
    app.use(tracker.middleware());
    app.use(express.json());
    app.use(express.urlencoded({ extended: true }));
    app.use(express.text());
    app.post('/api/notes', (_req, res) => { res.status(201).json({ ok: true }); });
    app.patch('/api/users/:id', (_req, res) => { res.json({ ok: true }); });
    app.get('/api/callback', (_req, res) => { res.json({ ok: true }); });
    app.get('/api/password-resets/:token', (_req, res) => { res.json({ ok: true }); });
    app.post('/api/password-resets/:token', () => { throw new Error('reset failed'); });
    app.use(MOUNT, tracker.router());
    const r = REVIEW;

    await request(app).post('/api/notes').send({
      pass: r.keyPass, pw: r.keyPw, passcode: r.keyPasscode, pincode: r.keyPincode, otp_code: r.keyOtpCode,
      accessKey: r.keyAccessKey, credentials: r.keyCredentials, social_security_number: r.keySsn,
      aws_access_key_id: r.keyAwsId, aws_secret_access_key: r.keyAwsSecret,
      account: r.ibanAccount,
      query: `mutation { login(username: "ada", password: "${r.graphql}") { id } }`,
      fields: [{ name: 'password', value: r.nameValue }, { name: 'email', value: 'ada@example.test' }],
      note: [
        // The canary sits after a '/', as base64 has them: stored newlines are escaped to \n, and a
        // canary right after one would not be found standing on its own.
        `-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA/${r.pemBody}\nAbCdEf0123==\n-----END RSA PRIVATE KEY-----`,
        `key id ${r.awsKeyId}`,
        `[default]\naws_secret_access_key = ${r.iniSecret}\n`,
        `cards ${r.cardDots} and ${r.cardDoubleSpaces}, iban ${r.ibanText}`,
      ].join('\n'),
    });
    await request(app).patch('/api/users/7').send([{ op: 'replace', path: '/password', value: r.jsonPatch }]);
    await request(app).post('/api/notes').type('form').send(`user=ada&pass=${r.formPass}`);
    await request(app).post('/api/notes').type('text/plain').send(`{"pass\\u0077ord": "${r.unicodeKey}"}`);
    await request(app).post('/api/notes').type('text/plain').send(`{'password': '${r.singleQuotes}'}`);
    const urlParams = `sig=${r.urlSig}&X-Amz-Signature=${r.urlAmzSignature}&X-Amz-Credential=${r.urlAmzCredential}`
      + `&X-Goog-Signature=${r.urlGoogSignature}&code=${r.urlCode}&auth_code=${r.urlAuthCode}&key=${r.urlKey}&state=s1`;
    await request(app).get(`/api/callback?${urlParams}`);
    await request(app).get('/api/callback').set('Referer', `https://files.example.test/object?${urlParams}`);
    await request(app).get(`/api/password-resets/${r.routeToken}`);
    await request(app).post(`/api/password-resets/${r.failedRouteToken}`);
    await tracker.flush();
    const csv = await request(app).get(`${MOUNT}/export`).set(bearer('aud-1', 'auditor')).buffer(true);
    expect(csv.status).toBe(200);
    await tracker.flush();
    await tracker.close();

    const everything = await dumpAllRows(db.knex);
    const exported = csv.text;
    const leaks = Object.entries(REVIEW).flatMap(([name, value]) => {
      // A card is also looked for as bare digits, in case its separators were dropped on the way.
      const digitsOnly = /^[\d .]+$/.test(value) ? value.replace(/\D/g, '') : value;
      const found = (text: string) => holds(text, value) || holds(text, digitsOnly);
      return [...(found(everything) ? [`${name} in the tables`] : []), ...(found(exported) ? [`${name} in the CSV export`] : [])];
    });
    expect(leaks).toEqual([]);

    // What is not secret is still there, and the rows are all recorded.
    const rows = await storedActivities(db.knex);
    const first = rows[0]?.details as Record<string, any>;
    expect(first['body'].fields[1]).toEqual({ name: 'email', value: 'ada@example.test' });
    expect(first['body'].query).toBe('mutation { login(username: "ada", password: "[REDACTED]") { id } }');
    const callback = rows.find((row) => row.path === '/api/callback')?.details as Record<string, any>;
    expect(callback['query']['state']).toBe('s1');
    const resets = rows.filter((row) => row.route === '/api/password-resets/:token');
    expect(resets.map((row) => [row.status_code, row.path, row.entity_id])).toEqual([
      [200, '/api/password-resets/[REDACTED]', '[REDACTED]'],
      [500, '/api/password-resets/[REDACTED]', '[REDACTED]'],
    ]);
    expect(exported).toContain('/api/password-resets/[REDACTED]');
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
