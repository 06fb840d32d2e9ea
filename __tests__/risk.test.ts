import request from 'supertest';
import type { Request } from 'express';
import { EXPRESS_VERSIONS, testTracker } from './support/app';
import { openTestDatabase, resetTables, type TestDatabase } from './support/database';
import { activity, seed } from './support/reports';
import { resolveConfig } from '../lib/config';
import { verifyChain } from '../lib/integrity/verify';
import { KnexActivityStore } from '../lib/store/activityStore';
import { migrate } from '../lib/store/schema';
import { closeIdleSessions } from '../lib/jobs/sessionSweeper';
import { migrationConfig } from '../migrations/index';
import { RISK_FACTORS } from '../lib/index';
import type { ActivityTracker } from '../lib/tracker';
import type { Options } from '../lib/types';

let db: TestDatabase;
beforeAll(async () => { db = await openTestDatabase(); });
afterAll(async () => { await db.destroy(); });

const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
/** Monday 23 November 2026, 10:00 UTC: inside the default working hours. */
const MONDAY_10_UTC = new Date(Date.UTC(2026, 10, 23, 10, 0, 0));
/** Saturday 21 November 2026, 10:00 UTC. */
const SATURDAY_10_UTC = new Date(Date.UTC(2026, 10, 21, 10, 0, 0));

interface Risk { action: string | null; user_id: string | null; risk_score: number | null; risk_factors: string[] | null; severity: string | null; anomaly: boolean | null }

/** The risk columns of every row but the session events, in chain order. */
async function risks(): Promise<Risk[]> {
  const rows = (await db.knex('user_activity').whereNotIn('activity_type', ['session_start', 'session_end']).orderBy('chain_position')
    .select('action', 'user_id', 'risk_score', 'risk_factors', 'severity', 'anomaly')) as Risk[];
  return rows.map((r) => ({ ...r, risk_score: r.risk_score === null ? null : Number(r.risk_score) }));
}

function scored(score: number, factors: string[], severity: string, anomaly = false): Pick<Risk, 'risk_score' | 'risk_factors' | 'severity' | 'anomaly'> {
  return { risk_score: score, risk_factors: factors, severity, anomaly };
}

const UNSCORED = { risk_score: 0, risk_factors: [], severity: 'info', anomaly: false };

describe.each(EXPRESS_VERSIONS)('risk of requests (%s)', (_name, express) => {
  let tracker: ActivityTracker;
  beforeEach(async () => { await resetTables(db.knex); });
  afterEach(async () => { await tracker.close(); });

  /** Working hours off: requests happen now, whatever the hour of the test run. */
  function app(options: Options = {}) {
    tracker = testTracker(db.knex, { getUserId: (req) => (req.headers['x-user'] as string | undefined) ?? null, ...options, risk: { workingHours: false, ...(options.risk || {}) } });
    const a = express();
    a.set('trust proxy', true);
    a.use(tracker.middleware());
    a.post('/login', (_req, res) => { res.status(401).json({ error: 'bad password' }); });
    a.get('/admin', (_req, res) => { res.status(403).json({ error: 'forbidden' }); });
    a.get('/unauthenticated', (_req, res) => { res.status(401).json({ error: 'sign in' }); });
    a.get('/items', (_req, res) => { res.json({ items: [] }); });
    a.get('/big', (_req, res) => { res.json({ blob: 'x'.repeat(2000) }); });
    a.get('/report.csv', (_req, res) => { res.attachment('report.csv').type('text/csv').send('a,b\n1,2\n'); });
    return a;
  }

  it('a failed login is failed_authentication, once even when answered 401', async () => {
    const a = app();
    await request(a).post('/login').send({ username: 'mallory', password: 'guess' }).expect(401);
    await request(a).get('/unauthenticated').expect(401);
    await tracker.flush();
    expect(await risks()).toEqual([
      expect.objectContaining({ action: 'authn_login_fail', ...scored(0.4, ['failed_authentication'], 'medium') }),
      expect.objectContaining({ action: 'read', ...scored(0.4, ['failed_authentication'], 'medium') }),
    ]);
  });

  it('a 403 is authorization_failure', async () => {
    const a = app();
    await request(a).get('/admin').expect(403);
    await tracker.flush();
    expect(await risks()).toEqual([expect.objectContaining(scored(0.3, ['authorization_failure'], 'low'))]);
  });

  it('a device is new for a user on its first row only, and again for another user', async () => {
    const a = app();
    await request(a).get('/items').set('User-Agent', CHROME).set('X-User', 'u1').expect(200);
    await request(a).get('/items').set('User-Agent', CHROME).set('X-User', 'u1').expect(200);
    await request(a).get('/items').set('User-Agent', FIREFOX).set('X-User', 'u1').expect(200);
    await request(a).get('/items').set('User-Agent', CHROME).set('X-User', 'u2').expect(200);
    await request(a).get('/items').set('User-Agent', FIREFOX).expect(200);
    await tracker.flush();
    expect(await risks()).toEqual([
      expect.objectContaining({ user_id: 'u1', ...scored(0.2, ['new_device'], 'low') }),
      expect.objectContaining({ user_id: 'u1', ...UNSCORED }),
      expect.objectContaining({ user_id: 'u1', ...scored(0.2, ['new_device'], 'low') }),
      expect.objectContaining({ user_id: 'u2', ...scored(0.2, ['new_device'], 'low') }),
      // No user, nothing to be new for.
      expect.objectContaining({ user_id: null, ...UNSCORED }),
    ]);
  });

  it('a country is new for a user on its first row, as located from the forwarded address', async () => {
    const a = app();
    for (const ip of ['8.8.8.8', '8.8.8.8', '81.2.69.142', '8.8.8.8', '10.1.2.3']) {
      await request(a).get('/items').set('X-Forwarded-For', ip).set('X-User', 'traveller').expect(200);
    }
    await tracker.flush();
    expect(await risks()).toEqual([
      expect.objectContaining(scored(0.3, ['new_country'], 'low')),
      expect.objectContaining(UNSCORED),
      expect.objectContaining(scored(0.3, ['new_country'], 'low')),
      expect.objectContaining(UNSCORED),
      // A private address has no country: not a new one.
      expect.objectContaining(UNSCORED),
    ]);
  });

  it('more rows of a user than burstThreshold within burstWindowSeconds is burst_rate (the session_start row counts)', async () => {
    const a = app({ risk: { burstThreshold: 5, burstWindowSeconds: 60 } });
    for (let i = 0; i < 6; i++) {
      await request(a).get('/items').set('X-User', 'busy').expect(200);
      await tracker.flush();
    }
    await request(a).get('/items').set('X-User', 'calm').expect(200);
    await tracker.flush();
    // busy's rows: request 1, its session_start, requests 2 to 6: the fifth request is the sixth row.
    expect(await risks()).toEqual([
      ...Array.from({ length: 4 }, () => expect.objectContaining({ user_id: 'busy', ...UNSCORED })),
      expect.objectContaining({ user_id: 'busy', ...scored(0.3, ['burst_rate'], 'low') }),
      expect.objectContaining({ user_id: 'busy', ...scored(0.3, ['burst_rate'], 'low') }),
      expect.objectContaining({ user_id: 'calm', ...UNSCORED }),
    ]);
  });

  it('a download and a response over bulkReadBytes are export_or_bulk_read', async () => {
    const a = app({ risk: { bulkReadBytes: 1000 } });
    await request(a).get('/report.csv').expect(200);
    await request(a).get('/big').expect(200);
    await request(a).get('/items').expect(200);
    await tracker.flush();
    expect(await risks()).toEqual([
      expect.objectContaining({ action: 'download', ...scored(0.2, ['export_or_bulk_read'], 'low') }),
      expect.objectContaining({ action: 'read', ...scored(0.2, ['export_or_bulk_read'], 'low') }),
      expect.objectContaining({ action: 'read', ...UNSCORED }),
    ]);
  });

  it('the factors add up in a fixed order, and a row at the anomaly threshold is flagged', async () => {
    const a = app();
    a.get('/denied', (_req: Request, res) => { res.status(403).end(); });
    // A new device (0.2), a new country (0.3) and a 403 (0.3) at once.
    await request(a).get('/denied').set('User-Agent', CHROME).set('X-Forwarded-For', '81.2.69.142').set('X-User', 'intruder');
    await tracker.flush();
    expect(await risks()).toEqual([expect.objectContaining(scored(0.8, ['authorization_failure', 'new_device', 'new_country'], 'critical', true))]);
  });
});

describe('risk of domain events', () => {
  let tracker: ActivityTracker | undefined;
  beforeEach(async () => { await resetTables(db.knex); });
  afterEach(async () => { await tracker?.close(); tracker = undefined; });

  it('an admin actor, a privileged role or a deletion is privileged_action; a severity given is kept when higher', async () => {
    tracker = testTracker(db.knex);
    await tracker.record({ action: 'user.suspended', userId: 'root-1', actorType: 'admin', startTime: MONDAY_10_UTC });
    await tracker.record({ action: 'plan.changed', userId: 'ops-1', actorRole: 'system_admin', severity: 'high', startTime: MONDAY_10_UTC });
    await tracker.record({ action: 'invoice.deleted', activityType: 'data_delete', userId: 'clerk-1', actorRole: 'clerk', startTime: MONDAY_10_UTC });
    await tracker.record({ action: 'invoice.viewed', userId: 'clerk-1', actorRole: 'clerk', startTime: MONDAY_10_UTC });
    await tracker.record({ action: 'password.checked', category: 'authentication', status: 'failure', userId: 'clerk-1', severity: 'info', startTime: MONDAY_10_UTC });
    expect(await risks()).toEqual([
      expect.objectContaining({ action: 'user.suspended', ...scored(0.2, ['privileged_action'], 'low') }),
      expect.objectContaining({ action: 'plan.changed', ...scored(0.2, ['privileged_action'], 'high') }),
      expect.objectContaining({ action: 'invoice.deleted', ...scored(0.2, ['privileged_action'], 'low') }),
      expect.objectContaining({ action: 'invoice.viewed', ...UNSCORED }),
      expect.objectContaining({ action: 'password.checked', ...scored(0.4, ['failed_authentication'], 'medium') }),
    ]);
  });

  it('outside working hours in the configured time zone is outside_working_hours', async () => {
    tracker = testTracker(db.knex, { risk: { workingHours: { timeZone: 'Europe/Berlin' } } });
    const at = (iso: string) => ({ action: iso, userId: 'night-owl', startTime: new Date(iso) });
    // Berlin is UTC+1 in November: 06:59 UTC is 07:59 there, 07:00 UTC is 08:00, 16:59 UTC is 17:59, 17:00 UTC is 18:00.
    for (const iso of ['2026-11-23T06:59:00Z', '2026-11-23T07:00:00Z', '2026-11-23T16:59:00Z', '2026-11-23T17:00:00Z', SATURDAY_10_UTC.toISOString()]) {
      await tracker.record(at(iso));
    }
    expect((await risks()).map((r) => [r.action, r.risk_score, r.risk_factors, r.severity])).toEqual([
      ['2026-11-23T06:59:00Z', 0.1, ['outside_working_hours'], 'info'],
      ['2026-11-23T07:00:00Z', 0, [], 'info'],
      ['2026-11-23T16:59:00Z', 0, [], 'info'],
      ['2026-11-23T17:00:00Z', 0.1, ['outside_working_hours'], 'info'],
      ['2026-11-21T10:00:00.000Z', 0.1, ['outside_working_hours'], 'info'],
    ]);
  });

  it('weights, thresholds and working hours are options; the score stops at 1', async () => {
    tracker = testTracker(db.knex, {
      risk: {
        weights: { outside_working_hours: 0.35, privileged_action: 0.9 }, severityThresholds: { low: 0.1, medium: 0.3, high: 0.5, critical: 0.95 },
        anomalyThreshold: 0.35, workingHours: { start: 9, end: 17, days: [6] },
      },
    });
    await tracker.record({ action: 'weekday', userId: 'a', startTime: MONDAY_10_UTC });
    await tracker.record({ action: 'saturday', userId: 'a', startTime: SATURDAY_10_UTC });
    await tracker.record({ action: 'admin.weekday', userId: 'a', actorType: 'admin', startTime: MONDAY_10_UTC });
    expect(await risks()).toEqual([
      expect.objectContaining({ action: 'weekday', ...scored(0.35, ['outside_working_hours'], 'medium', true) }),
      expect.objectContaining({ action: 'saturday', ...UNSCORED }),
      expect.objectContaining({ action: 'admin.weekday', ...scored(1, ['privileged_action', 'outside_working_hours'], 'critical', true) }),
    ]);
  });

  it('burst_rate counts a user\'s rows by time, in one batch and across batches', async () => {
    const burstTracker = tracker = testTracker(db.knex, { risk: { burstThreshold: 3, burstWindowSeconds: 10, workingHours: false } });
    const at = (user: string, second: number) => burstTracker.record({ action: `${user}@${second}`, userId: user, startTime: new Date(MONDAY_10_UTC.getTime() + second * 1000) });
    await Promise.all([at('b', 0), at('b', 1), at('b', 2), at('b', 3), at('c', 3)]);
    await at('b', 5);
    await at('b', 14);
    await at('b', 30);
    expect((await risks()).map((r) => [r.action, r.risk_factors])).toEqual([
      ['b@0', []], ['b@1', []], ['b@2', []], ['b@3', ['burst_rate']], ['c@3', []],
      ['b@5', ['burst_rate']], // 0, 1, 2, 3 and 5 within 10 s
      ['b@14', []], // 5 and 14
      ['b@30', []],
    ]);
  });

  it('a known device stays known whether its rows were scored or not, and the chain verifies over scored rows', async () => {
    await seed(db.knex, [activity({ userId: 'imported', browser: 'Chrome 126.0.0.0', operatingSystem: 'Windows 10', location: { country: 'US', region: null, city: null, timezone: null } })]);
    const store = new KnexActivityStore(db.knex, { sessionEvents: false, risk: resolveConfig({ risk: { workingHours: false } }, {}).risk });
    await store.writeBatch([
      activity({ userId: 'imported', browser: 'Chrome 126.0.0.0', operatingSystem: 'Windows 10', location: { country: 'US', region: null, city: null, timezone: null } }),
      activity({ userId: 'imported', browser: 'Chrome 126.0.0.0', operatingSystem: 'Windows 10', location: { country: 'BR', region: null, city: null, timezone: null } }),
      activity({ userId: 'imported', browser: 'Safari 17', operatingSystem: 'macOS', location: { country: 'BR', region: null, city: null, timezone: null } }),
    ]);
    expect((await risks()).map((r) => [r.risk_score, r.risk_factors])).toEqual([
      [null, null], [0, []], [0.3, ['new_country']], [0.2, ['new_device']],
    ]);
    expect(await verifyChain(db.knex)).toMatchObject({ ok: true, rowsChecked: 4 });
    const [hashOfScored] = (await db.knex('user_activity').where('chain_position', 3).pluck('row_hash')) as string[];
    expect(hashOfScored).toMatch(/^[0-9a-f]{64}$/);
  });

  it('the rows the trail adds, session_start and a timed-out session_end, are scored too', async () => {
    const risk = resolveConfig({}, {}).risk;
    await new KnexActivityStore(db.knex, { risk }).writeBatch([activity({ userId: 'sleepy', sessionId: 's-1', browser: null, operatingSystem: null, location: null, startTime: SATURDAY_10_UTC.getTime() })]);
    expect(await closeIdleSessions(db.knex, { timeoutMinutes: 30, now: new Date(SATURDAY_10_UTC.getTime() + 3_600_000), risk })).toBe(1);
    const rows = (await db.knex('user_activity').orderBy('chain_position').select('activity_type', 'risk_score', 'risk_factors', 'severity')) as Array<Record<string, unknown>>;
    expect(rows).toEqual([
      { activity_type: 'data_view', risk_score: 0.1, risk_factors: ['outside_working_hours'], severity: 'info' },
      { activity_type: 'session_start', risk_score: 0.1, risk_factors: ['outside_working_hours'], severity: 'info' },
      { activity_type: 'session_end', risk_score: 0.1, risk_factors: ['outside_working_hours'], severity: 'info' },
    ]);
  });

  it('risk: false leaves the risk columns empty and a given severity as it is', async () => {
    tracker = testTracker(db.knex, { risk: false });
    await tracker.record({ action: 'user.suspended', userId: 'root-1', actorType: 'admin', severity: 'medium', startTime: SATURDAY_10_UTC });
    await tracker.record({ action: 'note.added', userId: 'u', startTime: SATURDAY_10_UTC });
    expect(await risks()).toEqual([
      { action: 'user.suspended', user_id: 'root-1', risk_score: null, risk_factors: null, severity: 'medium', anomaly: null },
      { action: 'note.added', user_id: 'u', risk_score: null, risk_factors: null, severity: null, anomaly: null },
    ]);
  });
});

describe('upgrading to risk scores (migration 20261127000000_risk_scores)', () => {
  let old: TestDatabase;
  beforeAll(async () => { old = await openTestDatabase({ migrated: false }); });
  afterAll(async () => { await old.destroy(); });

  it('learns the devices and countries already stored, and the two-parameter calls still work', async () => {
    for (const name of ['20261123000000_create_activity_tables', '20261124000000_report_indexes', '20261125000000_integrity', '20261126000000_domain_events']) {
      await old.knex.migrate.up({ ...migrationConfig(), name });
    }
    const usChrome = { userId: 'veteran', browser: 'Chrome 126.0.0.0', operatingSystem: 'Windows 10', location: { country: 'US', region: null, city: null, timezone: null } };
    await old.knex.raw('select activity_tracking_append(?::jsonb, false)', [JSON.stringify([activity({ ...usChrome, sessionId: 'old-session' })])]);
    await migrate(old.knex);
    const store = new KnexActivityStore(old.knex, { risk: resolveConfig({ risk: { workingHours: false } }, {}).risk });
    await store.writeBatch([activity(usChrome), activity({ ...usChrome, browser: 'Firefox 128.0' })]);
    // As an older process or the session sweeper calls them.
    await old.knex.raw('select activity_tracking_append(?::jsonb, false)', [JSON.stringify([activity({ ...usChrome, browser: 'Edge 126' })])]);
    await old.knex.raw("select activity_tracking_end_sessions(?::jsonb, 'session.timeout')", [JSON.stringify([{ sessionId: 'old-session', endedAt: Date.UTC(2026, 10, 20, 11) }])]);
    const rows = (await old.knex('user_activity').orderBy('chain_position').select('activity_type', 'browser', 'risk_factors')) as Array<{ activity_type: string; browser: string | null; risk_factors: string[] | null }>;
    expect(rows).toEqual([
      { activity_type: 'data_view', browser: 'Chrome 126.0.0.0', risk_factors: null },
      { activity_type: 'data_view', browser: 'Chrome 126.0.0.0', risk_factors: [] },
      { activity_type: 'data_view', browser: 'Firefox 128.0', risk_factors: ['new_device'] },
      // The rows the append function adds are scored with its options too.
      { activity_type: 'session_start', browser: null, risk_factors: [] },
      { activity_type: 'data_view', browser: 'Edge 126', risk_factors: null },
      { activity_type: 'session_end', browser: null, risk_factors: null },
    ]);
    expect(await verifyChain(old.knex)).toMatchObject({ ok: true, rowsChecked: 6 });
  }, 60_000);
});

describe('the risk options', () => {
  it('name the factors', () => {
    expect(RISK_FACTORS).toEqual(['failed_authentication', 'authorization_failure', 'privileged_action', 'export_or_bulk_read', 'new_device', 'new_country', 'outside_working_hours', 'burst_rate']);
  });

  it('refuse bad values, naming the option, the value and the fix', () => {
    const cases: Array<[unknown, string]> = [
      ['high', 'Invalid risk: "high". Fix: pass false, or an object such as { weights: { new_country: 0.5 } }.'],
      [{ weights: { new_country: 2 } }, 'Invalid risk.weights.new_country: 2. Fix: use a number from 0 to 1.'],
      [{ severityThresholds: { high: 0.3 } }, 'Invalid risk.severityThresholds.high: 0.3. Fix: use at least risk.severityThresholds.medium (0.4): thresholds rise from low to critical.'],
      [{ anomalyThreshold: -0.1 }, 'Invalid risk.anomalyThreshold: -0.1. Fix: use a number from 0 to 1.'],
      [{ workingHours: { start: 18, end: 8 } }, 'Invalid risk.workingHours.end: 8. Fix: use an hour after risk.workingHours.start (18), up to 24.'],
      [{ workingHours: { days: [0, 1] } }, 'Invalid risk.workingHours.days: [0,1]. Fix: pass ISO weekdays, 1 (Monday) to 7 (Sunday), such as [1, 2, 3, 4, 5].'],
      [{ workingHours: { days: [] } }, 'Invalid risk.workingHours.days: []. Fix: name at least one working day, or pass workingHours: false to turn the factor off.'],
      [{ workingHours: { timeZone: 'Mars/Olympus' } }, 'Invalid risk.workingHours.timeZone: "Mars/Olympus". Fix: use an IANA time zone name such as \'UTC\' or \'Europe/Berlin\'.'],
      [{ burstThreshold: 0 }, 'Invalid risk.burstThreshold: 0. Fix: use a whole number from 1 to 10000.'],
      [{ burstWindowSeconds: 1.5 }, 'Invalid risk.burstWindowSeconds: 1.5. Fix: use a whole number from 1 to 86400.'],
      [{ bulkReadBytes: 0 }, 'Invalid risk.bulkReadBytes: 0. Fix: use a whole number from 1 to 2147483647.'],
      [{ privilegedRoles: 'admin' }, 'Invalid risk.privilegedRoles: "admin". Fix: pass an array of non-empty strings.'],
    ];
    for (const [risk, message] of cases) {
      expect(() => resolveConfig({ risk } as Options, {})).toThrow(expect.objectContaining({ code: 'ERR_AT_INVALID_OPTION', message: `${message} (ERR_AT_INVALID_OPTION)` }));
    }
    expect(() => resolveConfig({ risk: { weights: { new_contry: 0.1 } } } as never, {})).toThrow(/Unknown option "risk.weights.new_contry". Did you mean "risk.weights.new_country"\?/);
    expect(() => resolveConfig({ risk: { burstTreshold: 3 } } as never, {})).toThrow(/Unknown option "risk.burstTreshold". Did you mean "risk.burstThreshold"\?/);
  });

  it('fill in the defaults around what is given', () => {
    expect(resolveConfig({ risk: { weights: { new_country: 0.5 }, workingHours: { days: [5, 1, 1] } } }, {}).risk).toMatchObject({
      weights: { new_country: 0.5, new_device: 0.2 }, workingHours: { start: 8, end: 18, days: [1, 5], timeZone: 'UTC' },
    });
    expect(resolveConfig({ risk: false }, {}).risk).toBe(false);
  });
});
