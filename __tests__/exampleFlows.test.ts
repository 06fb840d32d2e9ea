import request from 'supertest';
import { createExampleApp, DEMO_PASSWORD, DEMO_USERNAME, EXAMPLE_TRACKER_OPTIONS } from '../example-app/app';
import { LINK_TTL_MS } from '../example-app/approvals';
import { memoryLogger, testTracker } from './support/app';
import { dumpAllRows, openTestDatabase, resetTables, type TestDatabase } from './support/database';
import type { ActivityTracker } from '../lib/tracker';

let db: TestDatabase;
beforeAll(async () => { db = await openTestDatabase(); });
afterAll(async () => { await db.destroy(); });
beforeEach(async () => { await resetTables(db.knex); });

interface Harness {
  tracker: ActivityTracker;
  app: ReturnType<typeof createExampleApp>;
  clock: { now: number };
  login(username: string, password: string): Promise<{ Authorization: string }>;
}

const REPORTS = '/api/activity-tracking';
type Row = Record<string, unknown>;

/** What a caller's GET /activities lists, as [action, user, tenant, owner, risk score, factors, severity], in a stable order. */
async function visibleTo(app: Harness['app'], who: { Authorization: string }): Promise<unknown[][]> {
  const body = (await request(app).get(`${REPORTS}/activities`).query({ limit: 1000 }).set(who).expect(200)).body as { data: Row[] };
  return body.data.map((r) => [r['action'], r['userId'], r['tenantId'], r['ownerId'], r['riskScore'], r['riskFactors'], r['severity']])
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

/** The rows a caller is expected to see, read from the table, in the same shape and order as visibleTo. */
async function storedRows(where: (q: ReturnType<TestDatabase['knex']>) => unknown = () => undefined): Promise<unknown[][]> {
  const query = db.knex('user_activity').select('action', 'user_id', 'tenant_id', 'owner_id', 'risk_score', 'risk_factors', 'severity');
  where(query);
  return ((await query) as Row[]).map((r) => [r['action'], r['user_id'], r['tenant_id'], r['owner_id'], Number(r['risk_score']), r['risk_factors'], r['severity']])
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

async function alertsVisibleTo(app: Harness['app'], who: { Authorization: string }): Promise<unknown[][]> {
  const body = (await request(app).get(`${REPORTS}/alerts`).set(who).expect(200)).body as { data: Row[] };
  return body.data.map((a) => [a['rule'], a['key'], a['count'], a['tenantId'], a['status']]).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

function harness(): Harness {
  const clock = { now: Date.parse('2026-11-23T10:00:00Z') };
  // Working hours off: the rows are stamped with the real clock, whatever the hour of the test run.
  const tracker = testTracker(db.knex, { ...EXAMPLE_TRACKER_OPTIONS, risk: { workingHours: false }, logger: memoryLogger() });
  const app = createExampleApp(tracker, { now: () => clock.now, logError: () => undefined });
  return {
    tracker, app, clock,
    login: async (username, password) => {
      const response = await request(app).post('/api/auth/login').send({ username, password }).expect(200);
      return { Authorization: `Bearer ${response.body.token as string}` };
    },
  };
}

/** The domain events stored, in chain order, as the assertions compare them. */
async function domainEvents(): Promise<Array<Record<string, unknown>>> {
  const rows = (await db.knex('user_activity').whereNull('method').whereNotIn('activity_type', ['session_start', 'session_end'])
    .orderBy('chain_position').select('action', 'user_id', 'actor_type', 'tenant_id', 'owner_id', 'entity_id', 'status', 'reason', 'severity', 'risk_score', 'risk_factors', 'anomaly', 'changes', 'details')) as Array<Record<string, unknown>>;
  return rows.map((r) => ({ ...r, risk_score: Number(r['risk_score']), changes: (r['changes'] as { diff?: unknown } | null)?.diff ?? null }));
}

/** A row nothing about is risky. */
const CALM = { severity: 'info', risk_score: 0, risk_factors: [], anomaly: false };

describe('the example app\'s approval workflow', () => {
  it('records submission and decisions from the panel and from emailed links, refuses invalid, reused and expired links as security events, and raises one alert', async () => {
    const { tracker, app, clock, login } = harness();
    const demo = await login(DEMO_USERNAME, DEMO_PASSWORD);
    const submit = async (title: string): Promise<string> => (await request(app).post('/api/approvals').set(demo).send({ title }).expect(201)).body.id as string;

    const first = await submit('New laptop');
    await request(app).post(`/api/approvals/${first}/approve`).set(demo).expect(200);
    await request(app).post(`/api/approvals/${first}/approve`).set(demo).expect(409);
    const second = await submit('Conference trip');
    await request(app).post(`/api/approvals/${second}/reject`).set(demo).send({}).expect(400);
    await request(app).post(`/api/approvals/${second}/reject`).set(demo).send({ reason: 'Over budget' }).expect(200);

    const third = await submit('Standing desk');
    await request(app).post(`/api/approvals/${third}/links`).set(demo).send({ approver: 'grace-approver' }).expect(201);
    const [mail] = (await request(app).get('/api/outbox').set(demo).expect(200)).body as Array<{ url: string }>;
    await request(app).get(mail!.url).expect(200);
    await request(app).get(mail!.url).expect(409);
    await request(app).get('/approvals/decide?token=made-up-token').expect(400);
    const fourth = await submit('Second monitor');
    await request(app).post(`/api/approvals/${fourth}/links`).set(demo).send({ approver: 'grace-approver' }).expect(201);
    const outbox = (await request(app).get('/api/outbox').set(demo).expect(200)).body as Array<{ url: string }>;
    clock.now += LINK_TTL_MS + 1000;
    await request(app).get(outbox[1]!.url).expect(410);
    await tracker.flush();

    const submitted = (id: string) => ({ action: 'approval.submitted', user_id: 'demo', actor_type: 'user', tenant_id: 'acme', owner_id: 'acme', entity_id: id, status: 'success', reason: null, ...CALM,
      changes: [{ path: 'state', before: null, after: 'submitted' }], details: null });
    const decided = (id: string, decision: string, by: string, reason: string | null, via: string) => ({
      action: `approval.${decision}`, user_id: by, actor_type: 'user', tenant_id: 'acme', owner_id: 'acme', entity_id: id, status: 'success', reason, ...CALM,
      changes: [{ path: 'decidedBy', before: null, after: by }, ...(reason ? [{ path: 'reason', before: null, after: reason }] : []), { path: 'state', before: 'submitted', after: decision }],
      details: { via },
    });
    // A refused link is a failed authentication (weight 0.4: medium); the app's own severity, high, is kept because it is higher.
    const refused = (action: string, id: string | null) => ({ action, user_id: null, actor_type: 'system', tenant_id: id === null ? null : 'acme', owner_id: id === null ? null : 'acme', entity_id: id, status: 'failure', reason: null,
      severity: 'high', risk_score: 0.4, risk_factors: ['failed_authentication'], anomaly: false, changes: null, details: { decision: 'approved' } });
    const linkSent = (id: string) => ({ action: 'approval.link_sent', user_id: 'demo', actor_type: 'user', tenant_id: 'acme', owner_id: 'acme', entity_id: id, status: 'success', reason: null, ...CALM, changes: null, details: { to: 'grace-approver' } });
    expect(await domainEvents()).toEqual([
      submitted(first), decided(first, 'approved', 'demo', null, 'panel'),
      submitted(second), decided(second, 'rejected', 'demo', 'Over budget', 'panel'),
      submitted(third), linkSent(third), decided(third, 'approved', 'grace-approver', null, 'email-link'),
      refused('authn_token_reuse', third), refused('authn_token_invalid', null),
      submitted(fourth), linkSent(fourth), refused('authn_token_expired', fourth),
    ]);
    // The links' tokens are credentials: the rows of the requests that carried them hold none.
    const stored = await dumpAllRows(db.knex);
    for (const { url } of outbox) expect(stored).not.toContain(new URL(url, 'http://x').searchParams.get('token'));

    // Three refused links from one address within 15 minutes: token_abuse, once, however often the rules run.
    await tracker.runJob('alerts');
    await tracker.runJob('alerts');
    const [ip] = (await db.knex('user_activity').where({ action: 'authn_token_invalid' }).pluck('ip_address')) as string[];
    const alerts = await db.knex('activity_alerts').select('rule', 'alert_key', 'count', 'tenant_id', 'details');
    expect(alerts.map((a: Row) => ({ ...a, count: Number(a['count']) }))).toEqual([{
      rule: 'token_abuse', alert_key: `ip:${ip}`, count: 3, tenant_id: null,
      details: { byAction: { authn_token_invalid: 1, authn_token_expired: 1, authn_token_reuse: 1 }, threshold: 3, windowMinutes: 15 },
    }]);
    // The made-up link names no organisation, so the alert is the platform's: Acme's auditor does not see it, the operator does.
    expect(await alertsVisibleTo(app, demo)).toEqual([]);
    expect(await alertsVisibleTo(app, await login('ops', 'ops-password'))).toEqual([['token_abuse', `ip:${ip}`, 3, null, 'open']]);
    await tracker.close();
  });
});

describe('the example app\'s two organisations', () => {
  it('give each organisation its own rows and alerts, scored for risk, and the platform\'s operator all of them', async () => {
    const { tracker, app, login } = harness();
    // Someone guesses Grace's password five times: each failure names her account, so it is Globex's.
    for (let i = 0; i < 5; i++) await request(app).post('/api/auth/login').send({ username: 'grace', password: `guess-${i}` }).expect(401);
    await request(app).post('/api/auth/login').send({ username: 'nobody', password: 'guess' }).expect(401);
    const demo = await login(DEMO_USERNAME, DEMO_PASSWORD);
    const grace = await login('grace', 'grace-password');
    const ops = await login('ops', 'ops-password');
    await request(app).post('/api/approvals').set(demo).send({ title: 'New laptop' }).expect(201);
    await request(app).post('/api/approvals').set(grace).send({ title: 'Printer' }).expect(201);
    await request(app).post('/api/approvals').set(ops).send({ title: 'Not mine to ask' }).expect(403);
    await tracker.flush();
    await tracker.runJob('alerts');
    await tracker.runJob('alerts');

    const failed = ['authn_login_fail', 'grace', 'globex', null, 0.4, ['failed_authentication'], 'medium'];
    const calm = (action: string, user: string, tenant: string | null, owner: string | null = null) => [action, user, tenant, owner, 0, [], 'info'];
    const sorted = (rows: unknown[][]) => rows.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    // Before any report is read (reading is on the trail too, and each read adds a row the next reader may see).
    const everything = await storedRows();
    expect(await visibleTo(app, demo)).toEqual(sorted([
      // Demo signs in from the client Grace's guesses came from: another user, so a session of Demo's own, and the token linked to it.
      calm('authn_login_success', 'demo', 'acme'), calm('session.start', 'demo', 'acme'), calm('session.linked', 'demo', 'acme'),
      calm('approval.submitted', 'demo', 'acme', 'acme'), calm('create', 'demo', 'acme'),
    ]));
    expect(await visibleTo(app, grace)).toEqual(sorted([
      failed, failed, failed, failed, failed,
      // Cookie-less requests from one client are one session, started by the first of them; her own
      // sign-in continues it (the guesses were at her account), and her token is linked to it.
      calm('session.start', 'grace', 'globex'),
      calm('authn_login_success', 'grace', 'globex'), calm('session.linked', 'grace', 'globex'),
      calm('approval.submitted', 'grace', 'globex', 'globex'), calm('create', 'grace', 'globex'),
    ]));
    await tracker.flush();
    const seenByOps = await visibleTo(app, ops);
    expect(seenByOps).toEqual(expect.arrayContaining(everything));
    expect(everything).toEqual(expect.arrayContaining([
      ['authn_login_fail', null, null, null, 0.4, ['failed_authentication'], 'medium'],
      ['create', 'ops', null, null, 0.3, ['authorization_failure'], 'low'],
    ]));
    // The operator's read also lists the two earlier readers' rows (report.read), and nothing else.
    expect(seenByOps.length).toBe(everything.length + 2);

    const [ip] = (await db.knex('user_activity').where({ action: 'authn_login_fail' }).distinct().pluck('ip_address')) as string[];
    // Each rule fires on the fifth failure, all against Grace: the sixth (an unknown account) falls
    // inside the per-IP alert's window and adds no alert.
    const globexAlerts = [['failed_logins_per_account', 'grace', 5, 'globex', 'open'], ['failed_logins_per_ip', ip, 5, 'globex', 'open']];
    expect(await alertsVisibleTo(app, ops)).toEqual(sorted([...globexAlerts]));
    expect(await alertsVisibleTo(app, grace)).toEqual(globexAlerts);
    expect(await alertsVisibleTo(app, demo)).toEqual([]);
    await tracker.close();
  });
});

describe('the example app\'s assistant', () => {
  it('records each message and the agent\'s reply as domain events, the agent as actor, sizes only, counted per user and per organisation', async () => {
    const { tracker, app, login } = harness();
    const demo = await login(DEMO_USERNAME, DEMO_PASSWORD);
    const grace = await login('grace', 'grace-password');
    const replies: string[] = [];
    for (const text of ['Hello there', 'What is on my calendar?']) replies.push((await request(app).post('/api/assistant/messages').set(demo).send({ text }).expect(201)).body.reply as string);
    await request(app).post('/api/assistant/messages').set(demo).send({ text: '' }).expect(400);
    await request(app).post('/api/assistant/messages').set(grace).send({ text: 'Hi' }).expect(201);
    await tracker.flush();
    expect((await domainEvents()).map((e) => [e['action'], e['user_id'], e['actor_type'], e['tenant_id'], e['details'], e['risk_score'], e['severity']])).toEqual([
      ['assistant.message', 'demo', 'user', 'acme', { role: 'user', characters: 11, tokens: 2 }, 0, 'info'],
      ['assistant.message', 'helper-bot', 'agent', 'acme', { role: 'assistant', characters: replies[0]!.length, tokens: 9, inReplyTo: 'demo' }, 0, 'info'],
      ['assistant.message', 'demo', 'user', 'acme', { role: 'user', characters: 23, tokens: 5 }, 0, 'info'],
      ['assistant.message', 'helper-bot', 'agent', 'acme', { role: 'assistant', characters: replies[1]!.length, tokens: 9, inReplyTo: 'demo' }, 0, 'info'],
      ['assistant.message', 'grace', 'user', 'globex', { role: 'user', characters: 2, tokens: 1 }, 0, 'info'],
      ['assistant.message', 'helper-bot', 'agent', 'globex', { role: 'assistant', characters: 'I read 2 characters. (This demo assistant only counts.)'.length, tokens: 9, inReplyTo: 'grace' }, 0, 'info'],
    ]);
    expect(await dumpAllRows(db.knex)).not.toContain('calendar');
    // Usage per user and per agent, without SQL: Acme's auditor counts Acme's conversations only; the operator counts both.
    const usage = async (who: { Authorization: string }) => (await request(app).get(`${REPORTS}/stats`).query({ action: 'assistant.message' }).set(who).expect(200)).body.data;
    expect(await usage(demo)).toMatchObject({ totalActivities: 4, topUsers: [{ userId: 'demo', count: 2 }, { userId: 'helper-bot', count: 2 }], byActorType: expect.arrayContaining([{ actorType: 'agent', count: 2 }, { actorType: 'user', count: 2 }]) });
    expect(await usage(await login('ops', 'ops-password'))).toMatchObject({ totalActivities: 6, topUsers: [{ userId: 'helper-bot', count: 3 }, { userId: 'demo', count: 2 }, { userId: 'grace', count: 1 }] });
    const agents = (await request(app).get(`${REPORTS}/stats?actorType=agent`).set(grace).expect(200)).body.data;
    expect(agents).toMatchObject({ totalActivities: 1, topUsers: [{ userId: 'helper-bot', count: 1 }] });
    await tracker.close();
  });
});
