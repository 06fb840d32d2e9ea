import { randomBytes } from 'node:crypto';
import knexFactory, { type Knex } from 'knex';
import request from 'supertest';
import { parse } from 'csv-parse/sync';
import { runCli } from './support/cli';
import { enableRowLevelSecurity, verifyChain } from '../lib/index';
import { resolveConfig } from '../lib/config';
import { KnexActivityStore } from '../lib/store/activityStore';
import { tenantOnly, EVERY_TENANT } from '../lib/store/reports/tenantScope';
import { readInTenant, rowLevelSecurityBinding, rowLevelSecurityStatus } from '../lib/store/rowLevelSecurity';
import { grantWriterRole } from '../lib/store/writerRole';
import { uuidv7 } from '../lib/util/ids';
import type { ActivityTracker } from '../lib/tracker';
import type { ActivityEvent } from '../lib/types';
import { EXPRESS_VERSIONS, memoryLogger, testTracker } from './support/app';
import { waitFor } from './support/recorder';
import { openTestDatabase, usingPostgres, type TestDatabase } from './support/database';
import { activity, MOUNT, REPORT_SECRET, reportApp, seed, tokenFor } from './support/reports';

/*
 * Two tenants, acme and globex, and rows of neither. Row g2 is globex's action on an invoice that
 * acme owns (owner_id = 'acme'); n2 is a platform row about an order globex owns. Times lie between
 * two and one hours ago, so the reads' own trail rows (written now) stay outside every period asked for.
 */
const NOW = Date.now();
const BASE = NOW - 2 * 3_600_000;
const minute = (n: number): number => BASE + n * 60_000;
const CUTOFF = new Date(NOW - 3_600_000).toISOString();
const FROM = new Date(BASE - 60_000).toISOString();
const PERIOD = `startDate=${FROM}&endDate=${CUTOFF}`;

const ROWS: Record<string, ActivityEvent> = {
  a1: activity({ startTime: minute(0), userId: 'ann', sessionId: 's-acme', tenantId: 'acme', ownerId: 'acme', entityType: 'invoice', entityId: '100' }),
  a2: activity({ startTime: minute(1), userId: 'ann', sessionId: 's-acme', tenantId: 'acme', activityType: 'login_failed', statusCode: 400, success: false, entityType: null, entityId: null }),
  g1: activity({ startTime: minute(2), userId: 'gus', sessionId: 's-globex', tenantId: 'globex', ownerId: 'globex', entityType: 'order', entityId: '7' }),
  g2: activity({ startTime: minute(3), userId: 'gus', sessionId: 's-globex', tenantId: 'globex', ownerId: 'acme', activityType: 'data_update', entityType: 'invoice', entityId: '100' }),
  g3: activity({ startTime: minute(4), userId: 'gus', sessionId: 's-globex', tenantId: 'globex', activityType: 'login_failed', statusCode: 400, success: false, entityType: null, entityId: null }),
  n1: activity({ startTime: minute(5), userId: 'sys', sessionId: 's-none', entityType: 'invoice', entityId: '100' }),
  n2: activity({ startTime: minute(6), userId: 'sys', sessionId: 's-none', ownerId: 'globex', entityType: 'order', entityId: '7' }),
};
const idOf = (name: string): string => ROWS[name]!.id;
const ids = (...names: string[]): string[] => names.map(idOf).sort();

/** What each kind of caller must see, and nothing more. */
const VISIBLE = {
  every: {
    activities: ids('a1', 'a2', 'g1', 'g2', 'g3', 'n1', 'n2'),
    sessions: ['s-acme', 's-globex', 's-none'],
    suspicious: [`failed_login:${idOf('a2')}`, `failed_login:${idOf('g3')}`, 'repeated_failed_logins_ip:203.0.113.7'].sort(),
    invoiceTrail: ids('a1', 'g2', 'n1'),
    sessionsStarted: 3,
  },
  acme: {
    activities: ids('a1', 'a2', 'g2'),
    sessions: ['s-acme'],
    // One failure of acme's and one of globex's from the same address are no burst for either tenant.
    suspicious: [`failed_login:${idOf('a2')}`],
    invoiceTrail: ids('a1', 'g2'),
    sessionsStarted: 1,
  },
  globex: {
    activities: ids('g1', 'g2', 'g3', 'n2'),
    sessions: ['s-globex'],
    suspicious: [`failed_login:${idOf('g3')}`],
    invoiceTrail: ids('g2'),
    sessionsStarted: 1,
  },
} as const;

/** The callers of the matrix; the tenant claim comes under each of its three accepted names. */
const PRINCIPALS = [
  { name: 'system_admin without a tenant', sub: 'root', role: 'system_admin', claims: {}, sees: VISIBLE.every },
  { name: 'system_admin naming a tenant', sub: 'root2', role: 'system_admin', claims: { tenantId: 'acme' }, sees: VISIBLE.every },
  { name: 'admin@acme', sub: 'ada', role: 'admin', claims: { tenantId: 'acme' }, sees: VISIBLE.acme },
  { name: 'auditor@acme', sub: 'aud', role: 'auditor', claims: { tenant_id: 'acme' }, sees: VISIBLE.acme },
  { name: 'auditor@globex', sub: 'gina', role: 'auditor', claims: { tid: 'globex' }, sees: VISIBLE.globex },
  { name: 'manager@globex', sub: 'max', role: 'manager', claims: { tenantId: 'globex' }, sees: VISIBLE.globex },
] as const;

const auth = (sub: string, role: string, claims: Record<string, unknown> = {}): { Authorization: string } => ({ Authorization: `Bearer ${tokenFor(sub, role, claims)}` });

const MULTI_TENANT = { jwtSecret: REPORT_SECRET, getTenantId: () => null, sessionTimeoutMinutes: 1440, suspicious: { failedLoginThreshold: 2 } };

let db: TestDatabase;
beforeAll(async () => {
  db = await openTestDatabase();
  await seed(db.knex, Object.values(ROWS));
});
afterAll(async () => { await db.destroy(); });

function csvIds(text: string): string[] {
  const [header, ...rows] = parse(text, { bom: true }) as string[][];
  expect(header![0]).toBe('id');
  return rows.map((row) => row[0]!).sort();
}

describe.each(EXPRESS_VERSIONS)('tenant scoping with %s', (_name, express) => {
  let tracker: ActivityTracker;
  let app: ReturnType<typeof reportApp>;
  beforeAll(() => {
    tracker = testTracker(db.knex, MULTI_TENANT);
    app = reportApp(express, tracker, { capture: false });
  });
  afterAll(async () => { await tracker.close(); });

  describe.each(PRINCIPALS)('$name', ({ sub, role, claims, sees }) => {
    const get = (path: string) => request(app).get(`${MOUNT}${path}`).set(auth(sub, role, claims));

    it('GET /activities lists exactly the rows of its tenant and about entities its tenant owns', async () => {
      const response = await get(`/activities?endDate=${CUTOFF}&limit=100`);
      expect(response.status).toBe(200);
      expect((response.body.data as Array<{ id: string }>).map((r) => r.id).sort()).toEqual(sees.activities);
      expect(response.body.pagination.total).toBe(sees.activities.length);
    });

    it('GET /stats counts only those rows', async () => {
      const response = await get(`/stats?${PERIOD}`);
      expect(response.status).toBe(200);
      expect(response.body.data.totalActivities).toBe(sees.activities.length);
    });

    it('GET /sessions/active lists only its tenant\'s sessions', async () => {
      const response = await get('/sessions/active?limit=100');
      expect(response.status).toBe(200);
      expect((response.body.data as Array<{ sessionId: string }>).map((s) => s.sessionId).sort()).toEqual(sees.sessions);
      expect(response.body.pagination.total).toBe(sees.sessions.length);
    });

    it('GET /suspicious finds only its rows, and counts bursts over its rows only', async () => {
      const response = await get(`/suspicious?${PERIOD}`);
      expect(response.status).toBe(200);
      const found = (response.body.data as Array<{ rule: string; activityId: string | null; ipAddress: string | null }>)
        .map((i) => `${i.rule}:${i.activityId ?? i.ipAddress}`).sort();
      expect(found).toEqual(sees.suspicious);
    });

    it('GET /entities/invoice/100/audit-trail shows its own actions on the invoice, and all of them when its tenant owns it', async () => {
      const response = await get(`/entities/invoice/100/audit-trail?endDate=${CUTOFF}`);
      expect(response.status).toBe(200);
      expect((response.body.data as Array<{ id: string }>).map((r) => r.id).sort()).toEqual(sees.invoiceTrail);
      expect(response.body.pagination.total).toBe(sees.invoiceTrail.length);
    });

    it('GET /export streams exactly those rows', async () => {
      const response = await get(`/export?endDate=${CUTOFF}`);
      expect(response.status).toBe(200);
      expect(csvIds(response.text)).toEqual(sees.activities);
    });

    it('GET /compliance-report reports on those rows and sessions only', async () => {
      const response = await get(`/compliance-report?${PERIOD}`);
      expect(response.status).toBe(200);
      const byType = response.body.data.activityByType as Array<{ count: number }>;
      expect(byType.reduce((sum, t) => sum + t.count, 0)).toBe(sees.activities.length);
      expect(response.body.data.sessions.started).toBe(sees.sessionsStarted);
    });
  });

  it('puts the tenant a read was limited to on its trail row (none for a read of every tenant)', async () => {
    await request(app).get(`${MOUNT}/activities?endDate=${CUTOFF}`).set(auth('trail-acme', 'auditor', { tenantId: 'acme' })).expect(200);
    await request(app).get(`${MOUNT}/activities?endDate=${CUTOFF}`).set(auth('trail-root', 'system_admin')).expect(200);
    await tracker.flush();
    const rows = (await db.knex('user_activity').select('user_id', 'details').whereIn('user_id', ['trail-acme', 'trail-root']).where('activity_type', 'audit_read')) as Array<{ user_id: string; details: Record<string, unknown> }>;
    expect(Object.fromEntries(rows.map((r) => [r.user_id, r.details['tenantScope']]))).toEqual({ 'trail-acme': 'acme', 'trail-root': undefined });
  });

  it('refuses a reader without a tenant claim on every report route when the app has tenants (403), but not on /me/*', async () => {
    for (const route of ['/activities', '/stats', '/sessions/active', '/suspicious', '/entities/invoice/100/audit-trail', '/export', `/compliance-report?${PERIOD}`]) {
      const response = await request(app).get(`${MOUNT}${route}`).set(auth('nobody', 'auditor'));
      expect([route, response.status, response.body.error.code]).toEqual([route, 403, 'ERR_AT_FORBIDDEN']);
      expect(response.body.error.message).toMatch(/needs a tenant claim \(tenantId, tenant_id or tid\)/);
    }
    const own = await request(app).get(`${MOUNT}/me/sessions`).set(auth('ann', 'user'));
    expect(own.status).toBe(200);
    expect((own.body.data as Array<{ sessionId: string }>).map((s) => s.sessionId)).toEqual(['s-acme']);
  });

  it('lets only a caller who reads every tenant check the whole chain or the health of the write path', async () => {
    const status = async (path: string, sub: string, role: string, claims: Record<string, unknown> = {}) => (await request(app).get(`${MOUNT}${path}`).set(auth(sub, role, claims))).status;
    for (const path of ['/integrity', '/health']) {
      expect([path, await status(path, 'root', 'system_admin')]).toEqual([path, 200]);
      expect([path, await status(path, 'ada', 'admin', { tenantId: 'acme' })]).toEqual([path, 403]);
      expect([path, await status(path, 'aud', 'auditor', { tenantId: 'acme' })]).toEqual([path, 403]);
      expect([path, await status(path, 'nobody', 'admin')]).toEqual([path, 403]);
    }
    const refused = await request(app).get(`${MOUNT}/integrity`).set(auth('ada', 'admin', { tenantId: 'acme' }));
    expect(refused.body.error).toMatchObject({ code: 'ERR_AT_FORBIDDEN', message: expect.stringMatching(/an admin of one tenant may not use it/) });
  });
});

describe.each(EXPRESS_VERSIONS)('an app without tenants, with %s', (_name, express) => {
  let tracker: ActivityTracker;
  let app: ReturnType<typeof reportApp>;
  beforeAll(() => {
    tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET, sessionTimeoutMinutes: 1440 });
    app = reportApp(express, tracker, { capture: false });
  });
  afterAll(async () => { await tracker.close(); });

  it('lets a reader without a tenant claim read every row, as before tenants existed', async () => {
    const response = await request(app).get(`${MOUNT}/activities?endDate=${CUTOFF}&limit=100`).set(auth('aud', 'auditor'));
    expect((response.body.data as Array<{ id: string }>).map((r) => r.id).sort()).toEqual(VISIBLE.every.activities);
    const chain = await request(app).get(`${MOUNT}/integrity`).set(auth('ada', 'admin'));
    expect(chain.status).toBe(200);
  });

  it('still scopes a reader whose token names a tenant', async () => {
    const response = await request(app).get(`${MOUNT}/export?endDate=${CUTOFF}`).set(auth('aud', 'auditor', { tenantId: 'globex' }));
    expect(csvIds(response.text)).toEqual(VISIBLE.globex.activities);
  });

  it("scopes the principal of an authorize(req) option by its tenantId, numbers included", async () => {
    const numeric = await seedNumericTenant();
    const authorized = testTracker(db.knex, { authorize: () => ({ userId: 'app-user', role: 'auditor', tenantId: 42 as unknown as string }) });
    try {
      const response = await request(reportApp(express, authorized, { capture: false })).get(`${MOUNT}/activities?limit=100`);
      expect((response.body.data as Array<{ id: string }>).map((r) => r.id)).toEqual([numeric]);
    } finally {
      await authorized.close();
    }
  });
});

let numericTenantRow: string | undefined;
async function seedNumericTenant(): Promise<string> {
  if (numericTenantRow === undefined) {
    const row = activity({ startTime: minute(70), userId: 'n42', sessionId: 's-42', tenantId: '42' });
    await seed(db.knex, [row]);
    numericTenantRow = row.id;
  }
  return numericTenantRow;
}

describe('the tenants and rowLevelSecurity options', () => {
  it("default to 'required' with getTenantId and 'optional' without; rowLevelSecurity to false", () => {
    expect(resolveConfig({ getTenantId: () => 'acme' }, {}).tenants).toBe('required');
    expect(resolveConfig({}, {}).tenants).toBe('optional');
    expect(resolveConfig({ getTenantId: () => 'acme', tenants: 'optional' }, {}).tenants).toBe('optional');
    expect(resolveConfig({}, {}).rowLevelSecurity).toBe(false);
  });

  it('refuse other values, naming the option and the fix', () => {
    expect(() => resolveConfig({ tenants: 'sometimes' as never }, {})).toThrow(/Invalid tenants: "sometimes"\. Fix: use 'required'/);
    expect(() => resolveConfig({ rowLevelSecurity: 'yes' as never }, {})).toThrow(/Invalid rowLevelSecurity: "yes"\. Fix: use true or false/);
  });

  it('with rowLevelSecurity, a tenant reader\'s queries run in a read-only transaction that sets activity_tracking.tenant_id (PostgreSQL), and not on the embedded database', async () => {
    const tracker = testTracker(db.knex, { ...MULTI_TENANT, rowLevelSecurity: true });
    const seen: Array<{ sql: string; bindings: unknown[]; tx: unknown }> = [];
    const listen = (q: { sql: string; bindings?: unknown[]; __knexTxId?: unknown }): void => { seen.push({ sql: q.sql, bindings: q.bindings ?? [], tx: q.__knexTxId }); };
    await tracker.ready();
    db.knex.on('query', listen);
    try {
      const response = await request(reportApp(EXPRESS_VERSIONS[1][1], tracker, { capture: false })).get(`${MOUNT}/activities?endDate=${CUTOFF}`).set(auth('aud', 'auditor', { tenantId: 'acme' }));
      expect((response.body.data as Array<{ id: string }>).map((r) => r.id).sort()).toEqual(VISIBLE.acme.activities);
    } finally {
      db.knex.removeListener('query', listen);
      await tracker.close();
    }
    const setting = seen.find((q) => /set_config/.test(q.sql));
    if (!usingPostgres) {
      expect(setting).toBeUndefined();
      return;
    }
    expect(setting?.bindings).toEqual(['activity_tracking.tenant_id', 'acme']);
    const reads = seen.filter((q) => /from "user_activity"/.test(q.sql));
    expect(reads.length).toBe(2);
    expect(reads.every((q) => q.tx !== undefined && q.tx === setting?.tx)).toBe(true);
  });

  it('refuse to enable row-level security on the embedded database', async () => {
    if (usingPostgres) return;
    await expect(enableRowLevelSecurity(db.knex)).rejects.toMatchObject({ code: 'ERR_AT_DATABASE', message: expect.stringMatching(/needs a PostgreSQL server/) });
  });

  it('warn at start that rowLevelSecurity is ignored on the embedded database', async () => {
    if (usingPostgres) return;
    const logger = memoryLogger();
    const tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET, rowLevelSecurity: true, jobs: false, logger });
    try {
      await tracker.ready();
      await waitFor(() => logger.lines.some((line) => line.context?.['code'] === 'ERR_AT_RLS_NOT_ENFORCED'), 5000);
      expect(logger.lines.filter((line) => line.context?.['code'] === 'ERR_AT_RLS_NOT_ENFORCED')).toEqual([
        { level: 'warn', message: expect.stringMatching(/ignored on the embedded database/), context: { code: 'ERR_AT_RLS_NOT_ENFORCED' } },
      ]);
    } finally {
      await tracker.close();
    }
  });
});

/*
 * The second wall. PostgreSQL exempts superusers and the tables' owner from row-level security, and
 * the tests connect as the superuser postgres, so the policies are proven through a role made here:
 * a reader with SELECT only, and a writer that may append but owns nothing.
 */
(usingPostgres ? describe : describe.skip)('row-level security on PostgreSQL', () => {
  const suffix = randomBytes(4).toString('hex');
  const readerRole = `at_rls_reader_${suffix}`;
  const writerRole = `at_rls_writer_${suffix}`;
  let reader: Knex;
  let writer: Knex;

  const connectAs = (role: string): Knex => {
    const url = new URL(db.url!);
    url.username = role;
    url.password = '';
    return knexFactory({ client: 'pg', connection: url.toString(), pool: { min: 0, max: 2 } });
  };
  const visibleIds = async (knex: Knex, tenant: string | null): Promise<string[]> =>
    readInTenant(knex, tenant === null ? EVERY_TENANT : tenantOnly(tenant), true, async (conn) => ((await conn('user_activity').select('id').where('start_time', '<=', CUTOFF)) as Array<{ id: string }>).map((r) => r.id).sort());

  beforeAll(async () => {
    const schema = db.schema!;
    await db.knex.raw(`create role "${readerRole}" login`);
    await db.knex.raw(`create role "${writerRole}" login`);
    for (const role of [readerRole, writerRole]) {
      await db.knex.raw(`grant usage on schema "${schema}" to "${role}"`);
      await db.knex.raw(`grant select on all tables in schema "${schema}" to "${role}"`);
    }
    // The application's writer role as the README sets it up: it owns nothing and appends only through the package's functions.
    await grantWriterRole(db.knex, writerRole);
    reader = connectAs(readerRole);
    writer = connectAs(writerRole);
    await cli(['rls', 'enable']);
  });
  afterAll(async () => {
    await reader?.destroy();
    await writer?.destroy();
    await cli(['rls', 'disable']);
    for (const role of [readerRole, writerRole]) {
      await db.knex.raw(`drop owned by "${role}"`);
      await db.knex.raw(`drop role "${role}"`);
    }
  });

  const cli = (argv: string[]) => runCli(argv, { DATABASE_URL: db.url! });

  it('activity-tracking rls enable puts the policies on both tables, and says so', async () => {
    expect(await rowLevelSecurityStatus(db.knex)).toEqual({ user_activity: true, activity_sessions: true, activity_alerts: true, activity_alert_acknowledgements: true, activity_daily_rollups: true, activity_hourly_rollups: true });
    expect(await cli(['rls', 'status'])).toEqual({
      code: 0,
      out: ['user_activity', 'activity_sessions', 'activity_alerts', 'activity_alert_acknowledgements', 'activity_daily_rollups', 'activity_hourly_rollups'].map((table) => `${table}: row-level security on\n`).join(''),
      err: '',
    });
    expect((await cli(['rls', 'sideways'])).code).toBe(2);
  });

  it('a role that sets activity_tracking.tenant_id sees only that tenant\'s rows and rows about what it owns, without any filter in its SQL', async () => {
    expect(await visibleIds(reader, 'acme')).toEqual(VISIBLE.acme.activities);
    expect(await visibleIds(reader, 'globex')).toEqual(VISIBLE.globex.activities);
    expect(await visibleIds(reader, 'initech')).toEqual([]);
    const sessions = await reader.transaction(async (trx) => {
      await trx.raw('select set_config(?, ?, true)', ['activity_tracking.tenant_id', 'globex']);
      return ((await trx('activity_sessions').select('session_id').orderBy('session_id')) as Array<{ session_id: string }>).map((s) => s.session_id);
    });
    expect(sessions).toEqual(['s-globex']);
  });

  it('a role that does not set it (platform reads) sees every row, also after a transaction that set it on the same connection', async () => {
    expect(await visibleIds(reader, null)).toEqual(VISIBLE.every.activities);
    const single = connectAs(readerRole);
    try {
      await visibleIds(single, 'acme');
      expect(await visibleIds(single, null)).toEqual(VISIBLE.every.activities);
    } finally {
      await single.destroy();
    }
  });

  it('the write path still appends and chains for a role that owns nothing, and the chain verifies', async () => {
    const late = activity({ startTime: minute(80), userId: 'gus', sessionId: 's-globex', tenantId: 'globex' });
    await new KnexActivityStore(writer, { sessionEvents: false }).writeBatch([late]);
    await seed(db.knex, [activity({ startTime: minute(81), userId: 'ann', sessionId: 's-acme', tenantId: 'acme' })]);
    const verification = await verifyChain(db.knex);
    expect(verification.ok).toBe(true);
    const stored = (await db.knex('user_activity').where('id', late.id).first()) as { tenant_id: string };
    expect(stored.tenant_id).toBe('globex');
  });

  it('guards the alerts, and an acknowledgement is seen only where its alert is', async () => {
    const alertIds = { acme: uuidv7(), globex: uuidv7(), platform: uuidv7() };
    const at = new Date(minute(10));
    for (const [tenant, id] of Object.entries(alertIds)) {
      await db.knex('activity_alerts').insert({
        id, rule: 'failed_logins_per_account', alert_key: `key-${tenant}`, window_start: at, window_end: at, severity: 'high',
        tenant_id: tenant === 'platform' ? null : tenant, count: 5, first_seen: at, last_seen: at, summary: tenant, details: {},
      });
      await db.knex('activity_alert_acknowledgements').insert({ id: uuidv7(), alert_id: id, acknowledged_by: 'root' });
    }
    const seen = (tenant: string | null) => readInTenant(reader, tenant === null ? EVERY_TENANT : tenantOnly(tenant), true, async (conn) => ({
      alerts: ((await conn('activity_alerts').pluck('id').whereIn('id', Object.values(alertIds))) as string[]).sort(),
      acknowledged: ((await conn('activity_alert_acknowledgements').pluck('alert_id').whereIn('alert_id', Object.values(alertIds))) as string[]).sort(),
    }));
    expect(await seen('acme')).toEqual({ alerts: [alertIds.acme], acknowledged: [alertIds.acme] });
    expect(await seen('globex')).toEqual({ alerts: [alertIds.globex], acknowledged: [alertIds.globex] });
    expect(await seen(null)).toEqual({ alerts: Object.values(alertIds).sort(), acknowledged: Object.values(alertIds).sort() });
  });

  it('says whether the policies bind a connection: not for a superuser, a BYPASSRLS role, a table\'s owner, or a table without its policy', async () => {
    expect(await rowLevelSecurityBinding(writer)).toEqual({ enforced: true, reasons: [] });
    expect(await rowLevelSecurityBinding(db.knex)).toMatchObject({ enforced: false, reasons: expect.arrayContaining(['the role postgres is a superuser']) });
    const trx = await db.knex.transaction();
    try {
      await trx.raw(`alter role "${writerRole}" bypassrls`);
      await trx.raw(`alter table activity_alerts owner to "${writerRole}"`);
      await trx.raw('drop policy activity_tracking_tenant on activity_sessions');
      await trx.raw(`set local role "${writerRole}"`);
      expect(await rowLevelSecurityBinding(trx)).toEqual({
        enforced: false,
        reasons: ['no policy on activity_sessions: run activity-tracking rls enable', `the role ${writerRole} has BYPASSRLS`, `the role ${writerRole} owns activity_alerts`],
      });
    } finally {
      await trx.rollback();
    }
  });

  it('with rowLevelSecurity on, GET /health shows whether the wall binds, and a tracker it does not bind says so at start', async () => {
    const logs = { writer: memoryLogger(), owner: memoryLogger() };
    const asWriter = testTracker(writer, { jwtSecret: REPORT_SECRET, rowLevelSecurity: true, jobs: false, logger: logs.writer });
    const asOwner = testTracker(db.knex, { jwtSecret: REPORT_SECRET, rowLevelSecurity: true, jobs: false, logger: logs.owner });
    const [, express] = EXPRESS_VERSIONS[0];
    try {
      const health = async (tracker: ActivityTracker) => (await request(reportApp(express, tracker, { capture: false })).get(`${MOUNT}/health`).set(auth('root', 'system_admin'))).body.data;
      expect(await health(asWriter)).toMatchObject({ status: 'ok', rowLevelSecurity: { enforced: true, reasons: [] } });
      expect(await health(asOwner)).toMatchObject({ status: 'degraded', rowLevelSecurity: { enforced: false, reasons: expect.arrayContaining(['the role postgres is a superuser']) } });
      await asOwner.ready();
      await asWriter.ready();
      const errors = (log: typeof logs.owner) => log.lines.filter((line) => line.context?.['code'] === 'ERR_AT_RLS_NOT_ENFORCED');
      await waitFor(() => errors(logs.owner).length === 1, 5000);
      expect(errors(logs.owner)[0]).toMatchObject({ level: 'error', message: expect.stringMatching(/superuser.*Fix: run activity-tracking rls enable/) });
      expect(errors(logs.writer)).toEqual([]);
    } finally {
      await asWriter.close();
      await asOwner.close();
    }
  });

  it('the append-only triggers still refuse a change, policy or not', async () => {
    await expect(db.knex('user_activity').where('id', idOf('a1')).update({ user_id: 'mallory' })).rejects.toThrow(/append-only|not allowed|refuse/i);
  });
});
