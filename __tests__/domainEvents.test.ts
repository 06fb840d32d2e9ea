import request from 'supertest';
import type { Knex } from 'knex';
import type { Request } from 'express';
import { parse } from 'csv-parse/sync';
import { EXPRESS_VERSIONS, memoryLogger, testTracker } from './support/app';
import { dumpAllRows, openTestDatabase, resetTables, type TestDatabase } from './support/database';
import { bearer, MOUNT, REPORT_SECRET } from './support/reports';
import { fieldDiff, MAX_DIFF_ENTRIES } from '../lib/capture/diff';
import { verifyChain } from '../lib/integrity/verify';
import { SECURITY_EVENTS } from '../lib/index';
import type { ActivityTracker } from '../lib/tracker';

let db: TestDatabase;
beforeAll(async () => { db = await openTestDatabase(); });
afterAll(async () => { await db.destroy(); });
beforeEach(async () => { await resetTables(db.knex); });

const CANARY = 'CANARY-domain-9f3k';

/** Every user_activity row but the session events, in chain order. */
async function rows(): Promise<Array<Record<string, unknown>>> {
  return (await db.knex('user_activity').whereNotIn('activity_type', ['session_start', 'session_end']).orderBy('chain_position').select('*')) as Array<Record<string, unknown>>;
}

const certificationApproved = {
  action: 'certification.approved',
  userId: 'reviewer-7',
  actorType: 'admin',
  actorRole: 'compliance_officer',
  actorName: 'Rita Reviewer',
  category: 'approval',
  severity: 'medium',
  entityType: 'certification',
  entityId: 42,
  entityName: 'ISO 27001 for Acme',
  tenantId: 'acme',
  ownerId: 'acme',
  status: 'success',
  before: { state: 'submitted', approver: null, vendor: { apiKey: CANARY }, items: [1, 2] },
  after: { state: 'approved', approver: 'reviewer-7', vendor: { apiKey: CANARY }, items: [1, 2, 3] },
  reason: 'All controls evidenced',
  details: { ticket: 'CERT-42', password: CANARY },
  personalData: true,
} as const;

describe('a domain event', () => {
  it('is stored with its actor, entity, tenant, owner, status, reason, details and before/after with a field-level diff, sanitized', async () => {
    const tracker = testTracker(db.knex);
    await tracker.record(certificationApproved);
    await tracker.close();
    const [row] = await rows();
    expect(row).toMatchObject({
      activity_type: 'system_action', action: 'certification.approved', user_id: 'reviewer-7',
      actor_type: 'admin', actor_role: 'compliance_officer', actor_name: 'Rita Reviewer', category: 'approval', severity: 'medium',
      entity_type: 'certification', entity_id: '42', entity_name: 'ISO 27001 for Acme', tenant_id: 'acme', owner_id: 'acme',
      status: 'success', success: true, reason: 'All controls evidenced', personal_data: true,
      details: { ticket: 'CERT-42', password: '[REDACTED]' },
      changes: {
        before: { state: 'submitted', approver: null, vendor: { apiKey: '[REDACTED]' }, items: [1, 2] },
        after: { state: 'approved', approver: 'reviewer-7', vendor: { apiKey: '[REDACTED]' }, items: [1, 2, 3] },
        diff: [
          { path: 'approver', before: null, after: 'reviewer-7' },
          { path: 'items', before: [1, 2], after: [1, 2, 3] },
          { path: 'state', before: 'submitted', after: 'approved' },
        ],
      },
    });
    expect(await dumpAllRows(db.knex)).not.toContain(CANARY);
  });

  it('says failure with success false, defaults its actor type, and refuses values outside the vocabulary, naming them', async () => {
    const tracker = testTracker(db.knex);
    await tracker.record({ action: 'token.link.rejected', status: 'failure' });
    await tracker.record({ action: 'nightly.import', userId: 'etl' });
    for (const [event, message] of [
      [{ action: 'x', actorType: 'robot' }, 'Invalid event actorType "robot". Fix: use one of user, admin, agent, system, service'],
      [{ action: 'x', actor: { type: 'robot' } }, 'Invalid event actor.type "robot". Fix: use one of user, admin, agent, system, service'],
      [{ action: 'x', severity: 'urgent' }, 'Invalid event severity "urgent". Fix: use one of info, low, medium, high, critical'],
      [{ action: 'x', status: 'done' }, 'Invalid event status "done". Fix: use one of success, failure, partial, pending'],
      [{ action: 'x', entity: { id: 3 } }, 'Invalid event entity. Fix: pass { type, id?, name? }'],
      [{ action: 'x', personalData: 'yes' }, 'Invalid event personalData "yes". Fix: pass true or false'],
    ] as const) {
      await expect(tracker.record(event as never)).rejects.toMatchObject({ code: 'ERR_AT_INVALID_EVENT', message: expect.stringContaining(message) });
    }
    await tracker.close();
    expect((await rows()).map((r) => ({ action: r['action'], status: r['status'], success: r['success'], actor_type: r['actor_type'], user_id: r['user_id'] }))).toEqual([
      { action: 'token.link.rejected', status: 'failure', success: false, actor_type: 'system', user_id: null },
      { action: 'nightly.import', status: 'success', success: true, actor_type: 'user', user_id: 'etl' },
    ]);
  });

  it('is on the hash chain: the chain verifies with request rows around it, and a changed domain column is caught', async () => {
    const tracker = testTracker(db.knex);
    await tracker.record({ action: 'plain.event' });
    await tracker.record(certificationApproved);
    await tracker.record({ action: 'plain.after' });
    await tracker.close();
    expect(await verifyChain(db.knex)).toMatchObject({ ok: true, rowsChecked: 3 });
    const position = Number((await rows())[1]?.['chain_position']);
    for (const [column, value] of [['tenant_id', 'globex'], ['reason', 'no reason'], ['changes', '{"before":null,"after":null,"diff":[]}'], ['actor_type', 'user']] as const) {
      const original = (await db.knex('user_activity').where('chain_position', position).first(column)) as Record<string, unknown>;
      await asSuperuser(db.knex, `update user_activity set ${column} = ? where chain_position = ?`, [value, position]);
      expect((await verifyChain(db.knex)).failure).toMatchObject({ position, problem: 'content_changed' });
      const restore = column === 'changes' ? JSON.stringify(original[column]) : original[column];
      await asSuperuser(db.knex, `update user_activity set ${column} = ? where chain_position = ?`, [restore, position]);
      expect((await verifyChain(db.knex)).ok).toBe(true);
    }
  });
});

async function asSuperuser(knex: Knex, sql: string, bindings: unknown[]): Promise<void> {
  await knex.transaction(async (trx) => {
    await trx.raw('set local session_replication_role = replica');
    await trx.raw(sql, bindings as Knex.RawBinding[]);
  });
}

describe.each(EXPRESS_VERSIONS)('inside a request (%s)', (_name, express) => {
  let tracker: ActivityTracker;
  afterEach(async () => { await tracker.close(); });

  it('req.activity.record links the event to the request\'s user, session, IP, device and tenant (getTenantId)', async () => {
    const logger = memoryLogger();
    tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET, logger, getTenantId: (req) => (req as Request).get?.('x-tenant') ?? null });
    const app = express();
    app.set('trust proxy', true);
    app.use(tracker.middleware());
    app.post('/assistant/messages', async (req, res) => {
      await req.activity!.record({ action: 'assistant.reply', userId: 'helper-bot', actorType: 'agent', actorName: 'Helper', category: 'conversation', details: { words: 57 } });
      res.status(201).json({ ok: true });
    });
    await request(app).post('/assistant/messages').set(bearer('ada', 'user')).set('x-tenant', 'acme').set('X-Forwarded-For', '81.2.69.142')
      .set('User-Agent', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36').expect(201);
    await tracker.flush();
    const stored = await rows();
    const request_ = stored.find((r) => r['method'] === 'POST');
    const reply = stored.find((r) => r['action'] === 'assistant.reply');
    expect(request_).toMatchObject({ user_id: 'ada', tenant_id: 'acme', ip_address: '81.2.69.142' });
    expect(reply).toMatchObject({
      user_id: 'helper-bot', actor_type: 'agent', actor_name: 'Helper', category: 'conversation', tenant_id: 'acme',
      session_id: request_?.['session_id'], ip_address: '81.2.69.142', browser: request_?.['browser'], operating_system: request_?.['operating_system'],
      details: { words: 57 },
    });
    const [session] = await db.knex('activity_sessions').where('session_id', request_?.['session_id'] as string).select('tenant_id');
    expect(session).toEqual({ tenant_id: 'acme' });
  });

  it('a getTenantId that throws is reported once and the request is stored without a tenant', async () => {
    const logger = memoryLogger();
    tracker = testTracker(db.knex, { logger, getTenantId: () => { throw new Error('tenant lookup broke'); } });
    const app = express();
    app.use(tracker.middleware());
    app.get('/x', (_req, res) => { res.send('ok'); });
    await request(app).get('/x').expect(200, 'ok');
    await request(app).get('/x').expect(200, 'ok');
    await tracker.flush();
    expect((await rows()).map((r) => r['tenant_id'])).toEqual([null, null]);
    expect(logger.lines.filter((l) => l.message.includes('getTenantId option'))).toHaveLength(1);
  });

  it('the report routes return the domain columns: /activities, the entity audit trail with before, after and diff, and /export', async () => {
    tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET });
    await tracker.record(certificationApproved);
    await tracker.flush();
    const app = express();
    app.use(MOUNT, tracker.router());
    const auditor = bearer('aud-1', 'auditor');
    const activities = await request(app).get(`${MOUNT}/activities`).query({ activityType: 'system_action' }).set(auditor).expect(200);
    expect(activities.body.data[0]).toMatchObject({
      action: 'certification.approved', actorType: 'admin', actorRole: 'compliance_officer', actorName: 'Rita Reviewer', category: 'approval',
      severity: 'medium', entityName: 'ISO 27001 for Acme', tenantId: 'acme', ownerId: 'acme', status: 'success', reason: 'All controls evidenced',
      personalData: true, changes: { diff: expect.arrayContaining([{ path: 'state', before: 'submitted', after: 'approved' }]) },
    });
    const trail = await request(app).get(`${MOUNT}/entities/certification/42/audit-trail`).set(auditor).expect(200);
    expect(trail.body.data).toEqual([expect.objectContaining({
      userId: 'reviewer-7', actor: 'reviewer-7', actorType: 'admin', actorName: 'Rita Reviewer', status: 'success', action: 'certification.approved', reason: 'All controls evidenced',
      before: expect.objectContaining({ state: 'submitted' }), after: expect.objectContaining({ state: 'approved' }),
      diff: expect.arrayContaining([{ path: 'approver', before: null, after: 'reviewer-7' }]),
    })]);
    const csv = await request(app).get(`${MOUNT}/export`).set(auditor).buffer(true).expect(200);
    const [header, ...body] = parse(csv.text) as string[][];
    const record = Object.fromEntries(header!.map((name, i) => [name, body.find((r) => r.includes('certification.approved'))?.[i]]));
    expect(record).toMatchObject({ actorType: 'admin', tenantId: 'acme', ownerId: 'acme', status: 'success', reason: 'All controls evidenced', personalData: 'true' });
    expect(JSON.parse(record['changes'] as string)).toMatchObject({ diff: expect.arrayContaining([{ path: 'items', before: [1, 2], after: [1, 2, 3] }]) });
    expect(csv.text).not.toContain(CANARY);
  });
});

describe.each(EXPRESS_VERSIONS)('the OWASP logging vocabulary (%s)', (_name, express) => {
  it('is exported for apps, and the middleware names what it detects with it', async () => {
    expect(SECURITY_EVENTS).toMatchObject({ AUTHN_LOGIN_FAIL: 'authn_login_fail', AUTHN_TOKEN_REUSE: 'authn_token_reuse', AUTHZ_FAIL: 'authz_fail', SENSITIVE_READ: 'sensitive_read' });
    const tracker = testTracker(db.knex);
    const app = express();
    app.use(tracker.middleware());
    app.post('/login', (req, res) => { res.sendStatus(req.query['ok'] === '1' ? 200 : 401); });
    app.get('/search', (_req, res) => { res.sendStatus(429); });
    app.get('/report', async (req, res) => {
      await req.activity!.record({ action: SECURITY_EVENTS.SENSITIVE_READ, entityType: 'salary', entityId: 'e-1', personalData: true });
      res.sendStatus(200);
    });
    await request(app).post('/login?ok=1').expect(200);
    await request(app).post('/login').expect(401);
    await request(app).get('/search').expect(429);
    await request(app).get('/report').expect(200);
    await tracker.close();
    expect((await rows()).map((r) => [r['activity_type'], r['action']])).toEqual([
      ['login', 'authn_login_success'], ['login_failed', 'authn_login_fail'], ['data_view', 'excess_rate_limit_exceeded'],
      ['system_action', 'sensitive_read'], ['data_view', 'read'],
    ]);
  });
});

describe.each(EXPRESS_VERSIONS)('/stats over domain events (%s)', (_name, express) => {
  it('groups by action and by actor type, and narrows by action, actor type and category, without SQL', async () => {
    const tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET });
    const decisions = [
      ...Array.from({ length: 3 }, () => ({ action: 'certification.approved', category: 'approval', userId: 'rita', actorType: 'admin' as const })),
      { action: 'certification.rejected', category: 'approval', userId: 'rita', actorType: 'admin' as const, reason: 'evidence missing' },
      ...Array.from({ length: 2 }, () => ({ action: SECURITY_EVENTS.AUTHN_TOKEN_INVALID, category: 'approval', status: 'failure' as const })),
      ...Array.from({ length: 4 }, () => ({ action: 'assistant.message', category: 'conversation', userId: 'helper-bot', actorType: 'agent' as const })),
      { action: 'assistant.message', category: 'conversation', userId: 'writer-bot', actorType: 'agent' as const },
      { action: 'assistant.message', category: 'conversation', userId: 'ada' },
    ];
    for (const event of decisions) await tracker.record(event);
    const app = express();
    app.use(MOUNT, tracker.router());
    const get = async (query: string) => (await request(app).get(`${MOUNT}/stats?${query}`).set(bearer('aud-1', 'auditor')).expect(200)).body.data;

    const approvals = await get('category=approval');
    expect(approvals).toMatchObject({
      totalActivities: 6,
      byAction: [{ action: 'certification.approved', count: 3 }, { action: 'authn_token_invalid', count: 2 }, { action: 'certification.rejected', count: 1 }],
      byActorType: [{ actorType: 'admin', count: 4 }, { actorType: 'system', count: 2 }],
    });
    const perAgent = await get('actorType=agent&action=assistant.message');
    expect(perAgent).toMatchObject({ totalActivities: 5, topUsers: [{ userId: 'helper-bot', count: 4 }, { userId: 'writer-bot', count: 1 }] });
    const bad = await request(app).get(`${MOUNT}/stats?actorType=robot`).set(bearer('aud-1', 'auditor')).expect(400);
    expect(bad.body.error).toMatchObject({ param: 'actorType' });
    await tracker.close();
  });
});

describe('fieldDiff', () => {
  it('compares objects key by key along dotted paths, anything else whole', () => {
    expect(fieldDiff({ a: 1, b: { c: 2, d: [1] }, gone: true }, { a: 1, b: { c: 3, d: [1, 2] }, added: 'x' })).toEqual([
      { path: 'added', before: null, after: 'x' },
      { path: 'b.c', before: 2, after: 3 },
      { path: 'b.d', before: [1], after: [1, 2] },
      { path: 'gone', before: true, after: null },
    ]);
    expect(fieldDiff(null, { a: 1, b: null })).toEqual([{ path: 'a', before: null, after: 1 }]);
    expect(fieldDiff({ a: 1 }, undefined)).toEqual([{ path: 'a', before: 1, after: null }]);
    expect(fieldDiff('draft', 'final')).toEqual([{ path: '.', before: 'draft', after: 'final' }]);
    expect(fieldDiff({ a: 1 }, { a: 1 })).toEqual([]);
  });

  it('keeps at most MAX_DIFF_ENTRIES entries, the last saying how many more there were', () => {
    const before = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`k${String(i).padStart(3, '0')}`, i]));
    const after = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`k${String(i).padStart(3, '0')}`, i + 1]));
    const diff = fieldDiff(before, after);
    expect(diff).toHaveLength(MAX_DIFF_ENTRIES);
    expect(diff[MAX_DIFF_ENTRIES - 1]).toEqual({ path: '…', before: null, after: `${500 - MAX_DIFF_ENTRIES + 1} more changes` });
  });
});
