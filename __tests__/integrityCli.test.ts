import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { checkpointKeyId, verifyChain } from '../lib/index';
import { GENESIS_HASH } from '../lib/integrity/encoding';
import { openTestDatabase, resetTables, usingPostgres, type TestDatabase } from './support/database';
import { activity, seed } from './support/reports';
import { runCli } from './support/cli';

const HMAC_SECRET = 'cli-test-checkpoint-secret-0123456789';
const hmacKeyId = (secret: string) => checkpointKeyId('HMAC-SHA256', secret);
const NO_KEYS = { ACTIVITY_CHECKPOINT_KEY: undefined, ACTIVITY_CHECKPOINT_PRIVATE_KEY: undefined, ACTIVITY_CHECKPOINT_PUBLIC_KEY: undefined };

let db: TestDatabase;
let dir: string;
beforeAll(async () => {
  db = await openTestDatabase();
  dir = mkdtempSync(path.join(os.tmpdir(), 'activity-integrity-cli-'));
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await db.destroy();
});
beforeEach(async () => { await resetTables(db.knex); });

const cli = runCli;

/** Twelve activities in three batches of the write path: chain positions 1 to 12. */
async function seedTwelve(): Promise<void> {
  const base = Date.UTC(2026, 10, 20, 9, 0, 0);
  const events = Array.from({ length: 12 }, (_, i) => activity({ userId: `user-${i + 1}`, startTime: base + i * 60_000 }));
  for (let batch = 0; batch < 3; batch += 1) await seed(db.knex, events.slice(batch * 4, batch * 4 + 4));
}

async function hashAt(position: number): Promise<string> {
  const found = (await db.knex.raw('select row_hash from user_activity where chain_position = ?', [position])) as { rows: Array<{ row_hash: string }> };
  return found.rows[0]!.row_hash;
}

async function asAttacker(sql: string): Promise<void> {
  await db.knex.transaction(async (trx: Knex.Transaction) => {
    await trx.raw('set local session_replication_role = replica');
    await trx.raw(sql);
  });
}

describe('activity-tracking verify and checkpoint, before any database', () => {
  it('are in the help', async () => {
    const { code, out } = await cli(['help']);
    expect(code).toBe(0);
    expect(out).toContain('migrate   Create or update the activity tracking tables.');
    expect(out).toContain('  verify [--checkpoint FILE] [--backdated-after DAYS] [--json]\n');
    expect(out).toContain('  checkpoint\n');
  });

  it.each([
    [['verify', '--bogus'], 'verify does not take "--bogus"'],
    [['verify', '--checkpoint'], 'verify does not take "--checkpoint"'],
    [['checkpoint', 'now'], 'checkpoint takes no arguments, not "now"'],
    [['verify', '--backdated-after', '0'], '--backdated-after takes a whole number of days from 1 to 36500, not "0"'],
    [['verify', '--backdated-after=week'], '--backdated-after takes a whole number of days from 1 to 36500, not "week"'],
  ])('%j: usage error, exit code 2', async (argv, message) => {
    const { code, out, err } = await cli(argv);
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toContain(`activity-tracking: ${message}\n\nUsage: activity-tracking <command>`);
  });

  it('a checkpoint file that cannot be read: exit code 2', async () => {
    const missing = path.join(dir, 'missing.json');
    const garbled = path.join(dir, 'garbled.json');
    writeFileSync(garbled, '{ not json');
    expect(await cli(['verify', '--checkpoint', missing])).toMatchObject({ code: 2, out: '', err: expect.stringContaining(`cannot read the checkpoint file ${missing}`) });
    expect(await cli(['verify', `--checkpoint=${garbled}`])).toMatchObject({ code: 2, out: '', err: expect.stringContaining(`cannot read the checkpoint file ${garbled}`) });
  });

  it('checkpoint without a key: exit code 2, naming the variables to set', async () => {
    const { code, out, err } = await cli(['checkpoint'], NO_KEYS);
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toContain('No checkpoint key is configured. Fix: set ACTIVITY_CHECKPOINT_KEY to a random secret of at least 16 characters (HMAC-SHA256), or ACTIVITY_CHECKPOINT_PRIVATE_KEY');
  });
});

describe('on the embedded database', () => {
  it('verify and checkpoint use ACTIVITY_DATA_DIR as migrate does', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'activity-integrity-embedded-'));
    const env = { DATABASE_URL: undefined, ACTIVITY_DATA_DIR: dataDir, ...NO_KEYS, ACTIVITY_CHECKPOINT_KEY: HMAC_SECRET };
    try {
      const before = await cli(['verify'], env);
      expect(before).toMatchObject({ code: 2, out: '', err: expect.stringContaining('The activity tracking tables do not exist in this database. Fix: run `npx activity-tracking migrate`') });
      expect((await cli(['migrate'], env)).code).toBe(0);
      expect(await cli(['verify'], env)).toEqual({ code: 0, err: '', out: `Checked 0 rows.\nOK: the hash chain is intact; head hash ${GENESIS_HASH}.\n` });
      const checkpoint = await cli(['checkpoint'], env);
      expect(checkpoint.code).toBe(0);
      expect(JSON.parse(checkpoint.out)).toMatchObject({ position: 0, hash: GENESIS_HASH, algorithm: 'HMAC-SHA256' });
      // The issue's trial: a mistyped key was told "BROKEN (bad_checkpoint)", exit code 1.
      const file = path.join(dataDir, 'head.json');
      writeFileSync(file, checkpoint.out);
      expect(await cli(['verify', '--checkpoint', file], env)).toMatchObject({ code: 0, out: expect.stringContaining('at position 0: matched.') });
      const mistyped = await cli(['verify', '--checkpoint', file], { ...env, ACTIVITY_CHECKPOINT_KEY: `${HMAC_SECRET}x` });
      expect(mistyped).toMatchObject({ code: 3, err: '' });
      expect(mistyped.out).toContain(`OK: the hash chain is intact; head hash ${GENESIS_HASH}.\nCHECKPOINT NOT CHECKED (checkpoint_key_mismatch): `);
      expect(mistyped.out).not.toContain('BROKEN');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});

(usingPostgres ? describe : describe.skip)('on a PostgreSQL server (DATABASE_URL)', () => {
  const env = () => ({ DATABASE_URL: db.url!, ...NO_KEYS, ACTIVITY_CHECKPOINT_KEY: HMAC_SECRET });

  it('verify: an intact chain, exit code 0', async () => {
    await seedTwelve();
    expect(await cli(['verify'], env())).toEqual({
      code: 0, err: '',
      out: `Checked 12 row(s), chain positions 1 to 12.\nOK: the hash chain is intact; head hash ${await hashAt(12)}.\n`,
    });
    const json = await cli(['verify', '--json'], env());
    expect(json.code).toBe(0);
    expect(JSON.parse(json.out)).toEqual(await verifyChain(db.knex));
  });

  it('verify: a changed row, exit code 1 with the first broken position', async () => {
    await seedTwelve();
    await asAttacker(`update user_activity set user_id = 'mallory' where chain_position = 6`);
    expect(await cli(['verify'], env())).toEqual({
      code: 1, err: '',
      out: 'Checked 5 row(s), chain positions 1 to 5.\nBROKEN at position 6 (content_changed): The row at position 6 no longer matches its hash: its content or hash was changed\n',
    });
    const json = await cli(['verify', '--json'], env());
    expect(json.code).toBe(1);
    expect(JSON.parse(json.out)).toMatchObject({ ok: false, rowsChecked: 5, failure: { position: 6, problem: 'content_changed' } });
  });

  it('checkpoint, then verify --checkpoint catches rows removed from the end', async () => {
    await seedTwelve();
    const signed = await cli(['checkpoint'], env());
    expect(signed.code).toBe(0);
    const checkpoint = JSON.parse(signed.out) as { position: number; hash: string; createdAt: string; algorithm: string; keyId: string };
    expect(checkpoint).toMatchObject({ position: 12, hash: await hashAt(12), algorithm: 'HMAC-SHA256' });
    const file = path.join(dir, 'checkpoint.json');
    writeFileSync(file, signed.out);

    expect(await cli(['verify', '--checkpoint', file], env())).toEqual({
      code: 0, err: '',
      out: `Checked 12 row(s), chain positions 1 to 12.\nCheckpoint of ${checkpoint.createdAt} at position 12: matched.\nOK: the hash chain is intact; head hash ${await hashAt(12)}.\n`,
    });
    await asAttacker('delete from user_activity where chain_position > 9');
    expect((await cli(['verify'], env())).code).toBe(0);
    expect(await cli(['verify', '--checkpoint', file], env())).toEqual({
      code: 1, err: '',
      out: `Checked 9 row(s), chain positions 1 to 9.\nCheckpoint of ${checkpoint.createdAt} at position 12: missing.\n`
        + `BROKEN at position 10 (truncated): The checkpoint of ${checkpoint.createdAt} covers position 12, but the chain ends at 9: rows were removed from its end\n`,
    });
    // Checked with a mistyped secret, the checkpoint is not called tampered: it cannot be checked
    // (exit code 3), and the chain is checked on its own.
    const mistyped = await cli(['verify', '--checkpoint', file], { ...env(), ACTIVITY_CHECKPOINT_KEY: `${HMAC_SECRET}x` });
    expect(mistyped).toEqual({
      code: 3, err: '',
      out: `Checked 9 row(s), chain positions 1 to 9.\nCheckpoint of ${checkpoint.createdAt} at position 12: key mismatch.\n`
        + `OK: the hash chain is intact; head hash ${await hashAt(9)}.\n`
        + `CHECKPOINT NOT CHECKED (checkpoint_key_mismatch): The checkpoint was signed with the HMAC-SHA256 key whose id is ${checkpoint.keyId}, but the configured key's id is ${hmacKeyId(`${HMAC_SECRET}x`)}, so it cannot be checked. `
        + 'Fix: set ACTIVITY_CHECKPOINT_KEY to the key that signed it (a mistyped or rotated key gives another id); if that is the key configured, the checkpoint\'s keyId was changed: do not trust it\n',
    });
    expect(JSON.parse((await cli(['verify', '--checkpoint', file, '--json'], { ...env(), ACTIVITY_CHECKPOINT_KEY: `${HMAC_SECRET}x` })).out)).toMatchObject({
      ok: false, checkpoint: { position: 12, status: 'key_mismatch' }, failure: { problem: 'checkpoint_key_mismatch' },
    });
  });

  it('verify: a backdated row, exit code 1; --backdated-after raises the bound', async () => {
    await seed(db.knex, [activity({ startTime: Date.now() - 60_000 }), activity({ startTime: Date.now() - 10 * 86_400_000 })]);
    const env8 = { ...env(), ACTIVITY_BACKDATED_AFTER_DAYS: undefined };
    const broken = await cli(['verify'], env8);
    expect(broken).toMatchObject({ code: 1, err: '', out: expect.stringContaining('BROKEN at position 2 (backdated): The row at position 2 started 10 day(s) before it was stored') });
    expect(await cli(['verify', '--backdated-after', '11'], env8)).toMatchObject({ code: 0, out: expect.stringContaining('OK: the hash chain is intact') });
    expect(await cli(['verify'], { ...env8, ACTIVITY_BACKDATED_AFTER_DAYS: 'x' })).toMatchObject({ code: 2, out: '', err: expect.stringContaining('Invalid environment variable ACTIVITY_BACKDATED_AFTER_DAYS="x"') });
  });

  it('verify: rows deleted behind a forged activity_retention row, exit code 1 (retention_forged)', async () => {
    await seedTwelve();
    await asAttacker(`insert into activity_retention (from_position, to_position, removed, last_removed_hash, cutoff, job)
      values (1, 6, 6, (select row_hash from user_activity where chain_position = 6), now(), 'retention')`);
    await asAttacker('delete from user_activity where chain_position <= 6');
    expect(await cli(['verify'], env())).toMatchObject({ code: 1, out: expect.stringMatching(/^Checked 0 rows\.\nBROKEN at position 1 \(retention_forged\): activity_retention says positions 1 to 6 were removed/) });
  });

  it('an unreachable server or a missing schema: exit code 2', async () => {
    const unreachable = await cli(['verify'], { ...env(), DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none' });
    expect(unreachable).toMatchObject({ code: 2, out: '', err: expect.stringMatching(/^activity-tracking: .*ECONNREFUSED/) });
    const elsewhere = db.url!.replace(/search_path%3D[^&]*/, 'search_path%3Dno_such_schema');
    expect(elsewhere).not.toBe(db.url);
    expect(await cli(['checkpoint'], { ...env(), DATABASE_URL: elsewhere })).toMatchObject({
      code: 2, out: '', err: expect.stringContaining('The activity tracking tables do not exist in this database'),
    });
  });
});


(usingPostgres ? describe : describe.skip)('activity-tracking cleanup', () => {
  it('with --dry-run says what it would remove; without, removes it and verify still passes', async () => {
    const old = Date.now() - 200 * 86_400_000;
    await seed(db.knex, [activity({ startTime: old }), activity({ startTime: old + 1000 }), activity({ startTime: Date.now() - 60_000 })]);
    const env = { DATABASE_URL: db.url!, ACTIVITY_LOG_RETENTION_DAYS: '90' };
    const dry = await cli(['cleanup', '--dry-run'], env);
    expect(dry.code).toBe(0);
    expect(dry.out).toMatch(/^Would remove 2 activity row\(s\) older than .* \(chain positions 1 to 2\)\. Nothing was changed\.\n$/);
    expect(Number((await db.knex('user_activity').count({ n: '*' }).first())?.n)).toBe(3);
    const done = await cli(['cleanup'], env);
    expect(done.out).toMatch(/^Removed 2 activity row\(s\) older than .* \(chain positions 1 to 2\) in 1 batch\(es\)\.\n$/);
    const verified = await cli(['verify'], env);
    expect(verified.code).toBe(0);
    expect(verified.out).toContain('chain positions 3 to 4');
    expect((await cli(['cleanup', '--now'], env)).code).toBe(2);
  });
});
