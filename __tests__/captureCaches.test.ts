/**
 * What capture caches per client and per route (user agent parse and stored text, the cookie-less
 * fingerprint, the route's entity) must not change what is stored: a request answered from the
 * caches stores the same row as the first one, which computed everything.
 */
import request from 'supertest';
import { EXPRESS_VERSIONS, storedActivities, testTracker } from './support/app';
import { openTestDatabase, resetTables, type TestDatabase } from './support/database';
import type { ActivityTracker } from '../lib/tracker';

let db: TestDatabase;
beforeAll(async () => { db = await openTestDatabase(); });
afterAll(async () => { await db.destroy(); });
beforeEach(async () => { await resetTables(db.knex); });

const CHROME_UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
/** A user agent that carries a credential: its stored text is redacted, then reused. */
const LEAKY_UA = 'sync-client/2.1 (token=abcdef0123456789abcdef)';

describe.each(EXPRESS_VERSIONS)('cached capture stores what uncached capture stores (%s)', (_name, express) => {
  let tracker: ActivityTracker;
  beforeEach(() => { tracker = testTracker(db.knex, { sessionCookie: false }); });
  afterEach(async () => { await tracker.close(); });

  function app(): ReturnType<typeof express> {
    const a = express();
    a.set('trust proxy', true);
    a.use(tracker.middleware());
    a.use(express.json());
    a.get('/api/items/:id', (req, res) => { res.json({ id: req.params.id }); });
    a.post('/api/items', (_req, res) => { res.status(201).json({ ok: true }); });
    a.get('/api/orders/:orderId/lines/:lineId', (_req, res) => { res.json([]); });
    a.get('/fail/:id', () => { throw new Error('boom'); });
    return a;
  }

  it('repeats of each request store the same row as its first, cold one', async () => {
    const server = app();
    // Each round asks for other ids on the same routes: only what the pattern decides may be reused.
    const send = (ua: string, ip: string, round: number) => [
      request(server).get(`/api/items/${7 + round}?fields=name`).set('User-Agent', ua).set('X-Forwarded-For', ip),
      request(server).post('/api/items').set('User-Agent', ua).set('X-Forwarded-For', ip).send({ name: 'Widget', password: 'hunter2' }),
      request(server).get(`/api/orders/o-1/lines/l-${2 + round}`).set('User-Agent', ua).set('X-Forwarded-For', ip),
      request(server).get(`/fail/${9 + round}`).set('User-Agent', ua).set('X-Forwarded-For', ip),
    ];
    for (let round = 0; round < 3; round++) {
      for (const [ua, ip] of [[CHROME_UA, '81.2.69.142'], [LEAKY_UA, '10.1.2.3']] as const) {
        for (const call of send(ua, ip, round)) await call;
      }
    }
    await tracker.flush();
    const rows = await storedActivities(db.knex);
    expect(rows).toHaveLength(24);
    const stable = (r: (typeof rows)[number]) => [r.session_id, r.activity_type, r.entity_type, r.action, r.ip_address,
      r.user_agent, r.browser, r.operating_system, r.device_info, r.location, r.method, r.route, r.status_code, r.success];
    const firstRound = rows.slice(0, 8).map(stable);
    expect(rows.slice(8, 16).map(stable)).toEqual(firstRound);
    expect(rows.slice(16, 24).map(stable)).toEqual(firstRound);
    expect(rows.filter((r) => r.user_agent === CHROME_UA).map((r) => r.entity_id)).toEqual([
      '7', null, 'l-2', '9', '8', null, 'l-3', '10', '9', null, 'l-4', '11',
    ]);

    const [item, created, line, failed, leaky] = rows;
    expect([item?.entity_type, item?.entity_id, item?.browser, item?.device_info?.type]).toEqual(['items', '7', 'Chrome 126.0.0.0', 'desktop']);
    expect(item?.location?.country).toBe('GB');
    expect([created?.entity_type, created?.entity_id, (created?.details as { body?: unknown }).body]).toEqual(['items', null, { name: 'Widget', password: '[REDACTED]' }]);
    expect([line?.entity_type, line?.entity_id]).toEqual(['lines', 'l-2']);
    expect([failed?.activity_type, failed?.entity_type, failed?.entity_id]).toEqual(['error', 'fail', '9']);
    expect(leaky?.user_agent).not.toContain('abcdef0123456789');
    // One cookie-less client, one session; another address and user agent, another session.
    expect(new Set(rows.filter((r) => r.user_agent === CHROME_UA).map((r) => r.session_id)).size).toBe(1);
    expect(leaky?.session_id).not.toBe(item?.session_id);
  });
});
