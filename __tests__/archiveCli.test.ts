import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { Knex } from 'knex';
import { folderArchiveSink, writeArchive, type ArchiveManifest } from '../lib/index';
import { resolveSigningKey } from '../lib/integrity/batchSignatures';
import { removeExpiredActivity } from '../lib/jobs/retention';
import { KnexActivityStore } from '../lib/store/activityStore';
import { openDatabase } from '../lib/store/database';
import { expiredPrefix } from '../lib/store/jobs/retention';
import { memoryLogger } from './support/app';
import { runCli } from './support/cli';
import { openTestDatabase, resetTables, usingPostgres, type TestDatabase } from './support/database';
import { activity } from './support/reports';

const DAY = 86_400_000;
const pair = generateKeyPairSync('ed25519');
const PRIVATE_PEM = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const PUBLIC_PEM = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const NO_DATABASE = (dir: string) => ({ DATABASE_URL: undefined, ACTIVITY_DATA_DIR: path.join(dir, 'no-database-here'), ACTIVITY_SIGNING_KEY: undefined });

let db: TestDatabase;
let dir: string;
beforeAll(async () => {
  db = await openTestDatabase();
  dir = mkdtempSync(path.join(os.tmpdir(), 'activity-archive-cli-'));
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await db.destroy();
});
beforeEach(async () => { await resetTables(db.knex); });

let archives = 0;

/**
 * Rows 200 to 100 days old (with their session_start rows) and one of today; archives the prefix a
 * retention run now removes, signed with the Ed25519 key, then (unless told not to) runs it.
 */
async function archiveAndRemove(knex: Knex, options: { remove?: boolean } = {}): Promise<{ folder: string; manifest: ArchiveManifest; data: string; manifestFile: string; now: Date }> {
  const store = new KnexActivityStore(knex);
  const old = Date.now() - 200 * DAY;
  await store.writeBatch([0, 25, 50, 75, 100].map((days, i) => activity({ startTime: old + days * DAY, sessionId: `sess-${i % 2}` })));
  await store.writeBatch([activity({ startTime: Date.now(), sessionId: 'today' })]);
  const now = new Date();
  const cutoff = new Date(now.getTime() - 90 * DAY);
  const prefix = await expiredPrefix(knex, cutoff, null);
  const folder = path.join(dir, `archives-${++archives}`);
  const manifest = await writeArchive(knex, {
    fromPosition: prefix!.from, toPosition: prefix!.to, cutoff, sink: folderArchiveSink(folder), name: 'activity-2026-05', signingKey: resolveSigningKey(PRIVATE_PEM),
  });
  if (options.remove ?? true) await removeExpiredActivity(knex, { retentionDays: 90, job: 'retention-job', now });
  return { now, folder, manifest, data: path.join(folder, 'activity-2026-05.ndjson.gz'), manifestFile: path.join(folder, 'activity-2026-05.manifest.json') };
}

describe('activity-tracking verify-archive', () => {
  it('is in the help', async () => {
    const { code, out } = await runCli(['help']);
    expect(code).toBe(0);
    expect(out).toContain('  verify-archive FILE [--key-env NAME] [--archive-only]\n');
  });

  it.each([
    [['verify-archive'], 'verify-archive takes the archive\'s .ndjson.gz or .manifest.json file'],
    [['verify-archive', 'notes.txt'], '"notes.txt" is not an archive file'],
    [['verify-archive', 'a.ndjson.gz', 'b.ndjson.gz'], 'verify-archive does not take "b.ndjson.gz"'],
    [['verify-archive', 'a.ndjson.gz', '--bogus'], 'verify-archive does not take "--bogus"'],
  ])('%j: usage error, exit code 2', async (argv, message) => {
    const { code, out, err } = await runCli(argv);
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toContain(`activity-tracking: ${message}`);
  });

  it('checks an archive by either of its files; without a database it says the chain was not checked', async () => {
    const { data, manifestFile, manifest } = await archiveAndRemove(db.knex);
    for (const file of [data, manifestFile]) {
      const { code, out, err } = await runCli(['verify-archive', file], NO_DATABASE(dir));
      expect({ code, err }).toEqual({ code: 0, err: '' });
      expect(out).toBe([
        `Archive ${file}: chain positions ${manifest.fromPosition} to ${manifest.toPosition}, ${manifest.rowCount} row(s), cutoff ${manifest.cutoff}, written ${manifest.createdAt}.`,
        `Read ${manifest.rowCount} row(s) from activity-2026-05.ndjson.gz.`,
        `Signature: by key ${manifest.signature?.keyId}, not checked (set ACTIVITY_SIGNING_KEY to the writer's key, or for Ed25519 its public key, to check it).`,
        'Archive OK: whole and intact; every row matches its hash and links to the row before.',
        `Chain not checked: no database is configured (DATABASE_URL is not set, and there is no embedded database in ${path.join(dir, 'no-database-here')}).`,
        '',
      ].join('\n'));
    }
  });

  it('verifies the signature with the public key; another key or a changed row: exit code 1', async () => {
    const { data, manifest } = await archiveAndRemove(db.knex);
    const env = { ...NO_DATABASE(dir), ACTIVITY_SIGNING_KEY: PUBLIC_PEM };
    expect(await runCli(['verify-archive', data, '--archive-only'], env)).toMatchObject({
      code: 0, out: expect.stringContaining(`Signature: verified with key ${manifest.signature?.keyId}.\nArchive OK`),
    });
    expect(await runCli(['verify-archive', data, '--archive-only', '--key-env', 'OTHER_KEY'], { ...env, OTHER_KEY: 'some-other-hmac-secret-0123456789' })).toMatchObject({
      code: 1, out: expect.stringContaining('ARCHIVE BROKEN:\n  signature_key_mismatch: The manifest was signed with key ed25519:'),
    });
    expect(await runCli(['verify-archive', data], { ...env, ACTIVITY_SIGNING_KEY: 'short' })).toMatchObject({ code: 2, err: expect.stringContaining('ACTIVITY_SIGNING_KEY') });

    const lines = gunzipSync(readFileSync(data)).toString('utf8').split('\n');
    writeFileSync(data, gzipSync(lines.map((line, i) => (i === 1 ? line.replace('"user_id":"alice"', '"user_id":"mallory"') : line)).join('\n')));
    const broken = await runCli(['verify-archive', data, '--archive-only'], env);
    expect(broken.code).toBe(1);
    expect(broken.out).toContain(`ARCHIVE BROKEN:\n  content_changed at position ${manifest.fromPosition + 1}: The row at position ${manifest.fromPosition + 1} no longer matches its hash`);
    expect(broken.out).toContain('  digest_mismatch: ');
  });

  (usingPostgres ? it : it.skip)('on PostgreSQL (DATABASE_URL): matches the archive with the chain\'s retention record', async () => {
    const { data } = await archiveAndRemove(db.knex);
    const recordPosition = Number(((await db.knex.raw('select max(chain_position)::text as p from user_activity')) as { rows: Array<{ p: string }> }).rows[0]?.p);
    const env = { DATABASE_URL: db.url!, ACTIVITY_SIGNING_KEY: PUBLIC_PEM };
    expect(await runCli(['verify-archive', data], env)).toMatchObject({
      code: 0, out: expect.stringContaining(`Chain OK: the retention record at position ${recordPosition} removed exactly these rows (same range, last hash and cutoff).\n`),
    });
    await resetTables(db.knex);
    expect(await runCli(['verify-archive', data], env)).toMatchObject({ code: 1, out: expect.stringContaining('CHAIN MISMATCH:\n  retention_record_missing at position 1: No retention.removed record') });
  });

  it('with the embedded database (ACTIVITY_DATA_DIR): matches the archive with the chain\'s retention record', async () => {
    const dataDir = path.join(dir, 'embedded');
    const env = { DATABASE_URL: undefined, ACTIVITY_DATA_DIR: dataDir, ACTIVITY_SIGNING_KEY: PUBLIC_PEM };
    expect((await runCli(['migrate'], env)).code).toBe(0);
    const database = openDatabase({ kind: 'embedded', dataDir }, memoryLogger(), 'archiveCli.test');
    let data: string;
    let now: Date;
    try {
      ({ data, now } = await archiveAndRemove(database.knex, { remove: false }));
    } finally {
      await database.close();
    }
    expect(await runCli(['verify-archive', data], env)).toMatchObject({ code: 0, out: expect.stringContaining('Chain OK: the rows are still in the chain, with the archive\'s hashes') });
    const again = openDatabase({ kind: 'embedded', dataDir }, memoryLogger(), 'archiveCli.test');
    try {
      await removeExpiredActivity(again.knex, { retentionDays: 90, job: 'cleanup-command', now });
    } finally {
      await again.close();
    }
    expect(await runCli(['verify-archive', data], env)).toMatchObject({ code: 0, out: expect.stringContaining('Chain OK: the retention record at position') });
  }, 60_000);
});
