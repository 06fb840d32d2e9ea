/**
 * Upgrading a trail stored in one table to the partitioned one, in place, on a million rows.
 *
 *   npm run bench:upgrade             DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test
 *   BENCH_UPGRADE_ROWS=200000         fewer rows (default 1,000,000)
 *
 * Builds a schema at migration 20261203000000_sort_indexes (the last one before partitions), loads
 * the rows with bench/bigData.ts's COPY, verifies the chain, runs migrate() (the upgrade: it holds
 * user_activity under an ACCESS EXCLUSIVE lock for its whole transaction, so its time is how long
 * writes wait), verifies again, and stores one more batch through the write path, which must land in
 * a dated partition and keep the chain whole. Exits 1 unless both verifications pass over every row.
 */
import knexFactory, { type Knex } from 'knex';
import { migrate, verifyChain } from '../lib/index';
import { migrationConfig } from '../migrations/index';
import { listPartitions } from '../lib/store/partitions/partitions';
import { KnexActivityStore } from '../lib/store/activityStore';
import { systemEvent } from '../lib/store/systemEvent';
import { DEFAULT_BIG_DATA, generateBigData } from './bigData';
import { positiveInteger, redact } from './benchSupport';

const LOCAL_PG = 'postgres://postgres@127.0.0.1:5432/test';
const LAST_BEFORE_PARTITIONS = '20261203000000_sort_indexes';

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const result = await work();
  return [result, (performance.now() - started) / 1000];
}

async function migrateUpTo(knex: Knex, last: string): Promise<void> {
  const names = (await migrationConfig().migrationSource!.getMigrations([])).map((m) => (m as { name: string }).name);
  for (const name of names.slice(0, names.indexOf(last) + 1)) await knex.migrate.up({ ...migrationConfig(), name });
}

async function main(): Promise<void> {
  const databaseUrl = process.env['DATABASE_URL'] ?? LOCAL_PG;
  const rows = positiveInteger('BENCH_UPGRADE_ROWS', 1_000_000, 1000);
  const schema = `bench_upgrade_${process.pid}`;
  const admin = knexFactory({ client: 'pg', connection: databaseUrl, pool: { min: 0, max: 1 } });
  let knex: Knex | undefined;
  let ok = false;
  console.log(`upgrade in place: ${rows.toLocaleString('en-US')} rows in schema ${schema} at ${redact(databaseUrl)}`);
  try {
    await admin.raw('create schema ??', [schema]);
    knex = knexFactory({ client: 'pg', connection: databaseUrl, searchPath: [schema], pool: { min: 0, max: 2 } });
    await migrateUpTo(knex, LAST_BEFORE_PARTITIONS);
    const [data, loadSeconds] = await timed(() => generateBigData(knex!, { ...DEFAULT_BIG_DATA, rows, now: new Date() }));
    console.log(`  loaded ${data.activities.toLocaleString('en-US')} rows in one table in ${loadSeconds.toFixed(1)} s`);
    const [before, beforeSeconds] = await timed(() => verifyChain(knex!, { pageSize: 10_000 }));
    console.log(`  verifyChain before: ok=${before.ok} rowsChecked=${before.rowsChecked} (${beforeSeconds.toFixed(1)} s)`);
    const [migrated, migrateSeconds] = await timed(() => migrate(knex!));
    console.log(`  migrate: ${migrated.applied.join(', ')} in ${migrateSeconds.toFixed(2)} s (user_activity under ACCESS EXCLUSIVE for that long); partitions created ${migrated.partitionsCreated.join(', ')}`);
    const partitions = await listPartitions(knex);
    console.log(`  partitions: ${partitions.map((p) => `${p.name} [${p.from?.toISOString() ?? 'MINVALUE'}, ${p.to?.toISOString() ?? ''})`).join('; ')}`);
    const [after, afterSeconds] = await timed(() => verifyChain(knex!, { pageSize: 10_000 }));
    console.log(`  verifyChain after: ok=${after.ok} rowsChecked=${after.rowsChecked} (${afterSeconds.toFixed(1)} s)`);
    await new KnexActivityStore(knex, { sessionEvents: false }).writeBatch(Array.from({ length: 100 }, () => systemEvent({ action: 'bench.after_upgrade' })));
    const placed = (await knex.raw(`select tableoid::regclass::text as partition, count(*)::int as n from user_activity where action = 'bench.after_upgrade' group by 1`)) as { rows: Array<{ partition: string; n: number }> };
    console.log(`  100 rows written after the upgrade went to ${placed.rows.map((r) => `${r.partition} (${r.n})`).join(', ')}`);
    const [last, lastSeconds] = await timed(() => verifyChain(knex!, { pageSize: 10_000 }));
    console.log(`  verifyChain with them: ok=${last.ok} rowsChecked=${last.rowsChecked} (${lastSeconds.toFixed(1)} s)`);
    ok = before.ok && after.ok && last.ok && before.rowsChecked === data.activities && after.rowsChecked === data.activities && last.rowsChecked === data.activities + 100;
  } finally {
    await knex?.destroy();
    await admin.raw('drop schema if exists ?? cascade', [schema]).catch((e: unknown) => console.error(`could not drop schema ${schema}: ${String(e)}`));
    await admin.destroy();
  }
  if (!ok) process.exitCode = 1;
}

if (require.main === module) {
  main().catch((error: unknown) => { console.error(error); process.exitCode = 1; });
}
