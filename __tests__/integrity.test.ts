import { createHash, createHmac, createPublicKey, generateKeyPairSync, randomUUID, verify } from 'node:crypto';
import type { Knex } from 'knex';
import request from 'supertest';
import { createCheckpoint, verifyChain, verifyCheckpoint, type SignedCheckpoint } from '../lib/index';
import { GENESIS_HASH } from '../lib/integrity/encoding';
import { ROW_HASH_ARGUMENTS, ROW_HASH_SIGNATURE } from '../migrations/sql/generator/chainSql';
import type { ActivityTracker } from '../lib/tracker';
import { EXPRESS_VERSIONS, testTracker } from './support/app';
import { openTestDatabase, resetTables, type TestDatabase } from './support/database';
import { activity, bearer, MOUNT, openApiValidator, REPORT_SECRET, reportApp, seed } from './support/reports';
import { withEnv } from './support/env';
import { removeExpiredActivity } from '../lib/jobs/retention';

let db: TestDatabase;
beforeAll(async () => { db = await openTestDatabase(); });
afterAll(async () => { await db.destroy(); });
beforeEach(async () => { await resetTables(db.knex); });

const HMAC_SECRET = 'integrity-test-checkpoint-secret-0123';
const BASE = Date.UTC(2026, 10, 20, 9, 0, 0);

/** Twelve distinct activities, written through the package's write path in three batches: chain positions 1 to 12. */
async function seedTwelve(): Promise<void> {
  const events = Array.from({ length: 12 }, (_, i) => activity({
    userId: `user-${i + 1}`, startTime: BASE + i * 60_000, entityId: String(i + 1), details: { note: 'approved', amount: 100 + i },
  }));
  for (let batch = 0; batch < 3; batch += 1) await seed(db.knex, events.slice(batch * 4, batch * 4 + 4));
}

/** What a superuser can do: set the append-only triggers aside for one transaction. */
async function asAttacker(...statements: Array<[sql: string, bindings?: readonly unknown[]]>): Promise<void> {
  await db.knex.transaction(async (trx: Knex.Transaction) => {
    await trx.raw('set local session_replication_role = replica');
    for (const [sql, bindings] of statements) await trx.raw(sql, (bindings ?? []) as Knex.RawBinding[]);
  });
}

async function hashAt(position: number): Promise<string> {
  const found = (await db.knex.raw('select row_hash from user_activity where chain_position = ?', [position])) as { rows: Array<{ row_hash: string }> };
  return found.rows[0]!.row_hash;
}

const COPIED = 'session_id, activity_type, entity_type, entity_id, action, details, ip_address, user_agent, browser, operating_system, device_info, location, duration, start_time, end_time, method, path, route, status_code, success, request_size, response_size';
/** Inserts a copy of the row at `from` as mallory's, at position `to`, linked to `prevHash`, with `rowHash` or a self-consistent hash. */
function forgedRow(from: number, to: number, prevHash: string, rowHash: string | 'self-consistent'): Array<[string, unknown[]]> {
  const insert: [string, unknown[]] = [
    `insert into user_activity (id, user_id, ${COPIED}, chain_position, prev_hash, row_hash) select ?::uuid, 'mallory', ${COPIED}, ?, ?, ? from user_activity where chain_position = ?`,
    [randomUUID(), to, prevHash, rowHash === 'self-consistent' ? 'pending' : rowHash, from],
  ];
  return rowHash === 'self-consistent' ? [insert, rehash(to)] : [insert];
}
/** What an attacker with write access does: hashes the row again in SQL (encoding 2, whichever encoding the writer used). */
function rehash(position: number): [string, unknown[]] {
  return [`update user_activity t set hash_version = null, row_hash = activity_tracking_row_hash(${ROW_HASH_ARGUMENTS}) where chain_position = ?`, [position]];
}

describe('verifyChain on an untouched chain', () => {
  it('checks every row written by the write path, in pages of any size', async () => {
    await seedTwelve();
    const head = await hashAt(12);
    for (const pageSize of [1000, 5, 1]) {
      expect(await verifyChain(db.knex, { pageSize })).toEqual({ ok: true, rowsChecked: 12, verifiedFrom: 1, verifiedTo: 12, headHash: head });
    }
  });

  it('is ok on an empty trail, starting from the genesis hash', async () => {
    expect(await verifyChain(db.knex)).toEqual({ ok: true, rowsChecked: 0, verifiedFrom: null, verifiedTo: null, headHash: GENESIS_HASH });
  });

  it('starts after what retention removed, linked to the last removed hash of its chained record', async () => {
    await seedTwelve();
    const removedHash = await hashAt(4);
    // Rows 1-4 started before BASE + 4 min: a one-day retention measured a day after that removes them, in two batches.
    const run = await removeExpiredActivity(db.knex, { retentionDays: 1, job: 'retention-job', batchSize: 3, now: new Date(BASE + 4 * 60_000 + 86_400_000) });
    expect(run).toMatchObject({ removed: 4, fromPosition: 1, toPosition: 4, batches: 2 });
    // The kept rows 5-12 and the two retention records at 13 and 14.
    expect(await verifyChain(db.knex, { pageSize: 3 })).toEqual({ ok: true, rowsChecked: 10, verifiedFrom: 5, verifiedTo: 14, headHash: await hashAt(14) });
    // A row in activity_retention that no chained record backs lets nothing go, and verify names it.
    await db.knex('activity_retention').insert({ from_position: 5, to_position: 5, removed: 1, last_removed_hash: removedHash, cutoff: new Date(BASE + 5 * 60_000), job: 'test' });
    await expect(db.knex('user_activity').where('chain_position', 5).delete()).rejects.toThrow('user_activity is append-only; DELETE is refused');
    expect(await verifyChain(db.knex)).toMatchObject({ ok: false, rowsChecked: 0, failure: { position: 5, problem: 'retention_forged' } });
  });
});

describe('verifyChain finds tampering by a superuser, at the first broken position', () => {
  it.each([
    ['a text column', `update user_activity set path = overlay(path placing 'X' from 2 for 1) where chain_position = ?`],
    ['a jsonb details value', `update user_activity set details = jsonb_set(details, '{note}', to_jsonb('approveD'::text)) where chain_position = ?`],
    ['start_time', `update user_activity set start_time = start_time + interval '1 millisecond' where chain_position = ?`],
  ])('one byte changed in %s: content_changed', async (_column, sql) => {
    await seedTwelve();
    await asAttacker([sql, [9]], [sql, [5]]);
    expect(await verifyChain(db.knex, { pageSize: 4 })).toEqual({
      ok: false, rowsChecked: 4, verifiedFrom: 1, verifiedTo: 4, headHash: await hashAt(4),
      failure: { position: 5, problem: 'content_changed', message: 'The row at position 5 no longer matches its hash: its content or hash was changed' },
    });
  });

  it('a deleted row: row_missing at its position', async () => {
    await seedTwelve();
    await asAttacker(['delete from user_activity where chain_position = 7']);
    expect(await verifyChain(db.knex, { pageSize: 4 })).toEqual({
      ok: false, rowsChecked: 6, verifiedFrom: 1, verifiedTo: 6, headHash: await hashAt(6),
      failure: { position: 7, problem: 'row_missing', message: 'Position 7 is missing: the next row is at 8' },
    });
  });

  it('the first row deleted: row_missing at 1, nothing verified', async () => {
    await seedTwelve();
    await asAttacker(['delete from user_activity where chain_position = 1']);
    expect(await verifyChain(db.knex)).toMatchObject({ ok: false, rowsChecked: 0, verifiedFrom: null, verifiedTo: null, headHash: GENESIS_HASH, failure: { position: 1, problem: 'row_missing' } });
  });

  it.each([[3, 8], [3, 4]])('rows %i and %i swapped: rows_reordered at the first', async (j, k) => {
    await seedTwelve();
    await asAttacker(
      ['update user_activity set chain_position = -1 where chain_position = ?', [j]],
      ['update user_activity set chain_position = ? where chain_position = ?', [j, k]],
      ['update user_activity set chain_position = ? where chain_position = -1', [k]],
    );
    expect(await verifyChain(db.knex)).toEqual({
      ok: false, rowsChecked: j - 1, verifiedFrom: 1, verifiedTo: j - 1, headHash: await hashAt(j - 1),
      failure: { position: j, problem: 'rows_reordered', message: `The row at position ${j} carries a valid hash for position ${k}: rows were moved` },
    });
  });

  it('a forged row appended with a made-up hash: content_changed at its position', async () => {
    await seedTwelve();
    await asAttacker(...forgedRow(12, 13, await hashAt(12), 'f'.repeat(64)));
    expect(await verifyChain(db.knex)).toMatchObject({ ok: false, rowsChecked: 12, verifiedTo: 12, failure: { position: 13, problem: 'content_changed' } });
  });

  it('a row linked to an older row, with a self-consistent hash: chain_forked', async () => {
    await seedTwelve();
    const older = await hashAt(10);
    await asAttacker(...forgedRow(12, 13, older, 'self-consistent'));
    expect(await verifyChain(db.knex)).toEqual({
      ok: false, rowsChecked: 12, verifiedFrom: 1, verifiedTo: 12, headHash: await hashAt(12),
      failure: { position: 13, problem: 'chain_forked', message: `The row at position 13 is hashed correctly but links to ${older}, not to the row before (${await hashAt(12)}): another chain was grafted on here` },
    });
  });

  it('garbage in row_hash or prev_hash: content_changed, no crash', async () => {
    await seedTwelve();
    await asAttacker(["update user_activity set row_hash = 'garbage' where chain_position = 6"]);
    expect((await verifyChain(db.knex)).failure).toMatchObject({ position: 6, problem: 'content_changed' });
    await resetTables(db.knex);
    await seedTwelve();
    await asAttacker(["update user_activity set prev_hash = 'garbage' where chain_position = 6"]);
    expect((await verifyChain(db.knex)).failure).toMatchObject({ position: 6, problem: 'content_changed' });
  });

  it('a row whose chain_position was set to null (constraint dropped first): row_missing', async () => {
    await seedTwelve();
    await db.knex.raw('alter table user_activity alter column chain_position drop not null');
    try {
      await asAttacker(['update user_activity set chain_position = null where chain_position = 5']);
      expect((await verifyChain(db.knex)).failure).toMatchObject({ position: 5, problem: 'row_missing' });
    } finally {
      await asAttacker(['delete from user_activity where chain_position is null']);
      await db.knex.raw('alter table user_activity alter column chain_position set not null');
    }
  });

  it('never calls the hash functions stored in the database: one that fails changes nothing', async () => {
    await seedTwelve();
    const signature = ROW_HASH_SIGNATURE;
    await db.knex.raw(`alter function activity_tracking_row_hash(${signature}) rename to activity_tracking_row_hash_saved`);
    try {
      await db.knex.raw(`create function activity_tracking_row_hash(${signature}) returns text language plpgsql as $fn$
        begin raise exception 'this function must not be trusted'; end $fn$`);
      expect(await verifyChain(db.knex, { pageSize: 5 })).toMatchObject({ ok: true, rowsChecked: 12 });
    } finally {
      await db.knex.raw(`drop function activity_tracking_row_hash(${signature})`);
      await db.knex.raw(`alter function activity_tracking_row_hash_saved(${signature}) rename to activity_tracking_row_hash`);
    }
  });
});

describe('the append-only triggers', () => {
  it.each([
    ['UPDATE', `update user_activity set user_id = 'mallory' where chain_position = 3`],
    ['DELETE', 'delete from user_activity where chain_position = 3'],
    ['TRUNCATE', 'truncate user_activity'],
  ])('refuse %s through the normal connection', async (operation, sql) => {
    await seedTwelve();
    await expect(db.knex.raw(sql)).rejects.toThrow(`user_activity is append-only; ${operation} is refused`);
    expect(await verifyChain(db.knex)).toMatchObject({ ok: true, rowsChecked: 12 });
  });
});

describe('checkpoints', () => {
  const ed25519 = () => generateKeyPairSync('ed25519', { privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  const keys = ed25519();
  const KEYS = [
    ['HMAC-SHA256', { hmacSecret: HMAC_SECRET }, { hmacSecret: HMAC_SECRET }],
    ['Ed25519', { privateKey: keys.privateKey }, { publicKey: keys.publicKey }],
  ] as const;

  it('sign the canonical text of the head with HMAC-SHA256, naming the key by its id', async () => {
    await seedTwelve();
    const createdAt = '2026-11-25T08:00:00.000Z';
    const checkpoint = await createCheckpoint(db.knex, { hmacSecret: HMAC_SECRET }, new Date(createdAt));
    const hash = await hashAt(12);
    const keyId = createHmac('sha256', HMAC_SECRET).update('activity-tracking checkpoint key id').digest('hex').slice(0, 16);
    expect(checkpoint).toEqual({
      position: 12, hash, createdAt, algorithm: 'HMAC-SHA256', keyId,
      signature: createHmac('sha256', HMAC_SECRET).update(`activity-tracking-checkpoint:v2:12:${hash}:${createdAt}:${keyId}`).digest('base64url'),
    });
  });

  it('sign with Ed25519, checked with the public key alone', async () => {
    await seedTwelve();
    const checkpoint = await createCheckpoint(db.knex, { privateKey: keys.privateKey });
    const keyId = createHash('sha256').update(createPublicKey(keys.publicKey).export({ format: 'der', type: 'spki' })).digest('hex').slice(0, 16);
    expect(checkpoint).toMatchObject({ position: 12, hash: await hashAt(12), algorithm: 'Ed25519', keyId });
    const text = `activity-tracking-checkpoint:v2:12:${checkpoint.hash}:${checkpoint.createdAt}:${keyId}`;
    expect(verify(null, Buffer.from(text), keys.publicKey, Buffer.from(checkpoint.signature, 'base64url'))).toBe(true);
    expect(verifyCheckpoint(checkpoint, { publicKey: keys.publicKey })).toEqual({ valid: true, checkpoint });
    expect(verifyCheckpoint(checkpoint, { publicKey: ed25519().publicKey }).valid).toBe(false);
  });

  it('of an empty trail: position 0 and the genesis hash', async () => {
    expect(await createCheckpoint(db.knex, { hmacSecret: HMAC_SECRET })).toMatchObject({ position: 0, hash: GENESIS_HASH });
  });

  describe.each(KEYS)('%s', (_algorithm, signing, checking) => {
    it('an earlier checkpoint still matches the grown chain', async () => {
      await seedTwelve();
      const checkpoint = await createCheckpoint(db.knex, signing);
      await seed(db.knex, [activity({ userId: 'later', startTime: BASE + 3_600_000 })]);
      expect(await verifyChain(db.knex, { checkpoint, checkpointKey: checking })).toEqual({
        ok: true, rowsChecked: 13, verifiedFrom: 1, verifiedTo: 13, headHash: await hashAt(13),
        checkpoint: { position: 12, hash: checkpoint.hash, createdAt: checkpoint.createdAt, status: 'matched' },
      });
    });

    it('rows removed from the end: ok without a checkpoint, truncated with one', async () => {
      await seedTwelve();
      const checkpoint = await createCheckpoint(db.knex, signing);
      await asAttacker(['delete from user_activity where chain_position > 10']);
      expect(await verifyChain(db.knex)).toEqual({ ok: true, rowsChecked: 10, verifiedFrom: 1, verifiedTo: 10, headHash: await hashAt(10) });
      expect(await verifyChain(db.knex, { checkpoint, checkpointKey: checking })).toEqual({
        ok: false, rowsChecked: 10, verifiedFrom: 1, verifiedTo: 10, headHash: await hashAt(10),
        checkpoint: { position: 12, hash: checkpoint.hash, createdAt: checkpoint.createdAt, status: 'missing' },
        failure: { position: 11, problem: 'truncated', message: `The checkpoint of ${checkpoint.createdAt} covers position 12, but the chain ends at 10: rows were removed from its end` },
      });
    });

    it('a chain rewritten consistently from row 7 on: only the checkpoint sees it (checkpoint_mismatch)', async () => {
      await seedTwelve();
      const checkpoint = await createCheckpoint(db.knex, signing);
      const rewrite: Array<[string, unknown[]]> = [[`update user_activity set user_id = 'mallory' where chain_position = 7`, []], rehash(7)];
      for (let p = 8; p <= 12; p += 1) {
        rewrite.push(['update user_activity set prev_hash = (select row_hash from user_activity where chain_position = ?) where chain_position = ?', [p - 1, p]], rehash(p));
      }
      await asAttacker(...rewrite);
      expect(await verifyChain(db.knex)).toMatchObject({ ok: true, rowsChecked: 12 });
      expect(await verifyChain(db.knex, { checkpoint, checkpointKey: checking })).toMatchObject({
        ok: false, rowsChecked: 11, verifiedTo: 11, checkpoint: { status: 'mismatched' }, failure: { position: 12, problem: 'checkpoint_mismatch' },
      });
    });

    it.each([
      ['position', (c: SignedCheckpoint) => ({ ...c, position: 11 })],
      ['hash', (c: SignedCheckpoint) => ({ ...c, hash: 'a'.repeat(64) })],
      ['createdAt', (c: SignedCheckpoint) => ({ ...c, createdAt: '2030-01-01T00:00:00.000Z' })],
      ['signature', (c: SignedCheckpoint) => ({ ...c, signature: `${c.signature.startsWith('A') ? 'B' : 'A'}${c.signature.slice(1)}` })],
      ['algorithm', (c: SignedCheckpoint) => ({ ...c, algorithm: 'none' })],
    ])('a changed %s, under the right key: bad_checkpoint', async (_field, change) => {
      await seedTwelve();
      const checkpoint = await createCheckpoint(db.knex, signing);
      expect((await verifyChain(db.knex, { checkpoint, checkpointKey: checking })).ok).toBe(true);
      const result = await verifyChain(db.knex, { checkpoint: change(checkpoint), checkpointKey: checking });
      expect(result).toMatchObject({ ok: false, rowsChecked: 0, failure: { problem: 'bad_checkpoint' } });
      expect(result.failure?.message).toMatch(/^The checkpoint is not trustworthy: /);
    });
  });

  describe('checked with another key than the one that signed it: checkpoint_key_mismatch, and the chain still checked', () => {
    const other = ed25519();
    const idOf = (publicKey: string) => createHash('sha256').update(createPublicKey(publicKey).export({ format: 'der', type: 'spki' })).digest('hex').slice(0, 16);
    const hmacIdOf = (secret: string) => createHmac('sha256', secret).update('activity-tracking checkpoint key id').digest('hex').slice(0, 16);
    const WRONG_KEYS = [
      ['a mistyped HMAC secret', { hmacSecret: HMAC_SECRET }, { hmacSecret: `${HMAC_SECRET}x` }, 'HMAC-SHA256', hmacIdOf(HMAC_SECRET), hmacIdOf(`${HMAC_SECRET}x`)],
      ['another Ed25519 public key', { privateKey: keys.privateKey }, { publicKey: other.publicKey }, 'Ed25519', idOf(keys.publicKey), idOf(other.publicKey)],
    ] as const;

    it.each(WRONG_KEYS)('%s: an intact chain is reported intact, the checkpoint as not checked', async (_name, signing, wrong, algorithm, signedId, wrongId) => {
      await seedTwelve();
      const checkpoint = await createCheckpoint(db.knex, signing);
      expect(await verifyChain(db.knex, { checkpoint, checkpointKey: wrong })).toEqual({
        ok: false, rowsChecked: 12, verifiedFrom: 1, verifiedTo: 12, headHash: await hashAt(12),
        checkpoint: { position: 12, hash: checkpoint.hash, createdAt: checkpoint.createdAt, status: 'key_mismatch' },
        failure: {
          position: 12, problem: 'checkpoint_key_mismatch',
          message: `The checkpoint was signed with the ${algorithm} key whose id is ${signedId}, but the configured key's id is ${wrongId}, so it cannot be checked. `
            + `Fix: set ${'hmacSecret' in wrong ? 'hmacSecret' : 'publicKey'} to the key that signed it (a mistyped or rotated key gives another id); if that is the key configured, the checkpoint's keyId was changed: do not trust it`,
        },
      });
      expect(verifyCheckpoint(checkpoint, wrong)).toMatchObject({ valid: false, problem: 'checkpoint_key_mismatch' });
    });

    it.each(WRONG_KEYS)('%s: a broken chain is still reported broken first', async (_name, signing, wrong) => {
      await seedTwelve();
      const checkpoint = await createCheckpoint(db.knex, signing);
      await asAttacker([`update user_activity set user_id = 'mallory' where chain_position = 6`]);
      expect(await verifyChain(db.knex, { checkpoint, checkpointKey: wrong })).toMatchObject({
        ok: false, rowsChecked: 5, verifiedTo: 5,
        checkpoint: { position: 12, status: 'key_mismatch' },
        failure: { position: 6, problem: 'content_changed' },
      });
    });

    it('the right key and a changed keyId: reported as another key, with the warning that the checkpoint may have been changed', async () => {
      await seedTwelve();
      const checkpoint = await createCheckpoint(db.knex, { hmacSecret: HMAC_SECRET });
      const result = await verifyChain(db.knex, { checkpoint: { ...checkpoint, keyId: '0123456789abcdef' }, checkpointKey: { hmacSecret: HMAC_SECRET } });
      expect(result.failure).toMatchObject({ problem: 'checkpoint_key_mismatch', message: expect.stringContaining("if that is the key configured, the checkpoint's keyId was changed: do not trust it") });
    });

    it('a checkpoint made before key ids: verifies with the right key; with another one it is bad_checkpoint, saying why it cannot tell', async () => {
      await seedTwelve();
      const createdAt = '2026-11-25T08:00:00.000Z';
      const hash = await hashAt(12);
      const old: SignedCheckpoint = {
        position: 12, hash, createdAt, algorithm: 'HMAC-SHA256',
        signature: createHmac('sha256', HMAC_SECRET).update(`activity-tracking-checkpoint:v1:12:${hash}:${createdAt}`).digest('base64url'),
      };
      expect(await verifyChain(db.knex, { checkpoint: old, checkpointKey: { hmacSecret: HMAC_SECRET } })).toMatchObject({ ok: true, checkpoint: { status: 'matched' } });
      const result = await verifyChain(db.knex, { checkpoint: old, checkpointKey: { hmacSecret: `${HMAC_SECRET}x` } });
      expect(result).toMatchObject({ ok: false, rowsChecked: 0, failure: { position: 12, problem: 'bad_checkpoint' } });
      expect(result.failure?.message).toContain('The checkpoint names no key (it was made before key ids), so it cannot be told whether it was changed or signed with another key');
      // A new checkpoint stripped of its key id does not pass as an old one.
      const stripped: Partial<SignedCheckpoint> = { ...(await createCheckpoint(db.knex, { hmacSecret: HMAC_SECRET })) };
      delete stripped.keyId;
      expect((await verifyChain(db.knex, { checkpoint: stripped, checkpointKey: { hmacSecret: HMAC_SECRET } })).failure).toMatchObject({ problem: 'bad_checkpoint' });
    });
  });

  it('at a position retention removed: compared with the hash its chained retention record gives, else reported as removed', async () => {
    await seedTwelve();
    await seed(db.knex, [activity({ userId: 'later', startTime: BASE + 3_600_000 })]);
    const createdAt = '2026-11-25T08:00:00.000Z';
    const signed = (position: number, hash: string): SignedCheckpoint => ({
      position, hash, createdAt, algorithm: 'HMAC-SHA256',
      signature: createHmac('sha256', HMAC_SECRET).update(`activity-tracking-checkpoint:v1:${position}:${hash}:${createdAt}`).digest('base64url'),
    });
    const atTwelve = signed(12, await hashAt(12));
    const atTen = signed(10, await hashAt(10));
    const atFour = signed(4, await hashAt(4));
    const forgedTwelve = signed(12, await hashAt(11));
    const forgedTen = signed(10, await hashAt(9));
    // Positions 1-12 go in batches 1-5, 6-10 and 11-12, recorded at 14, 15 and 16.
    await removeExpiredActivity(db.knex, { retentionDays: 1, job: 'retention-job', batchSize: 5, now: new Date(BASE + 12 * 60_000 + 86_400_000) });
    const checkpointKey = { hmacSecret: HMAC_SECRET };
    expect(await verifyChain(db.knex, { checkpoint: atTwelve, checkpointKey })).toEqual({
      ok: true, rowsChecked: 4, verifiedFrom: 13, verifiedTo: 16, headHash: await hashAt(16), checkpoint: { position: 12, hash: atTwelve.hash, createdAt, status: 'matched' },
    });
    expect(await verifyChain(db.knex, { checkpoint: atTen, checkpointKey })).toMatchObject({ ok: true, checkpoint: { position: 10, status: 'matched' } });
    expect(await verifyChain(db.knex, { checkpoint: atFour, checkpointKey })).toMatchObject({ ok: true, rowsChecked: 4, checkpoint: { position: 4, status: 'removed_by_retention' } });
    expect(await verifyChain(db.knex, { checkpoint: forgedTwelve, checkpointKey })).toMatchObject({ ok: false, rowsChecked: 0, failure: { position: 12, problem: 'checkpoint_mismatch' } });
    expect(await verifyChain(db.knex, { checkpoint: forgedTen, checkpointKey })).toMatchObject({ ok: false, rowsChecked: 0, failure: { position: 10, problem: 'checkpoint_mismatch' } });
  });

  describe('keys from the environment', () => {
    const VARIABLES = ['ACTIVITY_CHECKPOINT_KEY', 'ACTIVITY_CHECKPOINT_PRIVATE_KEY', 'ACTIVITY_CHECKPOINT_PUBLIC_KEY'];
    const none = Object.fromEntries(VARIABLES.map((v) => [v, undefined]));

    it('none set: ERR_AT_CHECKPOINT_KEY naming the variables', async () => {
      await withEnv(none, async () => {
        await expect(createCheckpoint(db.knex)).rejects.toMatchObject({
          code: 'ERR_AT_CHECKPOINT_KEY',
          message: expect.stringContaining('No checkpoint key is configured. Fix: set ACTIVITY_CHECKPOINT_KEY to a random secret of at least 16 characters'),
        });
      });
    });

    it.each([
      ['a short HMAC secret', { ACTIVITY_CHECKPOINT_KEY: 'short' }, 'ACTIVITY_CHECKPOINT_KEY is too short'],
      ['a private key that is no PEM', { ACTIVITY_CHECKPOINT_PRIVATE_KEY: 'not a pem' }, 'ACTIVITY_CHECKPOINT_PRIVATE_KEY is not a PEM-encoded key'],
      ['an RSA private key', { ACTIVITY_CHECKPOINT_PRIVATE_KEY: generateKeyPairSync('rsa', { modulusLength: 1024, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } }).privateKey }, 'ACTIVITY_CHECKPOINT_PRIVATE_KEY must be an Ed25519 private key'],
      ['only a public key, to sign', { ACTIVITY_CHECKPOINT_PUBLIC_KEY: keys.publicKey }, 'A public key can only verify checkpoints'],
    ])('%s: ERR_AT_CHECKPOINT_KEY', async (_case, vars, message) => {
      await withEnv({ ...none, ...vars }, async () => {
        await expect(createCheckpoint(db.knex)).rejects.toMatchObject({ code: 'ERR_AT_CHECKPOINT_KEY', message: expect.stringContaining(message) });
      });
    });

    it('signs with the private key (line breaks written as \\n) and verifies with the public key', async () => {
      await seedTwelve();
      const checkpoint = await withEnv({ ...none, ACTIVITY_CHECKPOINT_PRIVATE_KEY: keys.privateKey.replace(/\n/g, '\\n') }, () => createCheckpoint(db.knex));
      expect(checkpoint.algorithm).toBe('Ed25519');
      const result = await withEnv({ ...none, ACTIVITY_CHECKPOINT_PUBLIC_KEY: keys.publicKey }, () => verifyChain(db.knex, { checkpoint }));
      expect(result).toMatchObject({ ok: true, checkpoint: { status: 'matched' } });
      await expect(withEnv({ ...none, ACTIVITY_CHECKPOINT_KEY: HMAC_SECRET }, () => verifyChain(db.knex, { checkpoint }))).rejects.toMatchObject({
        code: 'ERR_AT_CHECKPOINT_KEY', message: expect.stringContaining('set ACTIVITY_CHECKPOINT_PUBLIC_KEY'),
      });
    });
  });
});

describe.each(EXPRESS_VERSIONS)('GET /integrity (%s)', (_name, express) => {
  let tracker: ActivityTracker;
  beforeEach(async () => {
    tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET });
    await seedTwelve();
  });
  afterEach(async () => {
    await tracker.close();
    await resetTables(db.knex);
  });

  it.each([
    ['system_admin', 200], ['admin', 200], ['auditor', 403], ['manager', 403], ['user', 403], [null, 401],
  ] as const)('role %s: %i', async (role, status) => {
    const call = request(reportApp(express, tracker)).get(`${MOUNT}/integrity`);
    const response = role === null ? await call : await call.set(bearer(`${role}-1`, role));
    expect(response.status).toBe(status);
    if (status === 200) {
      expect(response.body).toEqual({ data: { ok: true, rowsChecked: 12, verifiedFrom: 1, verifiedTo: 12, headHash: await hashAt(12) } });
    } else {
      expect(response.body.error.code).toBe(status === 401 ? 'ERR_AT_UNAUTHENTICATED' : 'ERR_AT_FORBIDDEN');
    }
  });

  it('reports tampering, matches the OpenAPI document, and is itself on the trail', async () => {
    const app = reportApp(express, tracker);
    const check = await openApiValidator(reportApp(express, tracker, { capture: false }));
    const intact = await request(app).get(`${MOUNT}/integrity`).set(bearer('root', 'admin')).expect(200);
    expect(check('/integrity', 200, intact.body)).toEqual([]);
    await tracker.flush();
    // The read itself was appended to the chain, linked to row 12.
    const trail = await db.knex('user_activity').where('chain_position', 13).first() as { activity_type: string; user_id: string; prev_hash: string; details: unknown };
    expect(trail).toMatchObject({ activity_type: 'audit_read', user_id: 'root', prev_hash: await hashAt(12), details: { custom: { route: `${MOUNT}/integrity`, role: 'admin', filters: {} } } });

    await asAttacker([`update user_activity set action = 'delete' where chain_position = 5`]);
    const broken = await request(app).get(`${MOUNT}/integrity`).set(bearer('root', 'system_admin')).expect(200);
    expect(broken.body).toEqual({
      data: {
        ok: false, rowsChecked: 4, verifiedFrom: 1, verifiedTo: 4, headHash: await hashAt(4),
        failure: { position: 5, problem: 'content_changed', message: 'The row at position 5 no longer matches its hash: its content or hash was changed' },
      },
    });
    expect(check('/integrity', 200, broken.body)).toEqual([]);
    expect(check('/integrity', 200, { data: { ...broken.body.data, failure: { position: 5, problem: 'eaten' } } })).not.toEqual([]);
  });

  it('takes no parameter but checkpoint', async () => {
    const response = await request(reportApp(express, tracker)).get(`${MOUNT}/integrity?pageSize=5`).set(bearer('root', 'admin')).expect(400);
    expect(response.body.error).toMatchObject({ code: 'ERR_AT_UNKNOWN_PARAM', param: 'pageSize' });
  });

  describe('with ?checkpoint=, checked with the app\'s ACTIVITY_CHECKPOINT_* key', () => {
    const NO_KEYS = { ACTIVITY_CHECKPOINT_KEY: undefined, ACTIVITY_CHECKPOINT_PRIVATE_KEY: undefined, ACTIVITY_CHECKPOINT_PUBLIC_KEY: undefined };
    const integrity = (app: ReturnType<typeof reportApp>, checkpoint: unknown) => request(app).get(`${MOUNT}/integrity`).query({ checkpoint: JSON.stringify(checkpoint) }).set(bearer('root', 'admin'));

    it('the right key: matched; another key: checkpoint_key_mismatch beside an intact chain, not a broken one', async () => {
      const checkpoint = await createCheckpoint(db.knex, { hmacSecret: HMAC_SECRET });
      const check = await openApiValidator(reportApp(express, tracker, { capture: false }));
      await withEnv({ ...NO_KEYS, ACTIVITY_CHECKPOINT_KEY: HMAC_SECRET }, async () => {
        const matched = await integrity(reportApp(express, tracker), checkpoint).expect(200);
        expect(matched.body.data).toEqual({
          ok: true, rowsChecked: 12, verifiedFrom: 1, verifiedTo: 12, headHash: await hashAt(12),
          checkpoint: { position: 12, hash: checkpoint.hash, createdAt: checkpoint.createdAt, status: 'matched' },
        });
        expect(check('/integrity', 200, matched.body)).toEqual([]);
      });
      await withEnv({ ...NO_KEYS, ACTIVITY_CHECKPOINT_KEY: `${HMAC_SECRET}-mistyped` }, async () => {
        const mismatch = await integrity(reportApp(express, tracker), checkpoint).expect(200);
        // The chain is checked whole (the first read's own rows may be in it by now).
        expect(mismatch.body.data.verifiedTo).toBe(mismatch.body.data.rowsChecked);
        expect(mismatch.body.data).toMatchObject({
          ok: false, verifiedFrom: 1, rowsChecked: expect.any(Number),
          checkpoint: { position: 12, status: 'key_mismatch' },
          failure: { position: 12, problem: 'checkpoint_key_mismatch', message: expect.stringContaining(`signed with the HMAC-SHA256 key whose id is ${checkpoint.keyId}`) },
        });
        expect(check('/integrity', 200, mismatch.body)).toEqual([]);
      });
      await tracker.flush();
      // The auditor's read is on the trail with the checkpoint's position, never its signature.
      const reads = await db.knex('user_activity').where({ activity_type: 'audit_read' }).pluck('details') as Array<{ custom: { filters: unknown } }>;
      expect(reads.map((d) => d.custom.filters)).toEqual([{ checkpoint: { position: 12 } }, { checkpoint: { position: 12 } }]);
      expect(JSON.stringify(reads)).not.toContain(checkpoint.signature);
    });

    it('a checkpoint that is not JSON, or one this app has no key for: 400 naming checkpoint and the fix', async () => {
      await withEnv(NO_KEYS, async () => {
        const app = reportApp(express, tracker);
        const garbled = await request(app).get(`${MOUNT}/integrity?checkpoint=%7Bposition`).set(bearer('root', 'admin')).expect(400);
        expect(garbled.body.error).toMatchObject({ code: 'ERR_AT_INVALID_PARAM', param: 'checkpoint', message: expect.stringContaining('URL-encoded') });
        const keyless = await integrity(app, await createCheckpoint(db.knex, { hmacSecret: HMAC_SECRET })).expect(400);
        expect(keyless.body.error).toMatchObject({ param: 'checkpoint', message: expect.stringMatching(/^This server cannot check the checkpoint: No checkpoint key is configured\. Fix: set ACTIVITY_CHECKPOINT_KEY .*; or check it with `activity-tracking verify --checkpoint FILE`$/) });
      });
    });
  });
});


describe('verification in JavaScript (issue 12, section 3)', () => {
  const CONTENT_SIGNATURE = ROW_HASH_SIGNATURE.replace('bigint, text, ', 'bigint, ');
  const named = (signature: string): string => signature.split(', ').map((type, i) => `a${i} ${type}`).join(', ');

  it('a row hash function replaced to return the stored hash hides no change from verify, the checkpoint or GET /integrity', async () => {
    await seedTwelve();
    const checkpoint = await createCheckpoint(db.knex, { hmacSecret: HMAC_SECRET });
    await db.knex.raw(`alter function activity_tracking_row_hash(${ROW_HASH_SIGNATURE}) rename to activity_tracking_row_hash_saved`);
    await db.knex.raw(`alter function activity_tracking_content_hash(${CONTENT_SIGNATURE}) rename to activity_tracking_content_hash_saved`);
    const tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET });
    try {
      // What an attacker with the owner's rights installs: every row "hashes" to what it stores.
      await db.knex.raw(`create function activity_tracking_row_hash(${named(ROW_HASH_SIGNATURE)}) returns text language sql stable as $fn$
        select row_hash from user_activity where chain_position = a0 $fn$`);
      await db.knex.raw(`create function activity_tracking_content_hash(${named(CONTENT_SIGNATURE)}) returns text language sql immutable as $fn$
        select repeat('0', 64) $fn$`);
      await asAttacker([`update user_activity set user_id = 'mallory', details = '{"note": "approved", "amount": 1000000}' where chain_position = 5`]);
      const broken = { position: 5, problem: 'content_changed', message: 'The row at position 5 no longer matches its hash: its content or hash was changed' };
      expect(await verifyChain(db.knex)).toMatchObject({ ok: false, rowsChecked: 4, verifiedTo: 4, failure: broken });
      expect(await verifyChain(db.knex, { checkpoint, checkpointKey: { hmacSecret: HMAC_SECRET } })).toMatchObject({ ok: false, rowsChecked: 4, failure: broken });
      const response = await request(reportApp(EXPRESS_VERSIONS[0][1], tracker, { capture: false })).get(`${MOUNT}/integrity`).set(bearer('root', 'admin')).expect(200);
      expect(response.body.data).toMatchObject({ ok: false, rowsChecked: 4, failure: broken });
    } finally {
      await tracker.close();
      await db.knex.raw(`drop function activity_tracking_row_hash(${ROW_HASH_SIGNATURE})`);
      await db.knex.raw(`drop function activity_tracking_content_hash(${CONTENT_SIGNATURE})`);
      await db.knex.raw(`alter function activity_tracking_row_hash_saved(${ROW_HASH_SIGNATURE}) rename to activity_tracking_row_hash`);
      await db.knex.raw(`alter function activity_tracking_content_hash_saved(${CONTENT_SIGNATURE}) rename to activity_tracking_content_hash`);
    }
  });
});

describe('backdated rows (issue 12, section 3)', () => {
  const DAY = 86_400_000;

  it('a row appended through activity_tracking_append() with a start time 8 days back is reported as backdated; the bound is an option', async () => {
    const now = Date.now();
    await seed(db.knex, [1, 2, 3].map((i) => activity({ userId: `user-${i}`, startTime: now - (4 - i) * 60_000 })));
    await db.knex.raw('select activity_tracking_append(?::jsonb)', [JSON.stringify([activity({ userId: 'mallory', action: 'approve', startTime: now - 8 * DAY })])]);
    await withEnv({ ACTIVITY_BACKDATED_AFTER_DAYS: undefined }, async () => {
      const result = await verifyChain(db.knex);
      expect(result).toMatchObject({ ok: false, rowsChecked: 3, verifiedTo: 3, failure: { position: 4, problem: 'backdated' } });
      expect(result.failure?.message).toMatch(/^The row at position 4 started 8 day\(s\) before it was stored \(start_time .*\), more than 7 day\(s\): it was appended with a made-up start time$/);
      expect(await verifyChain(db.knex, { backdatedAfterDays: 9 })).toMatchObject({ ok: true });
      await expect(verifyChain(db.knex, { backdatedAfterDays: 0 })).rejects.toMatchObject({ code: 'ERR_AT_INVALID_OPTION', message: expect.stringContaining('Invalid backdatedAfterDays: 0. Fix: pass a whole number of days from 1 to 36500') });
    });
    await withEnv({ ACTIVITY_BACKDATED_AFTER_DAYS: '9' }, async () => {
      expect(await verifyChain(db.knex)).toMatchObject({ ok: true });
    });
    await withEnv({ ACTIVITY_BACKDATED_AFTER_DAYS: 'week' }, async () => {
      await expect(verifyChain(db.knex)).rejects.toMatchObject({ code: 'ERR_AT_INVALID_ENV', message: expect.stringContaining('ACTIVITY_BACKDATED_AFTER_DAYS="week"') });
    });
  });

  it('GET /integrity reports it too', async () => {
    await db.knex.raw('select activity_tracking_append(?::jsonb)', [JSON.stringify([activity({ startTime: Date.now() - 30 * DAY })])]);
    const tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET });
    try {
      const response = await withEnv({ ACTIVITY_BACKDATED_AFTER_DAYS: undefined }, () => request(reportApp(EXPRESS_VERSIONS[0][1], tracker, { capture: false })).get(`${MOUNT}/integrity`).set(bearer('root', 'admin')));
      expect(response.body.data).toMatchObject({ ok: false, rowsChecked: 0, failure: { position: 1, problem: 'backdated' } });
      // A bad bound fails when the router is built, not on each request.
      await withEnv({ ACTIVITY_BACKDATED_AFTER_DAYS: '0' }, async () => {
        expect(() => tracker.router()).toThrow(expect.objectContaining({ code: 'ERR_AT_INVALID_ENV' }));
      });
    } finally {
      await tracker.close();
    }
  });
});
