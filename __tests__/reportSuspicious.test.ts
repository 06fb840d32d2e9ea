import request from 'supertest';
import { EXPRESS_VERSIONS, storedActivities, testTracker } from './support/app';
import { openTestDatabase, resetTables, type TestDatabase } from './support/database';
import { activity, bearer, MOUNT, REPORT_SECRET, reportApp, seed } from './support/reports';
import type { ActivityTracker } from '../lib/tracker';
import type { ActivityEvent, Options } from '../lib/types';

let db: TestDatabase;
beforeAll(async () => { db = await openTestDatabase(); });
afterAll(async () => { await db.destroy(); });
beforeEach(async () => { await resetTables(db.knex); });

const at = (time: string, day = 20) => Date.parse(`2026-11-${day}T${time}:00.000Z`);
const iso = (ms: number) => new Date(ms).toISOString();
const PERIOD = 'startDate=2026-11-20T00:00:00Z&endDate=2026-11-20T23:59:59Z';
const DEFAULT_THRESHOLDS = { slowRequestMs: 5000, largeResponseBytes: 10 * 1024 * 1024, failedLoginThreshold: 5, failedLoginWindowMinutes: 15 };

const failedLogin = (time: number, ipAddress: string, userId: string | null = null): ActivityEvent => activity({
  startTime: time, ipAddress, userId, activityType: 'login_failed', action: 'login', method: 'POST', path: '/login', route: '/login',
  statusCode: 400, success: false, entityType: null, entityId: null,
});

/** Rows just either side of each threshold, and failed logins in and out of bursts. */
function knownActivities() {
  const rows = {
    slow: activity({ startTime: at('09:00'), duration: 5001 }),
    notSlow: activity({ startTime: at('09:01'), duration: 5000 }),
    large: activity({ startTime: at('09:02'), responseSize: 10 * 1024 * 1024 + 1 }),
    notLarge: activity({ startTime: at('09:03'), responseSize: 10 * 1024 * 1024 }),
    unauthorized: activity({ startTime: at('09:04'), statusCode: 401, success: false }),
    forbidden: activity({ startTime: at('09:05'), statusCode: 403, success: false }),
    notFound: activity({ startTime: at('09:06'), statusCode: 404, success: false }),
    // Matches two rules: listed once under each.
    slowAndUnauthorized: activity({ startTime: at('09:07'), statusCode: 401, success: false, duration: 6000 }),
    midSized: activity({ startTime: at('09:08'), duration: 150, responseSize: 1001 }),
  };
  // Five from one IP within exactly 15 minutes (the window is inclusive): a burst. No account known.
  const ipBurst = ['12:00', '12:03', '12:06', '12:09', '12:15'].map((t) => failedLogin(at(t), '198.51.100.1'));
  // Five from another IP, but spread over 20 minutes: at most four in any 15.
  const ipSpread = ['13:00', '13:05', '13:10', '13:15', '13:20'].map((t) => failedLogin(at(t), '198.51.100.2'));
  // Five against one account from five IPs within 8 minutes: a burst per account, none per IP.
  const userBurst = ['14:00', '14:02', '14:04', '14:06', '14:08'].map((t, i) => failedLogin(at(t), `192.0.2.${i + 1}`, 'carol'));
  // Seven in a row from one IP are one burst of seven, not three findings; a later run is a second burst.
  const longBurst = ['16:00', '16:01', '16:02', '16:03', '16:04', '16:05', '16:06'].map((t) => failedLogin(at(t), '198.51.100.3'));
  const laterBurst = ['18:00', '18:01', '18:02', '18:03', '18:04'].map((t) => failedLogin(at(t), '198.51.100.3'));
  // Outside the period: never reported.
  const otherDay = [activity({ startTime: at('09:00', 21), duration: 9000 }), ...['10:00', '10:01', '10:02', '10:03', '10:04'].map((t) => failedLogin(at(t, 21), '198.51.100.9'))];
  return { rows, ipBurst, ipSpread, userBurst, longBurst, laterBurst, otherDay };
}

type Known = ReturnType<typeof knownActivities>;
const allOf = (k: Known): ActivityEvent[] => [...Object.values(k.rows), ...k.ipBurst, ...k.ipSpread, ...k.userBurst, ...k.longBurst, ...k.laterBurst, ...k.otherDay];

/** The item a single-row rule gives for a seeded row. */
function hit(rule: string, e: ActivityEvent, rules: string[] = [rule]) {
  return {
    rule, rules, activityId: e.id, userId: e.userId, ipAddress: e.ipAddress, startTime: iso(e.startTime), activityType: e.activityType,
    path: e.path, statusCode: e.statusCode, duration: e.duration, responseSize: e.responseSize, count: null, windowStart: null, windowEnd: null,
  };
}

/** The item a repeated_* rule gives for a burst of seeded failures. */
function burst(rule: 'repeated_failed_logins_ip' | 'repeated_failed_logins_user', key: string, count: number, from: number, to: number) {
  return {
    rule, rules: [rule], activityId: null, userId: rule === 'repeated_failed_logins_user' ? key : null, ipAddress: rule === 'repeated_failed_logins_ip' ? key : null,
    startTime: iso(to), activityType: 'login_failed', path: null, statusCode: null, duration: null, responseSize: null,
    count, windowStart: iso(from), windowEnd: iso(to),
  };
}

const newestFirst = (events: ActivityEvent[]) => [...events].sort((a, b) => b.startTime - a.startTime);

describe.each(EXPRESS_VERSIONS)('GET /suspicious with %s', (_name, express) => {
  let tracker: ActivityTracker;
  let known: Known;
  const open = async (options: Options = {}) => {
    tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET, ...options });
    known = knownActivities();
    await seed(db.knex, allOf(known));
  };
  afterEach(async () => { await tracker.close(); });

  const get = (query: string) => request(reportApp(express, tracker)).get(`${MOUNT}/suspicious?${query}`).set(bearer('auditor-1', 'auditor'));

  it('fires each single-row rule on exactly the rows past its threshold', async () => {
    await open();
    const { rows } = known;
    const expected: Record<string, ActivityEvent[]> = {
      slow_request: [rows.slowAndUnauthorized, rows.slow],
      large_response: [rows.large],
      unauthorized: [rows.slowAndUnauthorized, rows.unauthorized],
      forbidden: [rows.forbidden],
      failed_login: newestFirst([...known.ipBurst, ...known.ipSpread, ...known.userBurst, ...known.longBurst, ...known.laterBurst]),
    };
    for (const [rule, events] of Object.entries(expected)) {
      const response = await get(`${PERIOD}&rule=${rule}`).expect(200);
      expect(response.body.data).toEqual(events.map((e) => hit(rule, e)));
      expect(response.body.summary).toEqual({ byRule: { [rule]: events.length } });
    }
  });

  it('finds bursts of failed logins per IP in a sliding window, one finding per burst', async () => {
    await open();
    const response = await get(`${PERIOD}&rule=repeated_failed_logins_ip`).expect(200);
    expect(response.body.data).toEqual([
      burst('repeated_failed_logins_ip', '198.51.100.3', 5, at('18:00'), at('18:04')),
      burst('repeated_failed_logins_ip', '198.51.100.3', 7, at('16:00'), at('16:06')),
      burst('repeated_failed_logins_ip', '198.51.100.1', 5, at('12:00'), at('12:15')),
    ]);
    expect(response.body.summary).toEqual({ byRule: { repeated_failed_logins_ip: 3 } });
  });

  it('finds bursts against one account, never grouping failures with no account', async () => {
    await open();
    const response = await get(`${PERIOD}&rule=repeated_failed_logins_user`).expect(200);
    // 27 failures have no user_id, 17 of them within 15 minutes of each other: still no finding for them.
    expect(response.body.data).toEqual([burst('repeated_failed_logins_user', 'carol', 5, at('14:00'), at('14:08'))]);
  });

  it('lists every rule newest first, an activity once with every rule it matches, with totals, thresholds and period', async () => {
    await open();
    const response = await get(PERIOD).expect(200);
    expect(response.body.summary).toEqual({
      byRule: { failed_login: 27, unauthorized: 2, forbidden: 1, slow_request: 2, large_response: 1, repeated_failed_logins_ip: 3, repeated_failed_logins_user: 1 },
    });
    // 37 matches, of which one activity (slow and refused) matched two rules.
    expect(response.body.data).toHaveLength(36);
    expect(response.body.thresholds).toEqual(DEFAULT_THRESHOLDS);
    expect(response.body.period).toEqual({ startDate: '2026-11-20T00:00:00.000Z', endDate: '2026-11-20T23:59:59.000Z' });
    const { laterBurst, rows } = known;
    // At one time, the rules come in their listed order.
    expect(response.body.data.slice(0, 3)).toEqual([
      hit('failed_login', laterBurst[4]!),
      burst('repeated_failed_logins_ip', '198.51.100.3', 5, at('18:00'), at('18:04')),
      hit('failed_login', laterBurst[3]!),
    ]);
    expect(response.body.data.slice(-5)).toEqual([
      hit('unauthorized', rows.slowAndUnauthorized, ['unauthorized', 'slow_request']),
      hit('forbidden', rows.forbidden), hit('unauthorized', rows.unauthorized), hit('large_response', rows.large), hit('slow_request', rows.slow),
    ]);
    const startTimes = response.body.data.map((i: { startTime: string }) => i.startTime);
    expect(startTimes).toEqual([...startTimes].sort().reverse());
  });

  it('returns the newest `limit` items while the summary still counts every match', async () => {
    await open();
    const response = await get(`${PERIOD}&limit=2`).expect(200);
    expect(response.body.data).toEqual([hit('failed_login', known.laterBurst[4]!), burst('repeated_failed_logins_ip', '198.51.100.3', 5, at('18:00'), at('18:04'))]);
    expect(response.body.summary.byRule.failed_login).toBe(27);
  });

  it('uses the configured thresholds', async () => {
    await open({ suspicious: { slowRequestMs: 100, largeResponseBytes: 1000, failedLoginThreshold: 2, failedLoginWindowMinutes: 5 } });
    const { rows } = known;
    const response = await get(PERIOD).expect(200);
    expect(response.body.thresholds).toEqual({ slowRequestMs: 100, largeResponseBytes: 1000, failedLoginThreshold: 2, failedLoginWindowMinutes: 5 });
    const of = (rule: string) => response.body.data.filter((i: { rules: string[] }) => i.rules.includes(rule));
    const ids = (items: Array<{ activityId: string }>) => items.map((i) => i.activityId);
    expect(ids(of('slow_request'))).toEqual([rows.midSized, rows.slowAndUnauthorized, rows.notSlow, rows.slow].map((e) => e.id));
    expect(ids(of('large_response'))).toEqual([rows.midSized, rows.notLarge, rows.large].map((e) => e.id));
    // Slow and large at once: one item with both rules.
    expect(of('large_response')[0]).toEqual(hit('slow_request', rows.midSized, ['slow_request', 'large_response']));
    // Two within 5 minutes: 12:00–12:09 chain (12:15 is 6 minutes on), and the 5-minute spacing of 13:00–13:20 now counts.
    expect(response.body.data.filter((i: { rule: string }) => i.rule === 'repeated_failed_logins_ip')).toEqual([
      burst('repeated_failed_logins_ip', '198.51.100.3', 5, at('18:00'), at('18:04')),
      burst('repeated_failed_logins_ip', '198.51.100.3', 7, at('16:00'), at('16:06')),
      burst('repeated_failed_logins_ip', '198.51.100.2', 5, at('13:00'), at('13:20')),
      burst('repeated_failed_logins_ip', '198.51.100.1', 4, at('12:00'), at('12:09')),
    ]);
  });

  it('counts failures up to one window before startDate towards a burst that ends inside the period', async () => {
    tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET });
    const straddling = [at('23:50', 19), at('23:53', 19), at('23:56', 19), at('00:02'), at('00:04')].map((t) => failedLogin(t, '198.51.100.4'));
    const earlier = [at('22:00', 19), at('22:01', 19), at('22:02', 19), at('22:03', 19), at('22:04', 19)].map((t) => failedLogin(t, '198.51.100.5'));
    await seed(db.knex, [...straddling, ...earlier]);
    const response = await get(PERIOD).expect(200);
    expect(response.body.data).toEqual([
      hit('failed_login', straddling[4]!),
      burst('repeated_failed_logins_ip', '198.51.100.4', 5, at('23:50', 19), at('00:04')),
      hit('failed_login', straddling[3]!),
    ]);
  });

  it('counts failures logged at the same instant once each', async () => {
    tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET });
    const sameInstant = Array.from({ length: 5 }, () => failedLogin(at('10:00'), '198.51.100.6'));
    await seed(db.knex, [...sameInstant, ...Array.from({ length: 4 }, () => failedLogin(at('11:00'), '198.51.100.7'))]);
    const response = await get(`${PERIOD}&rule=repeated_failed_logins_ip`).expect(200);
    expect(response.body.data).toEqual([burst('repeated_failed_logins_ip', '198.51.100.6', 5, at('10:00'), at('10:00'))]);
  });

  it('defaults to the last 24 hours', async () => {
    tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET });
    const now = Date.now();
    const recent = activity({ startTime: now - 60 * 60_000, duration: 7000 });
    await seed(db.knex, [recent, activity({ startTime: now - 25 * 60 * 60_000, duration: 7000 })]);
    const response = await get('').expect(200);
    expect(response.body.data).toEqual([hit('slow_request', recent)]);
    const { startDate, endDate } = response.body.period;
    expect(Date.parse(endDate) - Date.parse(startDate)).toBe(24 * 60 * 60_000);
    expect(Math.abs(Date.parse(endDate) - now)).toBeLessThan(5000);
  });

  it('bounds every query it runs on start_time', async () => {
    tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET });
    await tracker.ready();
    const reads: Array<{ sql: string; bindings: unknown[] }> = [];
    const listen = (q: { sql: string; bindings?: unknown[] }) => { if (/from "?user_activity"?/i.test(q.sql) && !/insert/i.test(q.sql)) reads.push({ sql: q.sql, bindings: q.bindings ?? [] }); };
    db.knex.on('query', listen);
    try {
      await get('').expect(200);
    } finally {
      db.knex.removeListener('query', listen);
    }
    expect(reads).toHaveLength(7);
    for (const { sql, bindings } of reads) {
      expect(sql).toMatch(/start_time"? >= (\?|\$\d+)/);
      expect(sql).toMatch(/start_time"? <= (\?|\$\d+)/);
      expect(bindings.filter((b) => b instanceof Date).length).toBeGreaterThanOrEqual(2);
    }
  });

  it('puts the read on the trail with the filters it applied', async () => {
    await open();
    await get(`${PERIOD}&rule=forbidden&limit=5`).expect(200);
    await tracker.flush();
    const reads = (await storedActivities(db.knex)).filter((r) => r.activity_type === 'audit_read');
    expect(reads).toHaveLength(1);
    expect(reads[0]).toMatchObject({ user_id: 'auditor-1', action: 'report.read', status_code: 200 });
    expect(reads[0]?.details?.['custom']).toEqual({
      route: `${MOUNT}/suspicious`, role: 'auditor', rows: 1,
      filters: { startDate: '2026-11-20T00:00:00.000Z', endDate: '2026-11-20T23:59:59.000Z', limit: 5, rule: 'forbidden' },
    });
  });

  it('is for readers only: 403 for role user', async () => {
    tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET });
    const response = await request(reportApp(express, tracker)).get(`${MOUNT}/suspicious`).set(bearer('u2', 'user')).expect(403);
    expect(response.body.error.code).toBe('ERR_AT_FORBIDDEN');
  });
});

describe('GET /suspicious refuses bad parameters', () => {
  const express = EXPRESS_VERSIONS[0][1];
  const future = new Date(Date.now() + 24 * 60 * 60_000).toISOString();
  it.each([
    ['rule=everything', 'rule'],
    ['rule=failed_login&rule=forbidden', 'rule'],
    ['limit=0', 'limit'],
    ['limit=1001', 'limit'],
    ['startDate=last-week', 'startDate'],
    ['startDate=2026-11-20&endDate=2026-11-19', 'endDate'],
    [`startDate=${encodeURIComponent(future)}`, 'startDate'],
    ['userId=alice', 'userId'],
  ])('%s → 400 naming %s', async (query, param) => {
    const tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET });
    try {
      const response = await request(reportApp(express, tracker)).get(`${MOUNT}/suspicious?${query}`).set(bearer('a', 'admin')).expect(400);
      expect(response.body.error).toMatchObject({ code: expect.stringMatching(/^ERR_AT_(INVALID|UNKNOWN)_PARAM$/), param });
    } finally {
      await tracker.close();
    }
  });
});
