import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import request from 'supertest';
import { createCheckpoint, verifyChain, type SignedCheckpoint } from '../lib/index';
import { removeExpiredActivity } from '../lib/jobs/retention';
import { ROW_HASH_ARGUMENTS } from '../migrations/sql/generator/chainSql';
import type { ActivityTracker } from '../lib/tracker';
import { EXPRESS_VERSIONS, testTracker } from './support/app';
import { openTestDatabase, resetTables, usingPostgres, type TestDatabase } from './support/database';
import { activity, bearer, MOUNT, REPORT_SECRET, reportApp, seed } from './support/reports';

/**
 * Issue 12, section 2: a row written into activity_retention by hand used to let its range be
 * deleted, and verify then started the chain after it. Now only a retention record in the chain
 * lets rows go (as a prefix), and verify checks every gap against such records.
 */

let db: TestDatabase;
/** A role that is not superuser and owns nothing, with the table rights the attack needs (PostgreSQL only). */
let role: string | null = null;
beforeAll(async () => {
  db = await openTestDatabase();
  if (usingPostgres) {
    role = `at_forger_${randomBytes(4).toString('hex')}`;
    await db.knex.raw(`create role ${role} nologin nosuperuser`);
    await db.knex.raw(`grant usage on schema "${db.schema}" to ${role}`);
    await db.knex.raw(`grant select, insert, delete on user_activity, activity_retention to ${role}`);
    await db.knex.raw(`grant usage on all sequences in schema "${db.schema}" to ${role}`);
  }
});
afterAll(async () => {
  if (role) {
    await db.knex.raw(`drop owned by ${role}`);
    await db.knex.raw(`drop role ${role}`);
  }
  await db.destroy();
});
beforeEach(async () => { await resetTables(db.knex); });

const HMAC_SECRET = 'retention-forgery-checkpoint-secret';
const BASE = Date.UTC(2026, 10, 20, 9, 0, 0);
/** The statements of the issue: a hand-made retention row for positions 1-30, then the delete. */
const FORGED_RUN = `insert into activity_retention (from_position, to_position, removed, last_removed_hash, cutoff, job)
  values (1, 30, 30, (select row_hash from user_activity where chain_position = 30), now(), 'retention')`;
const FORGED_DELETE = 'delete from user_activity where chain_position <= 30';

/** Fifty rows through the write path, and a checkpoint taken when the head was at 46. */
async function seedFifty(): Promise<SignedCheckpoint> {
  const events = Array.from({ length: 50 }, (_, i) => activity({ userId: `user-${i + 1}`, startTime: BASE + i * 60_000, entityId: String(i + 1) }));
  await seed(db.knex, events.slice(0, 46));
  const checkpoint = await createCheckpoint(db.knex, { hmacSecret: HMAC_SECRET });
  expect(checkpoint.position).toBe(46);
  await seed(db.knex, events.slice(46));
  return checkpoint;
}

/** Runs statements as the role of the attack: the non-superuser role on PostgreSQL, the default user embedded. */
async function asForger(...statements: string[]): Promise<void> {
  await db.knex.transaction(async (trx: Knex.Transaction) => {
    if (role) await trx.raw(`set local role ${role}`);
    for (const sql of statements) await trx.raw(sql);
  });
}

/** A superuser sets the triggers aside for one transaction. */
async function asSuperuser(...statements: string[]): Promise<void> {
  await db.knex.transaction(async (trx: Knex.Transaction) => {
    await trx.raw('set local session_replication_role = replica');
    for (const sql of statements) await trx.raw(sql);
  });
}

async function hashAt(position: number): Promise<string> {
  const found = (await db.knex.raw('select row_hash from user_activity where chain_position = ?', [position])) as { rows: Array<{ row_hash: string }> };
  return found.rows[0]!.row_hash;
}

async function count(): Promise<number> {
  return Number((await db.knex('user_activity').count({ n: '*' }).first())?.n);
}

async function integrityRoute(tracker: ActivityTracker): Promise<Record<string, unknown>> {
  const response = await request(reportApp(EXPRESS_VERSIONS[1][1], tracker, { capture: false })).get(`${MOUNT}/integrity`).set(bearer('root', 'admin')).expect(200);
  return response.body.data as Record<string, unknown>;
}

describe(`a forged retention row (${usingPostgres ? 'a non-superuser role on PostgreSQL' : 'the default user, embedded'})`, () => {
  it('deletes nothing: the trigger refuses the delete, the forged row authorizes nothing, and verify names it', async () => {
    await seedFifty();
    if (role) {
      const found = (await db.knex.raw('select rolsuper from pg_roles where rolname = ?', [role])) as { rows: Array<{ rolsuper: boolean }> };
      expect(found.rows[0]?.rolsuper).toBe(false);
    }
    await expect(asForger(FORGED_RUN, FORGED_DELETE)).rejects.toThrow('user_activity is append-only; DELETE is refused');
    expect(await count()).toBe(50);
    // The insert alone commits, and still lets nothing go.
    await asForger(FORGED_RUN);
    await expect(asForger(FORGED_DELETE)).rejects.toThrow('user_activity is append-only; DELETE is refused');
    await expect(asForger('delete from user_activity where chain_position = 20')).rejects.toThrow('user_activity is append-only; DELETE is refused');
    expect(await count()).toBe(50);
    expect(await verifyChain(db.knex)).toMatchObject({ ok: false, failure: { position: 1, problem: 'retention_forged' } });
  });

  it('with to_position at the head, a middle row still cannot be deleted', async () => {
    await seedFifty();
    await asForger(`insert into activity_retention (from_position, to_position, removed, last_removed_hash, cutoff, job)
      values (1, 50, 50, (select row_hash from user_activity where chain_position = 50), now(), 'retention')`);
    await expect(asForger('delete from user_activity where chain_position = 20')).rejects.toThrow('user_activity is append-only; DELETE is refused');
    expect(await count()).toBe(50);
  });

  it('a retention record appended through the write path lets only a prefix go, only rows older than its cutoff', async () => {
    await seedFifty();
    const record = (from: number, to: number, cutoff: number): string => JSON.stringify([activity({
      activityType: 'system_action', entityType: 'activity_trail', entityId: null, action: 'retention.removed', startTime: Date.now(),
      details: { fromPosition: from, toPosition: to, removed: to - from + 1, lastRemovedHash: 'x', cutoff: new Date(cutoff).toISOString(), job: 'retention-job' },
    })]);
    // A middle range: rows before it are still there.
    await db.knex.raw('select activity_tracking_append(?::jsonb, false)', [record(20, 20, Date.now() - 60_000)]);
    await expect(db.knex.raw('delete from user_activity where chain_position = 20')).rejects.toThrow('user_activity is append-only; DELETE is refused');
    // A prefix, but with a cutoff before the rows started.
    await db.knex.raw('select activity_tracking_append(?::jsonb, false)', [record(1, 1, BASE - 60_000)]);
    await expect(db.knex.raw('delete from user_activity where chain_position = 1')).rejects.toThrow('user_activity is append-only; DELETE is refused');
    expect(await count()).toBe(52);
  });
});

describe('a superuser who sets the trigger aside (session_replication_role = replica)', () => {
  let tracker: ActivityTracker;
  beforeEach(() => { tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET }); });
  afterEach(async () => { await tracker.close(); });

  it('deleting positions 1-30 behind a forged retention row: verify, verify with the checkpoint at 46 and GET /integrity say retention_forged', async () => {
    const checkpoint = await seedFifty();
    await asSuperuser(FORGED_RUN, FORGED_DELETE);
    expect(await count()).toBe(20);
    const forged = { ok: false, rowsChecked: 0, verifiedFrom: null, verifiedTo: null, failure: { position: 1, problem: 'retention_forged' } };
    const plain = await verifyChain(db.knex);
    expect(plain).toMatchObject(forged);
    expect(plain.failure?.message).toMatch(/^activity_retention says positions 1 to 30 were removed \(run \d+\), but no retention.removed record in the chain says so: it was written outside the retention job and authorizes nothing$/);
    expect(await verifyChain(db.knex, { checkpoint, checkpointKey: { hmacSecret: HMAC_SECRET } })).toMatchObject(forged);
    expect(await integrityRoute(tracker)).toMatchObject(forged);
  });

  it('the same delete with no retention row at all: the gap is reported, not skipped', async () => {
    const checkpoint = await seedFifty();
    await asSuperuser(FORGED_DELETE);
    const missing = { ok: false, rowsChecked: 0, failure: { position: 1, problem: 'row_missing' } };
    expect(await verifyChain(db.knex)).toMatchObject(missing);
    expect(await verifyChain(db.knex, { checkpoint, checkpointKey: { hmacSecret: HMAC_SECRET } })).toMatchObject(missing);
    expect(await integrityRoute(tracker)).toMatchObject(missing);
  });

  it('to_position at the head and a middle row deleted: retention_forged, not "0 rows checked, OK"', async () => {
    const checkpoint = await seedFifty();
    await asSuperuser(`insert into activity_retention (from_position, to_position, removed, last_removed_hash, cutoff, job)
      values (1, 50, 50, (select row_hash from user_activity where chain_position = 50), now(), 'retention')`, 'delete from user_activity where chain_position = 20');
    const forged = { ok: false, failure: { position: 1, problem: 'retention_forged' } };
    expect(await verifyChain(db.knex)).toMatchObject(forged);
    expect(await verifyChain(db.knex, { checkpoint, checkpointKey: { hmacSecret: HMAC_SECRET } })).toMatchObject(forged);
    expect(await integrityRoute(tracker)).toMatchObject(forged);
  });

  it('a real retention run, then more rows deleted behind it: retention_forged where its records stop', async () => {
    await seedFifty();
    // Positions 1-10 started before BASE + 10 min.
    await removeExpiredActivity(db.knex, { retentionDays: 1, job: 'retention-job', now: new Date(BASE + 10 * 60_000 + 86_400_000) });
    expect(await verifyChain(db.knex)).toMatchObject({ ok: true, verifiedFrom: 11, verifiedTo: 51 });
    await asSuperuser('delete from user_activity where chain_position <= 15');
    expect(await verifyChain(db.knex)).toMatchObject({
      ok: false, rowsChecked: 0,
      failure: { position: 11, problem: 'retention_forged', message: 'Positions 11 to 15 are missing; the chain\'s retention records cover positions only up to 10: rows were deleted outside the retention job' },
    });
  });

  it('a retention record appended with a cutoff in the future, and the rows it names deleted: retention_forged at the record', async () => {
    await seedFifty();
    const later = Date.now() + 86_400_000;
    await db.knex.raw('select activity_tracking_append(?::jsonb, false)', [JSON.stringify([activity({
      activityType: 'system_action', entityType: 'activity_trail', entityId: null, action: 'retention.removed', startTime: later + 60_000,
      details: { fromPosition: 1, toPosition: 10, removed: 10, lastRemovedHash: await hashAt(10), cutoff: new Date(later).toISOString(), job: 'retention-job' },
    })])]);
    // The trigger refuses it (the cutoff is after the record was stored); a superuser deletes anyway.
    await expect(db.knex.raw('delete from user_activity where chain_position <= 10')).rejects.toThrow('user_activity is append-only; DELETE is refused');
    await asSuperuser('delete from user_activity where chain_position <= 10');
    expect(await verifyChain(db.knex, { backdatedAfterDays: 36_500 })).toMatchObject({
      ok: false, rowsChecked: 40, verifiedFrom: 11, verifiedTo: 50,
      failure: { position: 51, problem: 'retention_forged', message: expect.stringContaining('The retention record at position 51 (positions 1 to 10) has the cutoff') },
    });
  });

  it('a chained retention record whose last removed hash is not what the first kept row links to: retention_forged', async () => {
    await seedFifty();
    await removeExpiredActivity(db.knex, { retentionDays: 1, job: 'retention-job', now: new Date(BASE + 10 * 60_000 + 86_400_000) });
    // The kept chain relinked, consistently, to a made-up hash before position 11.
    const rehash = (position: number): string => `update user_activity t set hash_version = null, row_hash = activity_tracking_row_hash(${ROW_HASH_ARGUMENTS}) where chain_position = ${position}`;
    const rewrite = [`update user_activity set prev_hash = repeat('a', 64) where chain_position = 11`, rehash(11)];
    for (let p = 12; p <= 51; p += 1) rewrite.push(`update user_activity set prev_hash = (select row_hash from user_activity where chain_position = ${p - 1}) where chain_position = ${p}`, rehash(p));
    await asSuperuser(...rewrite);
    expect(await verifyChain(db.knex)).toMatchObject({
      ok: false, rowsChecked: 0,
      failure: { position: 10, problem: 'retention_forged', message: expect.stringMatching(/^The retention record at position 51 says position 10 had hash [0-9a-f]{64}, but the first kept row links to a{64}$/) },
    });
  });
});
