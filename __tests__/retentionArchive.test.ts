import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { openTestDatabase, resetTables, type TestDatabase } from './support/database';
import { activity, seed } from './support/reports';
import { removeExpiredActivity } from '../lib/jobs/retention';
import { verifyChain } from '../lib/integrity/verify';
import { listPartitions } from '../lib/store/partitions/partitions';
import { folderArchiveSink } from '../lib/archive/folderSink';
import { readBackArchive } from '../lib/archive/readBack';
import type { ArchiveSink } from '../lib/archive/sink';
import { resolveSigningKey } from '../lib/integrity/batchSignatures';

const DAY = 86_400_000;
const KEY = resolveSigningKey('retention-archive-test-key-0123456789');

let db: TestDatabase;
let folder: string;
beforeAll(async () => { db = await openTestDatabase(); });
afterAll(async () => { await db.destroy(); });
beforeEach(async () => {
  await resetTables(db.knex);
  folder = mkdtempSync(path.join(os.tmpdir(), 'activity-archive-'));
});
afterEach(() => { rmSync(folder, { recursive: true, force: true }); });

async function records(): Promise<Array<Record<string, unknown>>> {
  const rows = await db.knex('user_activity').where({ action: 'retention.removed' }).orderBy('chain_position').select('details');
  return rows.map((r: { details: Record<string, unknown> }) => r.details);
}

describe('retention with an archive', () => {
  it('archives each batch before it removes it, names the archive in the retention record, and the archive reads back signed and whole', async () => {
    const started = Date.now() - 120 * DAY;
    await seed(db.knex, Array.from({ length: 25 }, (_, i) => activity({ startTime: started + i * 1000, entityId: String(i) })));
    await seed(db.knex, [activity({ startTime: Date.now(), entityId: 'kept' })]);
    const result = await removeExpiredActivity(db.knex, { retentionDays: 90, job: 'retention-job', batchSize: 10, archive: folderArchiveSink(folder), signingKey: KEY });
    expect(result).toMatchObject({ removed: 25, fromPosition: 1, toPosition: 25, batches: 3 });
    expect(result.archives.map((a) => [a.name, a.rows])).toEqual([
      ['activity-000000000001-000000000010', 10], ['activity-000000000011-000000000020', 10], ['activity-000000000021-000000000025', 5],
    ]);
    expect(readdirSync(folder).sort()).toEqual(result.archives.flatMap((a) => [`${a.name}.manifest.json`, `${a.name}.ndjson.gz`]).sort());
    for (const file of readdirSync(folder)) expect(statSync(path.join(folder, file)).mode & 0o777).toBe(0o600);
    const chained = await records();
    for (const [i, archive] of result.archives.entries()) {
      const read = await readBackArchive(folderArchiveSink(folder), archive.name, { signingKey: KEY });
      expect(read).toMatchObject({ ok: true, signature: 'verified', rowsRead: archive.rows });
      expect(chained[i]).toMatchObject({ fromPosition: read.manifest!.fromPosition, toPosition: read.manifest!.toPosition, lastRemovedHash: read.manifest!.lastRowHash, archive: { name: archive.name, dataSha256: read.manifest!.dataSha256 } });
    }
    expect((await verifyChain(db.knex, { signingKey: KEY })).ok).toBe(true);
  });

  it('removes nothing when the archive cannot be written, or does not read back as written', async () => {
    const started = Date.now() - 120 * DAY;
    await seed(db.knex, Array.from({ length: 5 }, (_, i) => activity({ startTime: started + i * 1000, entityId: String(i) })));
    const full: ArchiveSink = { put: async (_name, body) => { body.resume(); throw new Error('ENOSPC: no space left on device'); }, get: async () => { throw new Error('no such object'); } };
    await expect(removeExpiredActivity(db.knex, { retentionDays: 90, job: 'retention-job', archive: full })).rejects.toMatchObject({ code: 'ERR_AT_ARCHIVE', message: expect.stringMatching(/could not be written \(ENOSPC: no space left on device\)/) });
    // A sink that loses the data: what it gives back is not what was put.
    const stored = new Map<string, Buffer>();
    const lossy: ArchiveSink = {
      put: async (name, body) => { const chunks: Buffer[] = []; for await (const c of body) chunks.push(c as Buffer); stored.set(name, name.endsWith('.gz') ? Buffer.alloc(0) : Buffer.concat(chunks)); },
      get: async (name) => Readable.from([stored.get(name) ?? Buffer.alloc(0)]),
    };
    await expect(removeExpiredActivity(db.knex, { retentionDays: 90, job: 'retention-job', archive: lossy })).rejects.toMatchObject({ code: 'ERR_AT_ARCHIVE', message: expect.stringContaining('Retention removed nothing') });
    expect(Number((await db.knex('user_activity').count({ n: '*' }).first())?.n)).toBe(5);
    expect(await records()).toEqual([]);
    expect((await verifyChain(db.knex)).ok).toBe(true);
  });

  it('archives a wholly expired partition before it drops it', async () => {
    for (const { name, isDefault } of await listPartitions(db.knex)) if (!isDefault) await db.knex.raw(`drop table "${name}"`);
    const boundary = new Date(Date.now() + 1500);
    await db.knex.raw('select activity_tracking_create_partition(?::timestamptz, ?::timestamptz)', [new Date(Date.now() - DAY).toISOString(), boundary.toISOString()]);
    await db.knex.raw('select activity_tracking_create_partition(?::timestamptz, ?::timestamptz)', [boundary.toISOString(), new Date(boundary.getTime() + 30 * DAY).toISOString()]);
    const [old] = await listPartitions(db.knex);
    await seed(db.knex, Array.from({ length: 40 }, (_, i) => activity({ startTime: Date.now() - 120 * DAY + i * 1000, entityId: String(i) })));
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, boundary.getTime() - Date.now() + 50)));
    const result = await removeExpiredActivity(db.knex, { retentionDays: 90, job: 'retention-job', now: new Date(boundary.getTime() + 90 * DAY), archive: folderArchiveSink(folder) });
    expect(result).toMatchObject({ removed: 40, partitionsDropped: [old!.name] });
    expect(result.archives.map((a) => [a.name, a.rows])).toEqual([['activity-000000000001-000000000040', 40]]);
    expect(await readBackArchive(folderArchiveSink(folder), 'activity-000000000001-000000000040')).toMatchObject({ ok: true, rowsRead: 40 });
    expect(await records()).toEqual([expect.objectContaining({ fromPosition: 1, toPosition: 40, partition: old!.name, archive: expect.objectContaining({ name: 'activity-000000000001-000000000040' }) })]);
    expect((await verifyChain(db.knex)).ok).toBe(true);
  });
});
