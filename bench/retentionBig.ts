/**
 * Retention of one expired partition with an archive, on a schema npm run bench:big-data kept.
 *
 *   npm run build && BENCH_RETENTION_SCHEMA=bench_big_123 node dist/bench/retentionBig.js
 *
 * Takes the oldest dated partition that holds rows, sets the cutoff at its upper bound (so all its
 * rows have expired), and runs the retention job with an archive in a temporary folder (removed
 * afterwards): the archive's write and read-back are timed apart from the rest (the record, the
 * detach and drop, the batched deletes at the edge). The schema loses that partition's rows.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import knexFactory from 'knex';
import { removeExpiredActivity } from '../lib/jobs/retention';
import { listPartitions } from '../lib/store/partitions/partitions';
import { folderArchiveSink } from '../lib/archive/folderSink';
import { redact } from './benchSupport';

const LOCAL_PG = 'postgres://postgres@127.0.0.1:5432/test';

async function main(): Promise<void> {
  const databaseUrl = process.env['DATABASE_URL'] ?? LOCAL_PG;
  const schema = process.env['BENCH_RETENTION_SCHEMA'];
  if (!schema || !/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error('BENCH_RETENTION_SCHEMA must name a schema bench:big-data kept (BENCH_BIG_KEEP_SCHEMA=1)');
  const knex = knexFactory({ client: 'pg', connection: databaseUrl, searchPath: [schema], pool: { min: 0, max: 2 } });
  const folder = mkdtempSync(path.join(os.tmpdir(), 'activity-retention-bench-'));
  try {
    const partitions = await listPartitions(knex);
    let oldest: (typeof partitions)[number] | undefined;
    for (const p of partitions) {
      if (p.isDefault || p.to === null) continue;
      const found = (await knex.raw('select count(*)::int as n from (select 1 from user_activity where created_at < ?::timestamptz and created_at >= ?::timestamptz limit 1) x', [p.to.toISOString(), p.from?.toISOString() ?? '-infinity'])) as { rows: Array<{ n: number }> };
      if (found.rows[0]?.n) { oldest = p; break; }
    }
    if (!oldest?.to) throw new Error(`no dated partition with rows in ${schema}`);
    const retentionDays = 90;
    const now = new Date(oldest.to.getTime() + retentionDays * 86_400_000);
    console.log(`retention of ${oldest.name} [${oldest.from?.toISOString()}, ${oldest.to.toISOString()}) in ${schema} at ${redact(databaseUrl)}, archive to ${folder}`);
    const started = performance.now();
    const result = await removeExpiredActivity(knex, { retentionDays, now, job: 'cleanup-command', archive: folderArchiveSink(folder) });
    const totalMs = performance.now() - started;
    const archiveMs = result.archives.reduce((sum, a) => sum + a.ms, 0);
    console.log(`  removed ${result.removed.toLocaleString('en-US')} rows (positions ${result.fromPosition} to ${result.toPosition}) in ${result.batches} step(s); partitions dropped: ${result.partitionsDropped.join(', ') || 'none'}`);
    for (const a of result.archives) console.log(`  archive ${a.name}: ${a.rows.toLocaleString('en-US')} rows written and read back in ${(a.ms / 1000).toFixed(1)} s`);
    console.log(`  total ${(totalMs / 1000).toFixed(1)} s, of which archives ${(archiveMs / 1000).toFixed(1)} s; retention without the archives' write: ${((totalMs - archiveMs) / 1000).toFixed(2)} s`);
  } finally {
    rmSync(folder, { recursive: true, force: true });
    await knex.destroy();
  }
}

if (require.main === module) {
  main().catch((error: unknown) => { console.error(error); process.exitCode = 1; });
}
