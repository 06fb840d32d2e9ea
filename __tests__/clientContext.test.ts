import request from 'supertest';
import { EXPRESS_VERSIONS, storedActivities, testTracker } from './support/app';
import { openTestDatabase, resetTables, type TestDatabase } from './support/database';
import type { ActivityTracker } from '../lib/tracker';

let db: TestDatabase;
beforeAll(async () => { db = await openTestDatabase(); });
afterAll(async () => { await db.destroy(); });

const AGENTS = [
  { name: 'Chrome on Windows', ua: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
    browser: 'Chrome 120.0.0.0', os: 'Windows 10', device: { type: 'desktop', vendor: null, model: null } },
  { name: 'Firefox on Linux', ua: 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0',
    browser: 'Firefox 121.0', os: 'Linux', device: { type: 'desktop', vendor: null, model: null } },
  { name: 'Safari on iPhone', ua: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1',
    browser: 'Mobile Safari 17.0', os: 'iOS 17.0', device: { type: 'mobile', vendor: 'Apple', model: 'iPhone' } },
  { name: 'curl', ua: 'curl/8.4.0', browser: 'curl 8.4.0', os: null, device: { type: 'cli', vendor: null, model: null } },
];

describe.each(EXPRESS_VERSIONS)('where a request came from, on %s', (_name, express) => {
  let tracker: ActivityTracker;
  beforeEach(async () => {
    await resetTables(db.knex);
    tracker = testTracker(db.knex);
  });
  afterEach(async () => { await tracker.close(); });

  function app(trustProxy: boolean) {
    const a = express();
    a.set('trust proxy', trustProxy);
    a.use(tracker.middleware());
    a.get('/', (_req, res) => { res.json({ ok: true }); });
    return a;
  }

  it.each(AGENTS)('parses $name', async ({ ua, browser, os, device }) => {
    await request(app(false)).get('/').set('User-Agent', ua);
    await tracker.flush();
    const [row] = await storedActivities(db.knex);
    expect(row).toMatchObject({ user_agent: ua, browser, operating_system: os, device_info: device });
  });

  it('takes the client IP from the forwarded header only when the app trusts the proxy', async () => {
    await request(app(true)).get('/').set('X-Forwarded-For', '8.8.8.8');
    await request(app(false)).get('/').set('X-Forwarded-For', '8.8.8.8');
    await tracker.flush();
    const rows = await storedActivities(db.knex);
    expect(rows.map((r) => r.ip_address)).toEqual(['8.8.8.8', '127.0.0.1']);
    expect(rows[0]?.location).toMatchObject({ country: 'US' });
    expect(rows[1]?.location).toBeNull();
  });

  it('locates a public IP down to the city when the data has it, and no private one', async () => {
    await request(app(true)).get('/').set('X-Forwarded-For', '81.2.69.142');
    await request(app(true)).get('/').set('X-Forwarded-For', '10.1.2.3');
    await request(app(true)).get('/').set('X-Forwarded-For', '192.168.0.9');
    await tracker.flush();
    const rows = await storedActivities(db.knex);
    expect(rows[0]?.location).toEqual({ country: 'GB', region: 'ENG', city: expect.any(String), timezone: 'Europe/London' });
    expect(rows.slice(1).map((r) => r.location)).toEqual([null, null]);
  });

  it('stores no location when geo is off', async () => {
    await tracker.close();
    tracker = testTracker(db.knex, { geo: false });
    await request(app(true)).get('/').set('X-Forwarded-For', '8.8.8.8');
    await tracker.flush();
    const [row] = await storedActivities(db.knex);
    expect(row).toMatchObject({ ip_address: '8.8.8.8', location: null });
  });
});

describe('what repeats is worked out once', () => {
  it('parses a user agent once and looks an address up once', () => {
    const { UserAgentParser } = jest.requireActual<typeof import('../lib/capture/userAgent')>('../lib/capture/userAgent');
    const { GeoLocator } = jest.requireActual<typeof import('../lib/capture/geo')>('../lib/capture/geo');
    const parser = new UserAgentParser(2);
    const chrome = AGENTS[0]!.ua;
    const first = parser.parse(chrome);
    expect(parser.parse(chrome)).toBe(first);
    parser.parse('curl/1');
    parser.parse('curl/2');
    // Bounded: the least recently used entry made way, and is parsed again when it returns.
    const again = parser.parse(chrome);
    expect(again).not.toBe(first);
    expect(again).toEqual(first);
    const geo = new GeoLocator(true, () => undefined);
    const located = geo.locate('8.8.8.8');
    expect(located).toMatchObject({ country: 'US' });
    expect(geo.locate('8.8.8.8')).toBe(located);
  });
});
