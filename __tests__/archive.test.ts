import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  ARCHIVE_FORMAT, folderArchiveSink, readBackArchive, verifyArchiveAgainstChain, verifyChain, writeArchive, type ArchiveManifest, type ArchiveProblem,
} from '../lib/index';
import { resolveSigningKey } from '../lib/integrity/batchSignatures';
import { rowHashOf } from '../lib/integrity/recordEncoding';
import { archivedHashInputs } from '../lib/archive/rowFormat';
import { removeExpiredActivity } from '../lib/jobs/retention';
import { appendToChain, KnexActivityStore } from '../lib/store/activityStore';
import { withChainLock } from '../lib/store/chain/lock';
import { expiredPrefix } from '../lib/store/jobs/retention';
import { systemEvent } from '../lib/store/systemEvent';
import { openTestDatabase, resetTables, type TestDatabase } from './support/database';
import { activity } from './support/reports';

const HMAC_KEY = resolveSigningKey('archive-test-writer-secret-0123456789');
const OTHER_KEY = resolveSigningKey('another-writer-secret-9876543210');
const DAY = 86_400_000;

let db: TestDatabase;
let root: string;
beforeAll(async () => {
  db = await openTestDatabase();
  root = mkdtempSync(path.join(os.tmpdir(), 'activity-archive-'));
});
afterAll(async () => {
  rmSync(root, { recursive: true, force: true });
  await db.destroy();
});
beforeEach(async () => { await resetTables(db.knex); });

let folders = 0;
/** A folder of its own for each archive, inside the temp root (which the file removes). */
const newFolder = (): string => path.join(root, `archives-${++folders}`);

async function head(): Promise<number> {
  const found = (await db.knex.raw('select max(chain_position)::text as position from user_activity')) as { rows: Array<{ position: string }> };
  return Number(found.rows[0]?.position);
}

async function firstKept(): Promise<number> {
  const found = (await db.knex.raw('select min(chain_position)::text as position from user_activity')) as { rows: Array<{ position: string }> };
  return Number(found.rows[0]?.position);
}

/**
 * A trail with every kind of row the package writes: request events and a domain event from the
 * app's writer (hash version 3), the session_start rows the database adds (version 1), a system
 * event with domain-event columns appended by SQL (version 2), and a retention record (after a
 * retention run removed the oldest rows). Values a naive copy would change: quotes, commas and a
 * newline in text, a float that is no short decimal, jsonb with integer-like keys.
 */
async function seedTrail(): Promise<void> {
  const store = new KnexActivityStore(db.knex);
  const long = Date.now() - 300 * DAY;
  await store.writeBatch([activity({ startTime: long, sessionId: 'gone-1' }), activity({ startTime: long + 1000, sessionId: 'gone-1' })]);
  await removeExpiredActivity(db.knex, { retentionDays: 250, job: 'retention-job' });

  const old = Date.now() - 200 * DAY;
  await store.writeBatch([
    activity({ startTime: old, sessionId: 'sess-1', userAgent: 'Agent "quoted", with (parens)\nand a newline', duration: 0.1 + 0.2, details: { 10: 'ten', 2: ['two', 1.5], é: 'accent', nested: { z: 1, a: null } } }),
    activity({ startTime: old + 1000, sessionId: 'sess-2', location: null, deviceInfo: null, statusCode: 404, success: false }),
    activity({
      startTime: old + 2000, sessionId: 'sess-2', activityType: 'data_update', action: 'certification.approved', actorType: 'admin', actorRole: 'auditor',
      tenantId: 'tenant-1', reason: 'checked, twice', personalData: true, changes: { before: { status: 'draft' }, after: { status: 'approved' }, diff: [{ path: 'status', before: 'draft', after: 'approved' }] },
    }),
  ]);
  await withChainLock(db.knex, (trx) => appendToChain(trx, [systemEvent({
    startTime: old + 3000, entityType: 'settings', action: 'settings.changed', actorType: 'system', tenantId: 'tenant-1', category: 'configuration',
    details: { 10: 1, 2: 2, a: 'x y', list: [3, 2, 1] },
  })]));
}

/** The archive's files as they are on disk. */
function filesOf(folder: string, name: string): { data: string; manifest: string } {
  return { data: path.join(folder, `${name}.ndjson.gz`), manifest: path.join(folder, `${name}.manifest.json`) };
}

function archivedLines(folder: string, name: string): string[] {
  return gunzipSync(readFileSync(filesOf(folder, name).data)).toString('utf8').split('\n').filter((line) => line !== '');
}

function rewriteLines(folder: string, name: string, change: (lines: string[]) => string[]): void {
  writeFileSync(filesOf(folder, name).data, gzipSync(`${change(archivedLines(folder, name)).join('\n')}\n`));
}

function rewriteManifest(folder: string, name: string, change: (manifest: ArchiveManifest) => ArchiveManifest): void {
  const file = filesOf(folder, name).manifest;
  writeFileSync(file, JSON.stringify(change(JSON.parse(readFileSync(file, 'utf8')) as ArchiveManifest)));
}

const problemsOf = (found: { problems: Array<{ problem: ArchiveProblem }> }): ArchiveProblem[] => found.problems.map((p) => p.problem);

/** The kept trail, archived whole to a new folder. */
async function archiveKeptTrail(name: string, options: { signingKey?: typeof HMAC_KEY | null; batchSize?: number } = {}): Promise<{ folder: string; manifest: ArchiveManifest }> {
  const folder = newFolder();
  const manifest = await writeArchive(db.knex, {
    fromPosition: await firstKept(), toPosition: await head(), cutoff: new Date(Date.now() - 90 * DAY), sink: folderArchiveSink(folder), name, ...options,
  });
  return { folder, manifest };
}

describe('writing an archive and reading it back', () => {
  it('archives every row of a range, and each archived row hashes to its stored row_hash whatever the encoding version', async () => {
    await seedTrail();
    const from = await firstKept();
    const to = await head();
    const { folder, manifest } = await archiveKeptTrail('trail', { batchSize: 3 });

    const stored = (await db.knex.raw('select chain_position::text as position, prev_hash, row_hash, hash_version, actor_type, action, details::text as details from user_activity order by chain_position')) as {
      rows: Array<{ position: string; prev_hash: string; row_hash: string; hash_version: number | null; actor_type: string | null; action: string; details: string | null }>;
    };
    expect(manifest).toEqual({
      format: ARCHIVE_FORMAT, fromPosition: from, toPosition: to, rowCount: to - from + 1,
      firstPrevHash: stored.rows[0]?.prev_hash, firstRowHash: stored.rows[0]?.row_hash, lastRowHash: stored.rows.at(-1)?.row_hash,
      cutoff: expect.stringMatching(/Z$/), createdAt: expect.stringMatching(/Z$/), dataFile: 'trail.ndjson.gz', dataSha256: expect.stringMatching(/^[0-9a-f]{64}$/), signature: null,
    });
    // The kinds of rows the trail holds: the writer's (3), SQL's version 1 (session_start, retention record) and version 2.
    expect(stored.rows.some((r) => Number(r.hash_version) === 3)).toBe(true);
    expect(stored.rows.some((r) => r.hash_version === null && r.action === 'session.start')).toBe(true);
    expect(stored.rows.some((r) => r.hash_version === null && r.action === 'retention.removed')).toBe(true);
    expect(stored.rows.some((r) => r.hash_version === null && r.actor_type === 'system')).toBe(true);

    const lines = archivedLines(folder, 'trail').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.map((row) => row['chain_position'])).toEqual(stored.rows.map((r) => r.position));
    for (const [i, row] of lines.entries()) {
      expect(rowHashOf(archivedHashInputs(row))).toBe(stored.rows[i]?.row_hash);
      // jsonb as jsonb prints it: the version 1 and 2 hashes cover that text.
      expect(row['details']).toBe(stored.rows[i]?.details);
    }
    const columns = (await db.knex.raw("select column_name from information_schema.columns where table_name = 'user_activity' and table_schema = current_schema()")) as { rows: Array<{ column_name: string }> };
    expect(Object.keys(lines[0] ?? {}).sort()).toEqual(columns.rows.map((c) => c.column_name).sort());
    expect(lines.find((row) => String(row['user_agent']).startsWith('Agent'))).toMatchObject({ duration: 0.1 + 0.2, success: true, start_time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/) });

    expect(await readBackArchive(folderArchiveSink(folder), 'trail')).toEqual({ ok: true, manifest, rowsRead: to - from + 1, signature: 'unsigned', problems: [] });
  });

  it('keeps the archive private: the folder 0700, each file 0600, no temporary file left', async () => {
    await seedTrail();
    const { folder } = await archiveKeptTrail('private');
    expect(readdirSync(folder).sort()).toEqual(['private.manifest.json', 'private.ndjson.gz']);
    expect(statSync(folder).mode & 0o777).toBe(0o700);
    for (const file of Object.values(filesOf(folder, 'private'))) expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('signs the manifest with the writer\'s key; an Ed25519 public key verifies it', async () => {
    await seedTrail();
    const pair = generateKeyPairSync('ed25519');
    const writer = resolveSigningKey(pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    const reader = resolveSigningKey(pair.publicKey.export({ type: 'spki', format: 'pem' }).toString());
    const { folder, manifest } = await archiveKeptTrail('signed', { signingKey: writer });
    expect(manifest.signature).toEqual({ algorithm: 'Ed25519', keyId: writer.keyId, value: expect.any(String) });
    expect(await readBackArchive(folderArchiveSink(folder), 'signed', { signingKey: reader })).toMatchObject({ ok: true, signature: 'verified' });
    expect(await readBackArchive(folderArchiveSink(folder), 'signed')).toMatchObject({ ok: true, signature: 'not_checked' });
  });
});

describe('an archive changed after it was written fails its read-back', () => {
  let folder: string;
  let manifest: ArchiveManifest;
  const read = (signingKey: typeof HMAC_KEY | null = HMAC_KEY) => readBackArchive(folderArchiveSink(folder), 'tampered', { signingKey });
  beforeEach(async () => {
    await seedTrail();
    ({ folder, manifest } = await archiveKeptTrail('tampered', { signingKey: HMAC_KEY }));
    expect(await read()).toMatchObject({ ok: true, signature: 'verified' });
  });

  it('a value changed in a row', async () => {
    rewriteLines(folder, 'tampered', (lines) => lines.map((line, i) => (i === 2 ? line.replace('"path":"/api/items/1"', '"path":"/api/items/2"') : line)));
    const found = await read();
    expect(found.ok).toBe(false);
    expect(found.problems).toEqual(expect.arrayContaining([{ problem: 'content_changed', position: manifest.fromPosition + 2, message: expect.stringContaining('no longer matches its hash') }]));
    expect(problemsOf(found)).toEqual(['content_changed', 'digest_mismatch']);
  });

  it('a line removed', async () => {
    rewriteLines(folder, 'tampered', (lines) => lines.filter((_line, i) => i !== 3));
    expect(problemsOf(await read())).toEqual(['row_missing', 'count_mismatch', 'digest_mismatch']);
    expect((await read()).problems[0]).toMatchObject({ position: manifest.fromPosition + 3 });
  });

  it('two lines swapped', async () => {
    rewriteLines(folder, 'tampered', (lines) => lines.map((line, i, all) => (i === 1 ? all[2] as string : i === 2 ? all[1] as string : line)));
    const found = await read();
    expect(problemsOf(found)).toEqual(['rows_reordered', 'digest_mismatch']);
    expect(found.problems[0]).toMatchObject({ position: manifest.fromPosition + 1 });
  });

  it('the manifest\'s row count changed', async () => {
    rewriteManifest(folder, 'tampered', (m) => ({ ...m, rowCount: m.rowCount + 1, toPosition: m.toPosition + 1 }));
    expect(problemsOf(await read())).toEqual(['signature_invalid', 'row_missing', 'count_mismatch']);
    // Without the key, the rows still contradict it.
    expect(problemsOf(await read(null))).toEqual(['row_missing', 'count_mismatch']);
    rewriteManifest(folder, 'tampered', (m) => ({ ...m, rowCount: m.rowCount + 5 }));
    expect(problemsOf(await read(null))).toEqual(['count_mismatch', 'row_missing', 'count_mismatch']);
  });

  it('a forged signature, or one checked with another key', async () => {
    expect(await read(OTHER_KEY)).toMatchObject({ ok: false, signature: 'failed', problems: [{ problem: 'signature_key_mismatch', message: expect.stringContaining(HMAC_KEY.keyId) }] });
    rewriteManifest(folder, 'tampered', (m) => ({ ...m, signature: { ...(m.signature as NonNullable<ArchiveManifest['signature']>), value: OTHER_KEY.sign!(Buffer.from('forged')) } }));
    expect(problemsOf(await read())).toEqual(['signature_invalid']);
    rewriteManifest(folder, 'tampered', (m) => ({ ...m, signature: null }));
    expect(problemsOf(await read())).toEqual(['signature_missing']);
    expect(await read(null)).toMatchObject({ ok: true, signature: 'unsigned' });
  });

  it('a truncated data file', async () => {
    const file = filesOf(folder, 'tampered').data;
    const bytes = readFileSync(file);
    writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const found = await read();
    expect(problemsOf(found)).toEqual(['data_corrupt']);
    expect(found.problems[0]?.message).toMatch(/does not unpack after \d+ row\(s\).*truncated or damaged/);
  });

  it('a missing or garbled file, or a data file paired with another archive\'s manifest', async () => {
    const files = filesOf(folder, 'tampered');
    writeFileSync(files.manifest, '{ not json');
    expect(problemsOf(await read())).toEqual(['manifest_invalid']);
    rmSync(files.manifest);
    expect(await read()).toMatchObject({ ok: false, manifest: null, problems: [{ problem: 'archive_missing', message: expect.stringContaining('tampered.manifest.json') }] });

    // Another archive, of all rows but the last: given this one's data file, it holds a row too many.
    const otherFolder = newFolder();
    await writeArchive(db.knex, { fromPosition: manifest.fromPosition, toPosition: manifest.toPosition - 1, cutoff: new Date(), sink: folderArchiveSink(otherFolder), name: 'other' });
    const other = { folder: otherFolder };
    writeFileSync(path.join(other.folder, 'other.ndjson.gz'), readFileSync(files.data));
    expect(problemsOf(await readBackArchive(folderArchiveSink(other.folder), 'other'))).toEqual(['count_mismatch', 'count_mismatch', 'digest_mismatch']);
    rmSync(path.join(other.folder, 'other.ndjson.gz'));
    expect(problemsOf(await readBackArchive(folderArchiveSink(other.folder), 'other'))).toEqual(['archive_missing']);
  });
});

describe('writeArchive refuses what it cannot do', () => {
  it('an invalid name or range, or a range with no rows: nothing is written', async () => {
    await seedTrail();
    const folder = newFolder();
    const sink = folderArchiveSink(folder);
    const cutoff = new Date();
    await expect(writeArchive(db.knex, { fromPosition: 1, toPosition: 2, cutoff, sink, name: '../escape' })).rejects.toMatchObject({ code: 'ERR_AT_INVALID_OPTION' });
    await expect(writeArchive(db.knex, { fromPosition: 5, toPosition: 4, cutoff, sink, name: 'a' })).rejects.toMatchObject({ code: 'ERR_AT_INVALID_OPTION' });
    await expect(writeArchive(db.knex, { fromPosition: 1, toPosition: 2, cutoff, sink, name: 'a' })).rejects.toMatchObject({ code: 'ERR_AT_ARCHIVE', message: expect.stringContaining('No rows to archive') });
    expect(() => readdirSync(folder)).toThrow(/ENOENT/);
  });

  it('a sink that fails, or returns before it read the body: writeArchive rejects instead of waiting', async () => {
    await seedTrail();
    const range = { fromPosition: await firstKept(), toPosition: await head(), cutoff: new Date(), name: 'a' };
    const failing = { put: async () => { throw new Error('disk full'); }, get: async () => Readable.from([]) };
    await expect(writeArchive(db.knex, { ...range, sink: failing })).rejects.toThrow('disk full');
    const hasty = { put: async () => undefined, get: async () => Readable.from([]) };
    await expect(writeArchive(db.knex, { ...range, sink: hasty })).rejects.toMatchObject({ code: 'ERR_AT_ARCHIVE', message: expect.stringContaining('before it read the whole body') });
  });

  it('the folder sink leaves no file behind when the body fails half way', async () => {
    const folder = newFolder();
    const body = new Readable({ read() { this.push(Buffer.from('partial')); this.destroy(new Error('connection lost')); } });
    await expect(folderArchiveSink(folder).put('broken.ndjson.gz', body)).rejects.toThrow('connection lost');
    expect(readdirSync(folder)).toEqual([]);
  });
});

describe('an archive checked against the chain', () => {
  /** Rows 200 to 100 days old through the write path (with their session_start rows), then one of today. */
  async function seedExpiring(): Promise<void> {
    const store = new KnexActivityStore(db.knex);
    const old = Date.now() - 200 * DAY;
    await store.writeBatch([0, 20, 40, 60, 80, 100].map((days, i) => activity({ startTime: old + days * DAY, sessionId: `sess-${i % 2}` })));
    await store.writeBatch([activity({ startTime: Date.now(), sessionId: 'today' })]);
  }

  /** Archives exactly the prefix the retention run at `now` will remove, as the retention job does. */
  async function archiveExpiredPrefix(now: Date, folder: string): Promise<ArchiveManifest> {
    const cutoff = new Date(now.getTime() - 90 * DAY);
    const prefix = await expiredPrefix(db.knex, cutoff, null);
    if (!prefix) throw new Error('nothing expired');
    return writeArchive(db.knex, { fromPosition: prefix.from, toPosition: prefix.to, cutoff, sink: folderArchiveSink(folder), name: 'expired', signingKey: HMAC_KEY });
  }

  it('before retention the rows are still in the chain; after it, the chain\'s retention record covers exactly the archive', async () => {
    await seedExpiring();
    const now = new Date();
    const folder = newFolder();
    const manifest = await archiveExpiredPrefix(now, folder);
    expect(await verifyArchiveAgainstChain(db.knex, manifest)).toEqual({ ok: true, status: 'still_in_chain', recordPosition: null, problems: [] });

    const removed = await removeExpiredActivity(db.knex, { retentionDays: 90, job: 'retention-job', now });
    expect(removed).toMatchObject({ fromPosition: manifest.fromPosition, toPosition: manifest.toPosition, removed: manifest.rowCount, batches: 1 });
    expect(await verifyChain(db.knex, { backdatedAfterDays: 36_500 })).toMatchObject({ ok: true });
    expect((await readBackArchive(folderArchiveSink(folder), 'expired', { signingKey: HMAC_KEY })).ok).toBe(true);
    const recordPosition = await head();
    expect(await verifyArchiveAgainstChain(db.knex, manifest)).toEqual({ ok: true, status: 'recorded', recordPosition, problems: [] });

    // A manifest that says another cutoff, or another range, than the record.
    const otherCutoff = new Date(Date.parse(manifest.cutoff) - DAY).toISOString();
    expect(await verifyArchiveAgainstChain(db.knex, { ...manifest, cutoff: otherCutoff })).toEqual({
      ok: false, status: 'mismatched', recordPosition,
      problems: [{ problem: 'retention_record_mismatch', position: recordPosition, message: expect.stringContaining(`says cutoff ${manifest.cutoff}; the archive's manifest says ${otherCutoff}`) }],
    });
    expect(await verifyArchiveAgainstChain(db.knex, { ...manifest, toPosition: manifest.toPosition - 1 })).toMatchObject({
      ok: false, problems: [{ problem: 'retention_record_mismatch', message: expect.stringContaining(`cover ${manifest.fromPosition} to ${manifest.toPosition} (record at position ${recordPosition})`) }],
    });
    expect(await verifyArchiveAgainstChain(db.knex, { ...manifest, lastRowHash: 'f'.repeat(64) })).toMatchObject({ ok: false, problems: [{ problem: 'retention_record_mismatch', message: expect.stringContaining('lastRemovedHash') }] });
  });

  it('a chain without the record: the archive is not accounted for', async () => {
    await seedExpiring();
    const now = new Date();
    const manifest = await archiveExpiredPrefix(now, newFolder());
    await removeExpiredActivity(db.knex, { retentionDays: 90, job: 'retention-job', now });
    await resetTables(db.knex);
    await seedExpiring();
    const found = await verifyArchiveAgainstChain(db.knex, { ...manifest, fromPosition: 100, toPosition: 105 });
    expect(found).toEqual({ ok: false, status: 'mismatched', recordPosition: null, problems: [{ problem: 'retention_record_missing', position: 100, message: expect.stringContaining('No retention.removed record in the chain covers positions 100 to 105') }] });
    // The positions are there, but hold other rows.
    expect(problemsOf(await verifyArchiveAgainstChain(db.knex, manifest))).toEqual(['chain_rows_differ', 'chain_rows_differ']);
  });

  it('a record that names an archive must name this one', async () => {
    await seedExpiring();
    const manifest = await archiveExpiredPrefix(new Date(), newFolder());
    const record = (archive: { name: string; dataSha256: string }) => systemEvent({
      entityType: 'activity_trail', action: 'retention.removed',
      details: { fromPosition: manifest.fromPosition, toPosition: manifest.toPosition, removed: manifest.rowCount, lastRemovedHash: manifest.lastRowHash, cutoff: manifest.cutoff, job: 'retention-job', archive },
    });
    await withChainLock(db.knex, (trx) => appendToChain(trx, [record({ name: 'expired', dataSha256: '0'.repeat(64) })]));
    expect(await verifyArchiveAgainstChain(db.knex, manifest)).toMatchObject({ ok: false, problems: [{ problem: 'retention_record_mismatch', message: expect.stringContaining('archive dataSha256') }] });
    await resetTables(db.knex);
    await seedExpiring();
    await withChainLock(db.knex, (trx) => appendToChain(trx, [record({ name: 'expired', dataSha256: manifest.dataSha256 })]));
    expect(await verifyArchiveAgainstChain(db.knex, manifest)).toMatchObject({ ok: true, status: 'recorded' });
  });
});
