import { randomBytes } from 'node:crypto';
import express from 'express';
import knexFactory, { type Knex } from 'knex';
import request from 'supertest';
import { createCheckpoint, verifyChain, verifyCheckpoint } from '../lib/index';
import { ROW_HASH_SIGNATURE } from '../migrations/sql/generator/chainSql';
import { removeExpiredActivity } from '../lib/jobs/retention';
import { resolveSigningKey } from '../lib/integrity/batchSignatures';
import { grantWriterRole } from '../lib/store/writerRole';
import { createActivityTracker, type ActivityTracker } from '../lib/tracker';
import { memoryLogger, tempJournalDir } from './support/app';
import { openTestDatabase, usingPostgres, type TestDatabase } from './support/database';
import { activity, bearer, MOUNT, REPORT_SECRET, reportApp } from './support/reports';
import { runCli } from './support/cli';

// PostgreSQL only: the embedded database has one user, who owns everything.
const describePostgres = usingPostgres ? describe : describe.skip;

const KEY = 'writer-role-test-signing-key-0123456789';

describePostgres('the app run as a writer role that owns nothing', () => {
  let db: TestDatabase;
  let role: string;
  let writer: Knex;
  let writerUrl: string;
  let tracker: ActivityTracker | undefined;

  beforeAll(async () => {
    db = await openTestDatabase();
    role = `at_writer_${randomBytes(5).toString('hex')}`;
    await db.knex.raw(`create role ${role} login nosuperuser nocreatedb nocreaterole`);
    const url = new URL(db.url!);
    url.username = role;
    url.password = '';
    writerUrl = url.toString();
    writer = knexFactory({ client: 'pg', connection: writerUrl, pool: { min: 0, max: 2 } });
    await grantWriterRole(db.knex, role);
  });
  afterAll(async () => {
    await tracker?.close();
    await writer.destroy();
    await db.knex.raw(`drop owned by ${role}`);
    await db.knex.raw(`drop role ${role}`);
    await db.destroy();
  });

  it('activity-tracking grant --role gives a role its rights (again, harmlessly); a superuser or the owner is refused', async () => {
    const refused = await runCli(['grant', '--role', 'postgres'], { DATABASE_URL: db.url! });
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/Role "postgres" is a superuser, so it could change the trail/);
    await expect(grantWriterRole(db.knex, 'no such"role')).rejects.toThrow(/Invalid role name/);

    const { code, out } = await runCli(['grant', '--role', role], { DATABASE_URL: db.url! });
    expect(code).toBe(0);
    expect(out).toContain(`grant execute on function "${db.schema}".activity_tracking_append(jsonb, boolean, jsonb)`);
    const roles = (await db.knex.raw('select rolsuper from pg_roles where rolname = ?', [role])) as { rows: Array<{ rolsuper: boolean }> };
    expect(roles.rows[0]!.rolsuper).toBe(false);
  });

  it('records requests, sessions, summaries, risk and alerts; runs the sweeper, retention, checkpoints, reports and verify', async () => {
    tracker = createActivityTracker({
      database: writerUrl, signingKey: KEY, jwtSecret: REPORT_SECRET, jobs: false, flushIntervalMs: 5,
      logger: memoryLogger(), journal: { dir: tempJournalDir() }, sessionTimeoutMinutes: 1,
    });
    await tracker.ready();
    const app = reportApp(express, tracker);
    app.post('/api/login', (_req, res) => { res.status(401).json({ error: 'bad password' }); });
    app.get('/api/items/:id', (req, res) => { res.json({ id: req.params['id'] }); });
    app.post('/api/logout', (_req, res) => { res.json({ ok: true }); });
    // Six failed logins from one IP: the failed_logins_per_ip alert.
    for (let i = 0; i < 6; i += 1) await request(app).post('/api/login').set('X-Forwarded-For', '198.51.100.9').send({ user: `u${i}` }).expect(401);
    const agent = request.agent(app);
    // A browser alice is seen with: her risk baseline learns it.
    const browser = { ...bearer('alice', 'user'), 'User-Agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36' };
    for (let i = 0; i < 4; i += 1) await agent.get(`/api/items/${i}`).set(browser).expect(200);
    await agent.post('/api/logout').set(bearer('alice', 'user')).expect(200);
    await tracker.record({ action: 'invoice.approved', userId: 'bob', entityType: 'invoice', entityId: '9', sessionId: 'bob-session' });
    await tracker.flush();
    expect(tracker.stats()).toMatchObject({ lastError: null, dropped: 0, rejected: 0, journaled: 0 });

    const stored = (await db.knex('user_activity').select('activity_type', 'risk_score')) as Array<{ activity_type: string; risk_score: number | null }>;
    expect(stored.length).toBeGreaterThanOrEqual(12);
    expect(stored.map((r) => r.activity_type)).toEqual(expect.arrayContaining(['login_failed', 'data_view', 'logout', 'session_start', 'session_end']));
    expect(stored.some((r) => r.risk_score !== null)).toBe(true);
    expect(Number(((await db.knex('activity_summaries').count({ n: '*' })) as Array<{ n: string }>)[0]!.n)).toBeGreaterThan(0);
    expect(Number(((await db.knex('activity_risk_baseline').count({ n: '*' })) as Array<{ n: string }>)[0]!.n)).toBeGreaterThan(0);

    expect(await tracker.runJob('alerts')).toBe(true);
    const alerts = await request(app).get(`${MOUNT}/alerts`).set(bearer('root', 'admin')).expect(200);
    const alert = (alerts.body.data as Array<{ id: string; rule: string }>).find((a) => a.rule === 'failed_logins_per_ip');
    expect(alert).toBeDefined();
    await request(app).post(`${MOUNT}/alerts/${alert!.id}/acknowledge`).set(bearer('root', 'admin')).send({ note: 'seen' }).expect(201);
    await request(app).get(`${MOUNT}/activities`).set(bearer('root', 'admin')).expect(200);
    const today = new Date().toISOString().slice(0, 10);
    for (const report of ['/sessions/active', '/stats', '/suspicious', `/compliance-report?startDate=${today}&endDate=${today}`, '/export', '/health']) {
      const answer = await request(app).get(`${MOUNT}${report}`).set(bearer('root', 'admin'));
      expect([report, answer.status, answer.status === 200 ? '' : JSON.stringify(answer.body)]).toEqual([report, 200, '']);
    }
    await request(app).get(`${MOUNT}/me/summary`).set(bearer('alice', 'user')).expect(200);
    await tracker.flush();

    // bob's session is idle an hour from now: the sweeper, as the writer, ends it.
    await db.knex('activity_sessions').where('session_id', 'bob-session').update({ last_activity: new Date(Date.now() - 3_600_000) });
    expect(await tracker.runJob('session-sweeper')).toBe(true);
    expect(await db.knex('user_activity').where({ session_id: 'bob-session', activity_type: 'session_end' }).first()).toBeDefined();
    // The rollups job, as the writer, builds today's closed hours (none, in the first hour of a day) and merges.
    expect(await tracker.runJob('rollups')).toBe(true);

    const verified = await verifyChain(writer, { signingKey: KEY });
    expect(verified).toMatchObject({ ok: true });
    const integrity = await request(app).get(`${MOUNT}/integrity`).set(bearer('root', 'admin')).expect(200);
    expect(integrity.body.data).toMatchObject({ ok: true });
    const checkpoint = await createCheckpoint(writer, { hmacSecret: KEY });
    expect(verifyCheckpoint(checkpoint, { hmacSecret: KEY })).toMatchObject({ valid: true });

    // Retention, as the writer, with a period of half a second: every row so far is past it; the chain records it and still verifies.
    await tracker.flush();
    await new Promise((resolve) => setTimeout(resolve, 600));
    const removed = await removeExpiredActivity(writer, { retentionDays: 0.5 / 86_400, job: 'retention-job', signingKey: resolveSigningKey(KEY) });
    expect(removed.removed).toBeGreaterThan(10);
    expect(await verifyChain(writer, { signingKey: KEY, checkpoint, checkpointKey: { hmacSecret: KEY } })).toMatchObject({ ok: true });
  });

  it('cannot delete rows through the retention function without a chained retention record covering them', async () => {
    await writer.raw('select activity_tracking_append(?::jsonb)', [JSON.stringify([activity({ userId: 'kept', startTime: Date.now() - 86_400_000 })])]);
    const head = (await writer.raw('select max(chain_position)::int as p from user_activity')) as { rows: Array<{ p: number }> };
    await expect(writer.raw('select activity_tracking_remove_prefix(1, ?::bigint)', [head.rows[0]!.p])).rejects.toThrow(/append-only; DELETE is refused/);
    expect(await db.knex('user_activity').where('user_id', 'kept').first()).toBeDefined();
  });

  it.each([
    ['disable the append-only trigger', 'alter table user_activity disable trigger user_activity_append_only', /must be owner/],
    ['disable every trigger', 'alter table user_activity disable trigger all', /must be owner/],
    ['set the triggers aside for a session', 'set session_replication_role = replica', /permission denied/],
    ['replace the append function', "create or replace function activity_tracking_append(p_rows jsonb, p_session_events boolean default true, p_risk jsonb default null) returns void language plpgsql as $$ begin end $$", /must be owner|permission denied for schema/],
    ['make it run as the caller', 'alter function activity_tracking_append(jsonb, boolean, jsonb) security invoker', /must be owner/],
    ['replace the row hash function', `create or replace function activity_tracking_row_hash(${ROW_HASH_SIGNATURE}) returns text language sql as $$ select 'x' $$`, /must be owner|permission denied for schema/],
    ['delete trail rows', 'delete from user_activity', /permission denied/],
    ['change trail rows', "update user_activity set user_id = 'mallory'", /permission denied/],
    ['truncate the trail', 'truncate user_activity', /permission denied/],
    ['insert trail rows directly', "insert into user_activity (id, activity_type, start_time, success, chain_position, prev_hash, row_hash) values (gen_random_uuid(), 'page_view', now(), true, 999999, 'x', 'y')", /permission denied/],
    ['change a session', "update activity_sessions set user_id = 'mallory'", /permission denied/],
    ['delete signatures', 'delete from activity_chain_signatures', /permission denied/],
    ['drop the trail', 'drop table user_activity', /must be owner/],
  ])('cannot %s', async (_what, sql, refusal) => {
    await expect(writer.raw(sql)).rejects.toThrow(refusal);
  });
});
