/**
 * The write path's ceiling: writer processes feed one PostgreSQL through the recorder (no HTTP),
 * as several app instances would, and the rows stored per second are counted from outside.
 *
 *   npm run bench:ingest                          1, 2 and 4 writers, 60 s each
 *   BENCH_INGEST_SECONDS=20 BENCH_INGEST_WRITERS=4 npm run bench:ingest
 *
 * Each writer records events as fast as the recorder takes them (at most BENCH_INGEST_PENDING
 * unresolved at a time). Rows per second are counted over the measured window by a separate
 * connection; then the writers close (flushing what they hold), and the bench checks that every
 * event recorded is stored exactly once and that the chain verifies. It exits non-zero otherwise.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { createActivityTracker, migrate, verifyChain } from '../lib/index';
import { messageOf } from '../lib/util/messageOf';
import { ChildChannel } from './childChannel';

const LOCAL_PG = 'postgres://postgres@127.0.0.1:5432/test';

type ToParent = { type: 'ready' } | { type: 'done'; recorded: number; dropped: number } | { type: 'failed'; error: string };
type ToWriter = { type: 'go'; seconds: number };

function positive(name: string, fallback: number): number {
  const raw = process.env[name];
  const n = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got ${JSON.stringify(raw)}`);
  return n;
}

// ---------------------------------------------------------------------------------------------
// A writer process.

async function writer(databaseUrl: string, journalDir: string, writerIndex: number): Promise<void> {
  const send = (message: ToParent): Promise<void> => new Promise((resolve) => process.send?.(message, undefined, undefined, () => resolve()));
  const quiet = { debug: () => undefined, info: () => undefined, warn: (m: string) => console.warn(`[writer ${writerIndex}] ${m}`), error: (m: string) => console.error(`[writer ${writerIndex}] ${m}`) };
  const tracker = createActivityTracker({ database: databaseUrl, jobs: false, geo: false, handleSignals: false, logger: quiet, journal: { dir: journalDir } });
  await tracker.ready();
  const maxPending = positive('BENCH_INGEST_PENDING', 5000);
  const go = new Promise<ToWriter>((resolve) => process.once('message', (message: ToWriter) => resolve(message)));
  await send({ type: 'ready' });
  const { seconds } = await go;
  const until = Date.now() + seconds * 1000;
  let recorded = 0;
  let pending = 0;
  let wake: (() => void) | null = null;
  const settled = (): void => {
    pending--;
    if (wake && pending < maxPending / 2) {
      const w = wake;
      wake = null;
      w();
    }
  };
  while (Date.now() < until) {
    for (let i = 0; i < 100 && pending < maxPending; i++) {
      pending++;
      recorded++;
      // What an app records: an action, its actor and entity, a few details.
      tracker.record({ action: 'ingest.event', userId: `user-${recorded % 500}`, entityType: 'order', entityId: String(recorded), details: { writer: writerIndex, n: recorded } })
        .then(settled, (error: unknown) => { settled(); console.error(`[writer ${writerIndex}] ${messageOf(error)}`); });
    }
    if (pending >= maxPending) await new Promise<void>((resolve) => { wake = resolve; });
    else await new Promise((resolve) => setImmediate(resolve));
  }
  await tracker.close();
  await send({ type: 'done', recorded, dropped: tracker.stats().dropped });
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------
// The parent: one run per writer count.

async function countRows(knex: Knex): Promise<number> {
  const [row] = (await knex('user_activity').count({ n: '*' })) as Array<{ n: string | number }>;
  return Number(row?.n ?? 0);
}

async function run(writers: number, seconds: number, schemaUrl: string, knex: Knex, journalRoot: string): Promise<{ rowsPerSecond: number; recorded: number; stored: number; dropped: number }> {
  const before = await countRows(knex);
  const writerChannels = Array.from({ length: writers }, (_, i) =>
    new ChildChannel<ToParent, ToWriter>(fork(__filename, ['writer', schemaUrl, path.join(journalRoot, `${writers}-${i}`), String(i)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })));
  // Started together once every writer is connected.
  for (const channel of writerChannels) await channel.next('ready', 120_000);
  for (const channel of writerChannels) channel.send({ type: 'go', seconds });
  // The measured window: rows stored from one second in until the writers stop.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const startRows = await countRows(knex);
  const startAt = performance.now();
  await new Promise((resolve) => setTimeout(resolve, (seconds - 1.5) * 1000));
  const endRows = await countRows(knex);
  const elapsed = (performance.now() - startAt) / 1000;
  let recorded = 0;
  let dropped = 0;
  for (const channel of writerChannels) {
    const done = await channel.next('done', 600_000);
    recorded += done.recorded;
    dropped += done.dropped;
  }
  const stored = (await countRows(knex)) - before;
  return { rowsPerSecond: (endRows - startRows) / elapsed, recorded, stored, dropped };
}

async function main(): Promise<void> {
  const url = process.env['DATABASE_URL'] || LOCAL_PG;
  const seconds = positive('BENCH_INGEST_SECONDS', 60);
  const counts = (process.env['BENCH_INGEST_WRITERS'] ?? '1,2,4').split(',').map((s) => Math.round(Number(s))).filter((n) => n > 0);
  const schema = `bench_ingest_${process.pid}`;
  const admin = knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 1 } });
  const schemaUrl = (() => { const u = new URL(url); u.searchParams.set('options', `-c search_path=${schema}`); return u.toString(); })();
  const knex = knexFactory({ client: 'pg', connection: url, searchPath: [schema], pool: { min: 0, max: 2 } });
  const journalRoot = mkdtempSync(path.join(os.tmpdir(), 'activity-ingest-'));
  let ok = true;
  try {
    await admin.raw('create schema ??', [schema]);
    await migrate(knex);
    console.log(`express-activity-tracking ingest bench: ${counts.join(', ')} writer process(es), ${seconds} s each, one PostgreSQL`);
    const rows: string[][] = [];
    for (const writers of counts) {
      process.stdout.write(`  ${writers} writer(s) ... `);
      const result = await run(writers, seconds, schemaUrl, knex, journalRoot);
      const exact = result.stored === result.recorded && result.dropped === 0;
      if (!exact) ok = false;
      console.log(`${Math.round(result.rowsPerSecond)} rows/s`);
      rows.push([String(writers), String(Math.round(result.rowsPerSecond)), String(result.recorded), String(result.stored), String(result.dropped), exact ? 'yes' : 'NO']);
    }
    const verified = await verifyChain(knex);
    if (!verified.ok) ok = false;
    console.log('');
    const header = ['writers', 'rows/s (sustained)', 'events recorded', 'rows stored', 'dropped', 'each stored once'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
    const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padStart(widths[i] ?? 0)).join(' | ')} |`;
    console.log(line(header));
    console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
    for (const r of rows) console.log(line(r));
    console.log(`\nchain: ${verified.ok ? 'verified' : `BROKEN (${JSON.stringify(verified).slice(0, 300)})`}; machine: ${os.cpus().length} cores, node ${process.version}; ${new Date().toISOString()}`);
  } finally {
    await knex.destroy();
    await admin.raw('drop schema if exists ?? cascade', [schema]).catch((e: unknown) => console.error(`could not drop schema ${schema}: ${messageOf(e)}`));
    await admin.destroy();
    rmSync(journalRoot, { recursive: true, force: true });
  }
  if (!ok) {
    console.error('FAIL: an event was not stored exactly once, or the chain did not verify');
    process.exitCode = 1;
  }
}

if (process.argv[2] === 'writer') {
  writer(process.argv[3] as string, process.argv[4] as string, Number(process.argv[5])).catch((error: unknown) => {
    const failed: ToParent = { type: 'failed', error: messageOf(error, { stack: true }) };
    if (process.send) process.send(failed, undefined, undefined, () => process.exit(1));
    else process.exit(1);
  });
} else {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
