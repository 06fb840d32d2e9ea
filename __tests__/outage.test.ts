import express from 'express';
import { createActivityTracker, type ActivityTracker } from '../lib/tracker';
import type { Options } from '../lib/types';
import { memoryLogger, tempJournalDir } from './support/app';
import { openTestDatabase, resetTables, usingPostgres, type TestDatabase } from './support/database';
import { startPgProxy, type PgProxy } from './support/pgProxy';
import { burst, listen, startTraffic } from './support/traffic';
import { waitFor } from './support/recorder';
import { runScript, startChildApp } from './support/child';
import type { RecorderStats } from '../lib/recorder/recorder';

/**
 * The write path against a PostgreSQL server that goes away, slows down or is overrun. The test
 * talks to it through a TCP proxy it can cut, slow and restore; the shared server never stops.
 * Every test counts the requests it sent and the rows stored.
 */
const describeOnPostgres = usingPostgres ? describe : describe.skip;

let db: TestDatabase;
let proxy: PgProxy;
beforeAll(async () => {
  if (!usingPostgres) return;
  db = await openTestDatabase();
  proxy = await startPgProxy(db.url as string);
});
afterAll(async () => {
  if (!usingPostgres) return;
  await proxy.close();
  await db.destroy();
});
beforeEach(async () => {
  if (!usingPostgres) return;
  proxy.restore();
  proxy.setDelay(0);
  await resetTables(db.knex);
});

interface Served { tracker: ActivityTracker; url: string; journalDir: string; close(): Promise<void> }

async function serve(options: Options = {}): Promise<Served> {
  const journalDir = tempJournalDir();
  const tracker = createActivityTracker({
    database: proxy.url, journal: { dir: journalDir }, logger: memoryLogger(), jobs: false, geo: false,
    retry: { initialDelayMs: 50, maxDelayMs: 1000 }, writeTimeoutMs: 5000, closeTimeoutMs: 2000, ...options,
  });
  await tracker.ready();
  const app = express();
  app.use(tracker.middleware());
  app.get('/t/:seq', (req, res) => { res.json({ seq: req.params.seq }); });
  const server = await listen(app);
  return { tracker, url: server.url, journalDir, close: async () => { await server.close(); await tracker.close(); } };
}

/**
 * Rows of one test's requests (paths `/t/<tag>-<seq>`), and how many of them repeat a request.
 * Each test has its own tag: a killed process's last statements may commit after the next test began.
 */
async function storedCounts(tag: string): Promise<{ stored: number; distinct: number; duplicated: number }> {
  const [row] = (await db.knex('user_activity').whereLike('path', `/t/${tag}-%`).select(db.knex.raw('count(*) as stored, count(distinct path) as distinct'))) as Array<{ stored: string; distinct: string }>;
  const stored = Number(row?.stored);
  const distinct = Number(row?.distinct);
  return { stored, distinct, duplicated: stored - distinct };
}

async function settled(tracker: ActivityTracker, timeoutMs = 60_000): Promise<void> {
  await waitFor(() => {
    const s = tracker.stats();
    return s.queued === 0 && s.journalPending === 0 && s.databaseAvailable;
  }, timeoutMs, () => `the backlog to be stored: ${JSON.stringify(tracker.stats())}`);
}

/** Starts a second process on the journal folder; resolves with its stats once it has stored what it found. */
async function replayInAnotherProcess(journalDir: string): Promise<RecorderStats> {
  const replayer = runScript('journalReplayer.ts', [db.url as string, journalDir]);
  expect(await replayer.exited).toEqual({ code: 0, signal: null });
  return JSON.parse(replayer.output()) as RecorderStats;
}

function report(name: string, figures: Record<string, unknown>): void {
  // The closing note quotes these lines.
  console.log(`outage figures · ${name}: ${JSON.stringify(figures)}`);
}

describeOnPostgres('a database that goes away, slows down or is overrun', () => {
  it('stores every request exactly once after 30 s without a database under steady traffic', async () => {
    const app = await serve();
    const traffic = startTraffic(app.url, { ratePerSecond: 300, path: (i) => `/t/outage-${i}` });
    await new Promise((resolve) => setTimeout(resolve, 3000));
    proxy.cut();
    const cutAt = traffic.sent;
    await new Promise((resolve) => setTimeout(resolve, 30_000));
    const duringOutage = app.tracker.stats();
    proxy.restore();
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const result = await traffic.stop();
    await settled(app.tracker);
    const stats = app.tracker.stats();
    await app.close();

    const counts = await storedCounts('outage');
    report('30 s outage', { sent: result.sent, sentDuringOutage: result.sent - cutAt, ...counts, journaled: stats.journaled, replayed: stats.replayed, retried: stats.retried, dropped: stats.dropped, maxQueuedDuringOutage: duringOutage.queued });
    expect(result.errors).toEqual({});
    expect(result).toMatchObject({ failed: 0, completed: result.sent });
    expect(result.sent).toBeGreaterThan(300 * 30);
    expect(counts).toEqual({ stored: result.sent, distinct: result.sent, duplicated: 0 });
    expect(duringOutage).toMatchObject({ databaseAvailable: false, dropped: 0 });
    expect(duringOutage.journalPending).toBeGreaterThan(300 * 25);
    expect(stats).toMatchObject({ dropped: 0, journalPending: 0 });
    expect(stats.replayed).toBeGreaterThanOrEqual(duringOutage.journalPending);
  }, 120_000);

  it('keeps memory bounded and loses nothing while every statement is slow', async () => {
    const maxQueueSize = 500;
    const app = await serve({ batchSize: 50, maxQueueSize });
    proxy.setDelay(400);
    const traffic = startTraffic(app.url, { ratePerSecond: 300, path: (i) => `/t/slow-${i}` });
    let maxQueued = 0;
    const sampler = setInterval(() => { maxQueued = Math.max(maxQueued, app.tracker.stats().queued); }, 20);
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    const result = await traffic.stop();
    clearInterval(sampler);
    const whileSlow = app.tracker.stats();
    proxy.setDelay(0);
    await settled(app.tracker);
    const stats = app.tracker.stats();
    await app.close();

    const counts = await storedCounts('slow');
    report('slow database', { sent: result.sent, ...counts, maxQueued, journaled: stats.journaled, replayed: stats.replayed, dropped: stats.dropped });
    expect(result.failed).toBe(0);
    expect(maxQueued).toBeLessThanOrEqual(2 * maxQueueSize);
    // The database could not keep up: the journal took the rest.
    expect(whileSlow.journaled).toBeGreaterThan(0);
    expect(counts).toEqual({ stored: result.sent, distinct: result.sent, duplicated: 0 });
    expect(stats.dropped).toBe(0);
  }, 120_000);

  it('journals a burst far above what the database can absorb, then replays it, nothing lost', async () => {
    const app = await serve({ batchSize: 100, maxQueueSize: 1000 });
    proxy.setDelay(200);
    const result = await burst(app.url, { count: 20_000, concurrency: 100, path: (i) => `/t/burst-${i}` });
    const afterBurst = app.tracker.stats();
    proxy.setDelay(0);
    await settled(app.tracker);
    const stats = app.tracker.stats();
    await app.close();

    const counts = await storedCounts('burst');
    report('burst', { sent: result.sent, ...counts, journaled: stats.journaled, replayed: stats.replayed, dropped: stats.dropped });
    expect(result).toMatchObject({ sent: 20_000, completed: 20_000, failed: 0 });
    expect(afterBurst.journaled).toBeGreaterThan(10_000);
    expect(counts).toEqual({ stored: 20_000, distinct: 20_000, duplicated: 0 });
    expect(stats.dropped).toBe(0);
  }, 120_000);

  it('close() with thousands queued journals them all, and a second process on the same folder replays them', async () => {
    const app = await serve({ batchSize: 500, closeTimeoutMs: 500 });
    proxy.cut();
    const result = await burst(app.url, { count: 5000, concurrency: 50, path: (i) => `/t/close-${i}` });
    await app.close();
    const closed = app.tracker.stats();
    expect(closed).toMatchObject({ written: 0, dropped: 0, queued: 0, journalPending: 5000 });
    proxy.restore();

    const replayer = await replayInAnotherProcess(app.journalDir);

    const counts = await storedCounts('close');
    report('close, then a second process', { sent: result.sent, ...counts, journaledAtClose: closed.journaled, replayedBySecondProcess: replayer.replayed });
    expect(replayer).toMatchObject({ replayed: 5000, dropped: 0, journalPending: 0 });
    expect(counts).toEqual({ stored: 5000, distinct: 5000, duplicated: 0 });
  }, 120_000);

  it.each([
    ['write-ahead', 'loses nothing'],
    ['spill', 'loses what waited in memory (the reason write-ahead exists)'],
  ] as const)('a process killed with SIGKILL while the database is slow: %s mode %s', async (mode, _outcome) => {
    const journalDir = tempJournalDir();
    const app = await startChildApp({ database: proxy.url, journal: { dir: journalDir, mode }, batchSize: 100, retry: { initialDelayMs: 50, maxDelayMs: 500 } });
    proxy.setDelay(1500);
    const result = await burst(app.url, { count: 2000, concurrency: 50, path: (i) => `/t/kill-${mode}-${i}` });
    expect(result).toMatchObject({ completed: 2000, failed: 0 });
    // Longer than a flush interval and a journal sync, far shorter than the slowed database needs.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const before = await app.stats();
    app.child.kill('SIGKILL');
    expect(await app.exited).toEqual({ code: null, signal: 'SIGKILL' });
    proxy.setDelay(0);

    const replayer = await replayInAnotherProcess(journalDir);
    const counts = await storedCounts(`kill-${mode}`);
    report(`SIGKILL, ${mode}`, { sent: result.sent, ...counts, journaledBeforeKill: before.journaled, writtenBeforeKill: before.written, replayedAfter: replayer.replayed });
    expect(counts.duplicated).toBe(0);
    if (mode === 'write-ahead') expect(counts.stored).toBe(2000);
    else expect(counts.stored).toBeLessThan(2000);
  }, 120_000);
});
