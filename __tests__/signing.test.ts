import { generateKeyPairSync, randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import request from 'supertest';
import express from 'express';
import { verifyChain } from '../lib/index';
import { batchSignatureText, resolveSigningKey } from '../lib/integrity/batchSignatures';
import { ROW_HASH_ARGUMENTS } from '../migrations/sql/generator/chainSql';
import { resolveConfig } from '../lib/config';
import { closeIdleSessions } from '../lib/jobs/sessionSweeper';
import { removeExpiredActivity } from '../lib/jobs/retention';
import type { ActivityTracker } from '../lib/tracker';
import type { Options } from '../lib/types';
import { testTracker } from './support/app';
import { openTestDatabase, resetTables, usingPostgres, type TestDatabase } from './support/database';
import { activity, bearer, MOUNT, REPORT_SECRET, reportApp, seed } from './support/reports';
import { runCli } from './support/cli';

const KEY = 'signing-test-hmac-secret-0123456789';
const OTHER_KEY = 'someone-elses-secret-0123456789abcdef';
const { privateKey: ED_PRIVATE, publicKey: ED_PUBLIC } = generateKeyPairSync('ed25519');
const ED_PRIVATE_PEM = ED_PRIVATE.export({ format: 'pem', type: 'pkcs8' }).toString();
const ED_PUBLIC_PEM = ED_PUBLIC.export({ format: 'pem', type: 'spki' }).toString();
const NO_ENV_KEY = { ACTIVITY_SIGNING_KEY: undefined };

let db: TestDatabase;
beforeAll(async () => { db = await openTestDatabase(); });
afterAll(async () => { await db.destroy(); });
beforeEach(async () => { await resetTables(db.knex); });

let trackers: ActivityTracker[] = [];
afterEach(async () => {
  for (const tracker of trackers) await tracker.close();
  trackers = [];
});

function tracker(signingKey?: string, options: Options = {}): ActivityTracker {
  const created = testTracker(db.knex, { jwtSecret: REPORT_SECRET, ...(signingKey ? { signingKey } : {}), ...options });
  trackers.push(created);
  return created;
}

/** An app with a few routes, a login and a logout, recorded by `t`. */
function appOf(t: ActivityTracker): ReturnType<typeof express> {
  const app = reportApp(express, t);
  app.get('/api/items/:id', (req, res) => { res.json({ id: req.params['id'] }); });
  app.post('/api/login', (_req, res) => { res.json({ ok: true }); });
  app.post('/api/logout', (_req, res) => { res.json({ ok: true }); });
  return app;
}

/** Requests (a session that logs in, browses and logs out: session_start and session_end rows too) and a domain event. */
async function traffic(t: ActivityTracker): Promise<void> {
  const app = appOf(t);
  const agent = request.agent(app);
  await agent.post('/api/login').set(bearer('alice', 'user')).send({ user: 'alice' }).expect(200);
  for (let i = 0; i < 5; i += 1) await agent.get(`/api/items/${i}`).set(bearer('alice', 'user')).expect(200);
  await agent.post('/api/logout').set(bearer('alice', 'user')).expect(200);
  await t.record({ action: 'invoice.approved', userId: 'bob', entityType: 'invoice', entityId: '7' });
  await t.flush();
}

async function head(): Promise<{ position: number; hash: string }> {
  const found = (await db.knex.raw('select chain_position::int as position, row_hash from user_activity order by chain_position desc limit 1')) as { rows: Array<{ position: number; row_hash: string }> };
  return { position: found.rows[0]!.position, hash: found.rows[0]!.row_hash };
}

/** A superuser's plain INSERT at the tail: a copy of the head row as mallory's, linked and hashed correctly. */
async function insertForgedTail(): Promise<number> {
  const { position, hash } = await head();
  const columns = 'session_id, activity_type, entity_type, entity_id, action, details, ip_address, user_agent, browser, operating_system, device_info, location, duration, start_time, end_time, method, path, route, status_code, success, request_size, response_size, tenant_id';
  await db.knex.transaction(async (trx: Knex.Transaction) => {
    await trx.raw('set local session_replication_role = replica');
    await trx.raw(`insert into user_activity (id, user_id, ${columns}, chain_position, prev_hash, row_hash)
      select ?::uuid, 'mallory', ${columns}, ?, ?, 'pending' from user_activity where chain_position = ?`, [randomUUID(), position + 1, hash, position]);
    await trx.raw(`update user_activity t set row_hash = activity_tracking_row_hash(${ROW_HASH_ARGUMENTS}) where chain_position = ?`, [position + 1]);
  });
  return position + 1;
}

/** What anyone allowed to call the append function can do without the key; the first position it took (a session_start row follows). */
async function appendWithoutKey(userId = 'mallory'): Promise<number> {
  const before = await head();
  await db.knex.raw('select activity_tracking_append(?::jsonb)', [JSON.stringify([activity({ userId, startTime: Date.now() })])]);
  return before.position + 1;
}

describe('a tracker with a signing key', () => {
  it('signs every batch it appends (requests, session rows, domain events, the session sweeper), and verify passes with the key', async () => {
    const t = tracker(KEY);
    await traffic(t);
    // An idle session, ended by the sweeper: its session_end row is signed too.
    await t.record({ action: 'report.viewed', userId: 'carol', sessionId: 'idle-session' });
    await t.flush();
    expect(await closeIdleSessions(db.knex, { timeoutMinutes: 30, now: new Date(Date.now() + 3_600_000), signingKey: resolveConfig({ signingKey: KEY, database: db.knex }).signingKey })).toBeGreaterThan(0);

    const types = ((await db.knex('user_activity').select('activity_type')) as Array<{ activity_type: string }>).map((r) => r.activity_type);
    expect(types).toEqual(expect.arrayContaining(['session_start', 'session_end', 'login', 'logout']));
    const last = await head();
    const signatures = (await db.knex('activity_chain_signatures').orderBy('position')) as Array<{ first_position: string; position: string; row_hash: string; algorithm: string; key_id: string }>;
    expect(signatures.length).toBeGreaterThan(1);
    expect(Number(signatures[0]!.first_position)).toBe(1);
    expect(Number(signatures[signatures.length - 1]!.position)).toBe(last.position);
    expect(signatures[signatures.length - 1]!.row_hash).toBe(last.hash);
    // Batches follow each other with no position left out.
    for (let i = 1; i < signatures.length; i += 1) expect(Number(signatures[i]!.first_position)).toBe(Number(signatures[i - 1]!.position) + 1);
    expect(signatures.every((s) => s.algorithm === 'HMAC-SHA256' && /^hmac:[0-9a-f]{16}$/.test(s.key_id))).toBe(true);
    // The key itself is nowhere in the database.
    expect(JSON.stringify(signatures)).not.toContain(KEY);

    expect(await verifyChain(db.knex, { signingKey: KEY })).toMatchObject({ ok: true, verifiedTo: last.position });
    // Another key does not vouch for these rows.
    expect((await verifyChain(db.knex, { signingKey: OTHER_KEY })).failure).toMatchObject({ position: 1, problem: 'unsigned_rows' });
  });

  it('signs with an Ed25519 private key; the public key alone verifies', async () => {
    const t = tracker(ED_PRIVATE_PEM);
    await traffic(t);
    expect(await verifyChain(db.knex, { signingKey: ED_PUBLIC_PEM })).toMatchObject({ ok: true });
    expect(await verifyChain(db.knex, { signingKey: ED_PUBLIC })).toMatchObject({ ok: true });
    const forged = await appendWithoutKey();
    expect((await verifyChain(db.knex, { signingKey: ED_PUBLIC_PEM })).failure).toMatchObject({ position: forged, problem: 'unsigned_rows' });
  });

  it('signs exactly each batch when several writers append at once, and retention records too', async () => {
    const writers = [1, 2, 3].map(() => tracker(KEY, { batchSize: 20, flushIntervalMs: 1 }));
    await Promise.all(writers.map((w, n) => Promise.all(Array.from({ length: 60 }, (_, seq) => w.record({ action: `writer-${n}.event`, userId: `writer-${n}`, details: { seq } })))));
    const signatures = (await db.knex('activity_chain_signatures').orderBy('position')) as Array<{ first_position: string; position: string }>;
    expect(signatures.length).toBeGreaterThanOrEqual(9);
    for (let i = 1; i < signatures.length; i += 1) expect(Number(signatures[i]!.first_position)).toBe(Number(signatures[i - 1]!.position) + 1);
    expect(await verifyChain(db.knex, { signingKey: KEY })).toMatchObject({ ok: true, verifiedTo: 180 });

    await new Promise((resolve) => setTimeout(resolve, 20));
    const removed = await removeExpiredActivity(db.knex, { retentionDays: 10 / 86_400_000, job: 'retention-job', batchSize: 100, signingKey: resolveSigningKey(KEY) });
    expect(removed).toMatchObject({ removed: 180, batches: 2 });
    const last = await head();
    expect(Number(((await db.knex('activity_chain_signatures').max({ p: 'position' })) as Array<{ p: string | number }>)[0]!.p)).toBe(last.position);
    expect(await verifyChain(db.knex, { signingKey: KEY })).toMatchObject({ ok: true, verifiedTo: last.position });
  });

  it('accepts rows stored before a key was configured, covered by the first signed batch after them', async () => {
    await seed(db.knex, [activity({ userId: 'old-1' }), activity({ userId: 'old-2' })]);
    const t = tracker(KEY);
    await t.record({ action: 'first.signed', userId: 'alice' });
    expect(await verifyChain(db.knex, { signingKey: KEY })).toMatchObject({ ok: true, verifiedTo: 3 });
  });
});

describe('rows added without the key', () => {
  it('a plain INSERT at the tail is reported as unsigned_rows by verifyChain and GET /integrity; without the key it passes', async () => {
    const t = tracker(KEY);
    await traffic(t);
    const forged = await insertForgedTail();
    // The chain alone cannot tell: the forged row is linked and hashed like any other.
    expect(await verifyChain(db.knex)).toMatchObject({ ok: true, verifiedTo: forged });
    const result = await verifyChain(db.knex, { signingKey: KEY });
    expect(result).toMatchObject({ ok: false, verifiedTo: forged, failure: { position: forged, problem: 'unsigned_rows' } });
    expect(result.failure?.message).toContain(`row at position ${forged} is not in any batch signed`);

    const response = await request(appOf(t)).get(`${MOUNT}/integrity`).set(bearer('root', 'admin')).expect(200);
    expect(response.body.data).toMatchObject({ ok: false, failure: { position: forged, problem: 'unsigned_rows' } });
  });

  it('a call of activity_tracking_append() without the key is reported, also when signed batches follow it', async () => {
    const t = tracker(KEY);
    await traffic(t);
    const forged = await appendWithoutKey();
    expect((await verifyChain(db.knex, { signingKey: KEY })).failure).toMatchObject({ position: forged, problem: 'unsigned_rows' });
    // The writer appends after it: the forged row is still in no signed batch.
    await t.record({ action: 'after.forgery', userId: 'alice' });
    const after = await verifyChain(db.knex, { signingKey: KEY });
    expect(after.verifiedTo).toBe((await head()).position);
    expect(after.failure).toMatchObject({ position: forged, problem: 'unsigned_rows' });
  });

  it('a signature row made with another key, or naming the right key with a made-up signature, is not accepted', async () => {
    const t = tracker(KEY);
    await traffic(t);
    const forged = await appendWithoutKey();
    const { position: last, hash } = await head();
    const right = resolveSigningKey(KEY);
    const wrong = resolveSigningKey(OTHER_KEY);
    const text = batchSignatureText(forged, last, hash);
    const forgedSignature = { first_position: forged, position: last, row_hash: hash };
    await db.knex('activity_chain_signatures').insert([
      { ...forgedSignature, algorithm: 'HMAC-SHA256', key_id: wrong.keyId, signature: wrong.sign!(text) },
      { ...forgedSignature, algorithm: 'HMAC-SHA256', key_id: right.keyId, signature: wrong.sign!(batchSignatureText(1, last, hash)) },
      { ...forgedSignature, algorithm: 'Ed25519', key_id: right.keyId, signature: 'AAAA' },
    ]);
    const result = await verifyChain(db.knex, { signingKey: KEY });
    expect(result.failure).toMatchObject({ position: forged, problem: 'unsigned_rows' });
    expect(result.failure?.message).toContain('3 signatures in the table did not verify');
    // The signatures themselves are append-only.
    await expect(db.knex('activity_chain_signatures').where('position', last).delete()).rejects.toThrow(/append-only/);
    await expect(db.knex('activity_chain_signatures').update({ key_id: 'x' })).rejects.toThrow(/append-only/);
  });

  it.each([[false], [true]])('activity-tracking verify with ACTIVITY_SIGNING_KEY reports it (Ed25519 public key: %s)', async (ed25519) => {
    if (!usingPostgres) return; // The command line reaches the test database through DATABASE_URL.
    const t = tracker(ed25519 ? ED_PRIVATE_PEM : KEY);
    await traffic(t);
    const env = { DATABASE_URL: db.url!, ACTIVITY_SIGNING_KEY: ed25519 ? ED_PUBLIC_PEM : KEY };
    expect(await runCli(['verify'], env)).toMatchObject({ code: 0 });
    const forged = await insertForgedTail();
    const { code, out } = await runCli(['verify', '--json'], env);
    expect(code).toBe(1);
    expect(JSON.parse(out)).toMatchObject({ ok: false, failure: { position: forged, problem: 'unsigned_rows' } });
    // Without the key the command cannot tell.
    expect(await runCli(['verify'], { DATABASE_URL: db.url!, ...NO_ENV_KEY })).toMatchObject({ code: 0 });
  });
});

describe('activity-tracking cleanup on a signed trail', () => {
  it('refuses without the signing key (its retention records would be unsigned), names the variable, and removes nothing', async () => {
    if (!usingPostgres) return; // The command line reaches the test database through DATABASE_URL.
    await traffic(tracker(KEY));
    const before = Number(((await db.knex('user_activity').count('* as n')) as Array<{ n: unknown }>)[0]!.n);
    const refused = await runCli(['cleanup'], { DATABASE_URL: db.url!, ...NO_ENV_KEY });
    expect(refused.code).toBe(2);
    expect(refused.err).toContain('ACTIVITY_SIGNING_KEY');
    expect(Number(((await db.knex('user_activity').count('* as n')) as Array<{ n: unknown }>)[0]!.n)).toBe(before);
    expect(await runCli(['cleanup', '--dry-run'], { DATABASE_URL: db.url!, ...NO_ENV_KEY })).toMatchObject({ code: 0 });
    expect(await runCli(['cleanup'], { DATABASE_URL: db.url!, ACTIVITY_SIGNING_KEY: KEY })).toMatchObject({ code: 0 });
    expect(await runCli(['verify'], { DATABASE_URL: db.url!, ACTIVITY_SIGNING_KEY: KEY })).toMatchObject({ code: 0 });
  });
});

describe('the signingKey option', () => {
  it('is read from ACTIVITY_SIGNING_KEY, and a key that cannot sign or is too short fails at start-up without printing it', () => {
    expect(resolveConfig({ database: db.knex }, { ACTIVITY_SIGNING_KEY: KEY }).signingKey).toMatchObject({ algorithm: 'HMAC-SHA256' });
    expect(resolveConfig({ database: db.knex, signingKey: ED_PRIVATE_PEM }, {}).signingKey).toMatchObject({ algorithm: 'Ed25519' });
    expect(resolveConfig({ database: db.knex }, {}).signingKey).toBeNull();
    expect(() => resolveConfig({ database: db.knex, signingKey: 'short' }, {})).toThrow(/Invalid signingKey: \[hidden\]\. signingKey is too short\. Fix: use a random secret of at least 16 characters/);
    expect(() => resolveConfig({ database: db.knex }, { ACTIVITY_SIGNING_KEY: ED_PUBLIC_PEM })).toThrow(/Invalid ACTIVITY_SIGNING_KEY: \[hidden\]\. ACTIVITY_SIGNING_KEY is an Ed25519 public key, which can only verify\. Fix: give the writer the private key/);
    expect(() => resolveConfig({ database: db.knex, signingKey: '-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----' }, {})).toThrow(/signingKey is not a PEM-encoded key/);
  });
});
