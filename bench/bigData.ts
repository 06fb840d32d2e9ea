/**
 * Ten million chained rows for the big-table benches, loaded with COPY.
 *
 *   npm run build && node dist/bench/bigData.js     DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test
 *   BENCH_BIG_ROWS=200000                           fewer rows (default 10,000,000)
 *   BENCH_BIG_VERIFY=1                              run verifyChain over the result and fail unless it passes
 *   BENCH_BIG_KEEP_SCHEMA=1                         keep the schema bench_big_<pid> for other benches
 *   BENCH_BIG_THREADS=2                             worker threads that build and hash rows (default 2)
 *
 * Rows are made in Node, in time order, on worker threads (bench/bigDataRows.ts), chained in order
 * (bench/bigDataChain.ts) and streamed
 * into `COPY user_activity FROM STDIN` with the table's indexes dropped and its guards set aside;
 * then the indexes are rebuilt and activity_sessions and activity_summaries are filled from the rows
 * with bench/reportData.ts's SQL. generateReportData chains inside PostgreSQL with one UPDATE, which
 * rewrites every row and then needs a CLUSTER: ten times slower at this size.
 */
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import knexFactory, { type Knex } from 'knex';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { migrate, verifyChain } from '../lib/index';
import { analyzeReportTables, countGenerated, coverWithPartitions, DEFAULT_REPORT_DATA, dropIndexes, insertSessions, insertSummaries, restoreIndexes, type ReportDataOptions, type ReportDataSummary } from './reportData';
import { COPY_COLUMNS } from './bigDataRows';
import { copyChunks } from './bigDataChain';
import { positiveInteger, redact } from './benchSupport';

const LOCAL_PG = 'postgres://postgres@127.0.0.1:5432/test';

export const DEFAULT_BIG_DATA: Omit<BigDataOptions, 'now'> = { ...DEFAULT_REPORT_DATA, rows: 10_000_000, threads: 2 };

/** What was generated, and how long each phase took. */
export interface BigDataSummary extends Omit<ReportDataSummary, 'seconds'> {
  /** pg_total_relation_size of user_activity (heap, indexes, TOAST). */
  tableBytes: number;
  /** copy: rows made in Node and streamed through COPY (the two overlap). */
  seconds: { copy: number; indexes: number; sessions: number; summaries: number; analyze: number; total: number };
}

export interface BigDataOptions extends ReportDataOptions {
  /** Worker threads that build and hash rows while the main thread links them and PostgreSQL copies them. */
  threads: number;
}

/** Fills user_activity, activity_sessions and activity_summaries of an empty, migrated schema (knex's search_path). */
export async function generateBigData(knex: Knex, options: BigDataOptions): Promise<BigDataSummary> {
  const started = performance.now();
  let copied = started;
  let indexed = started;
  const partitions = await coverWithPartitions(knex, new Date(options.now.getTime() - (options.days + 1) * 86_400_000));
  await knex.transaction(async (trx) => {
    // Index builds stay in memory rather than spill to disk.
    await trx.raw("set local maintenance_work_mem = '1GB'");
    // The table's indexes first (a partitioned one takes its partitions' parts along), then each partition's own (its unique keys).
    const indexes = await dropIndexes(trx, 'user_activity');
    const own: Array<{ name: string; indexes: Awaited<ReturnType<typeof dropIndexes>> }> = [];
    for (const name of partitions) own.push({ name, indexes: await dropIndexes(trx, name) });
    // The rows are chained already; the append-only guards have nothing to check during a load.
    await trx.raw('alter table user_activity disable trigger user');
    await copyRows(trx, options);
    await trx.raw('alter table user_activity enable trigger user');
    copied = performance.now();
    await restoreIndexes(trx, 'user_activity', indexes);
    for (const partition of own) await restoreIndexes(trx, partition.name, partition.indexes);
    indexed = performance.now();
  });
  await knex.transaction(async (trx) => {
    await trx.raw("set local work_mem = '256MB'");
    await insertSessions(trx, options);
  });
  const sessionsDone = performance.now();
  await knex.transaction(async (trx) => {
    await trx.raw("set local work_mem = '256MB'");
    await insertSummaries(trx, options);
  });
  const summariesDone = performance.now();
  await analyzeReportTables(knex);
  const analyzed = performance.now();

  const size = (await knex.raw("select coalesce(sum(pg_total_relation_size(relid)), 0) as n from pg_partition_tree('user_activity')")) as { rows: Array<{ n: string | number }> };
  return {
    ...(await countGenerated(knex)),
    tableBytes: Number(size.rows[0]?.n ?? 0),
    seconds: {
      copy: (copied - started) / 1000,
      indexes: (indexed - copied) / 1000,
      sessions: (sessionsDone - indexed) / 1000,
      summaries: (summariesDone - sessionsDone) / 1000,
      analyze: (analyzed - summariesDone) / 1000,
      total: (analyzed - started) / 1000,
    },
  };
}

/** Streams the rows into COPY on the transaction's own connection; pipeline waits for COPY to drain, so Node holds a few chunks at most. */
async function copyRows(trx: Knex.Transaction, options: BigDataOptions): Promise<void> {
  // Inside a transaction knex hands out the transaction's connection, and releasing it is a no-op.
  const connection = (await trx.client.acquireConnection()) as PoolClient;
  const copy = connection.query(copyFrom(`copy user_activity (${COPY_COLUMNS.join(', ')}) from stdin`));
  await pipeline(Readable.from(copyChunks(options, options.threads), { objectMode: false, highWaterMark: 2 }), copy);
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(0)} MB`;
}

async function main(): Promise<void> {
  const databaseUrl = process.env['DATABASE_URL'] ?? LOCAL_PG;
  const rows = positiveInteger('BENCH_BIG_ROWS', DEFAULT_BIG_DATA.rows, 1000);
  const threads = positiveInteger('BENCH_BIG_THREADS', DEFAULT_BIG_DATA.threads, 1);
  const verify = process.env['BENCH_BIG_VERIFY'] === '1';
  const keep = process.env['BENCH_BIG_KEEP_SCHEMA'] === '1';
  const schema = `bench_big_${process.pid}`;
  const admin = knexFactory({ client: 'pg', connection: databaseUrl, pool: { min: 0, max: 1 } });
  let schemaKnex: Knex | undefined;
  let ok = true;
  console.log(`big data: ${rows.toLocaleString('en-US')} rows (${threads} worker threads) in schema ${schema} at ${redact(databaseUrl)}`);
  try {
    await admin.raw('create schema ??', [schema]);
    schemaKnex = knexFactory({ client: 'pg', connection: databaseUrl, searchPath: [schema], pool: { min: 0, max: 1 } });
    await migrate(schemaKnex);
    const data = await generateBigData(schemaKnex, { ...DEFAULT_BIG_DATA, rows, threads, now: new Date() });
    const s = data.seconds;
    console.log(`  rows made in Node + COPY   ${s.copy.toFixed(1)} s  (${Math.round(data.activities / s.copy).toLocaleString('en-US')} rows/s)`);
    console.log(`  index rebuild              ${s.indexes.toFixed(1)} s`);
    console.log(`  activity_sessions          ${s.sessions.toFixed(1)} s  (${data.sessions} sessions, ${data.activeSessions} active)`);
    console.log(`  activity_summaries         ${s.summaries.toFixed(1)} s  (${data.summaries} user-days)`);
    console.log(`  ANALYZE                    ${s.analyze.toFixed(1)} s`);
    console.log(`  total                      ${s.total.toFixed(1)} s  (${Math.round(data.activities / s.total).toLocaleString('en-US')} rows/s overall)`);
    console.log(`  ${data.activities.toLocaleString('en-US')} activities; user_activity ${mb(data.tableBytes)} with indexes; hot entity ${data.hotEntity.type}/${data.hotEntity.id} ${data.hotEntity.rows} rows; ${data.busyUser.id} ${data.busyUser.rows} rows`);
    console.log(`  Node heap ${mb(process.memoryUsage().heapUsed)}, peak RSS ${mb(process.resourceUsage().maxRSS * 1024)}`);
    if (verify) {
      const verifyStarted = performance.now();
      const result = await verifyChain(schemaKnex, { pageSize: 10_000 });
      console.log(`  verifyChain (${((performance.now() - verifyStarted) / 1000).toFixed(1)} s): ${JSON.stringify(result)}`);
      ok = result.ok && result.rowsChecked === data.activities;
    }
  } finally {
    await schemaKnex?.destroy();
    if (keep) console.log(`  schema ${schema} kept (BENCH_BIG_KEEP_SCHEMA=1)`);
    else await admin.raw('drop schema if exists ?? cascade', [schema]).catch((e: unknown) => console.error(`could not drop schema ${schema}: ${String(e)}`));
    await admin.destroy();
  }
  if (!ok) process.exitCode = 1;
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
