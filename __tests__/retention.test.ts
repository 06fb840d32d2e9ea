import { memoryLogger, storedActivities, testTracker } from './support/app';
import { openTestDatabase, resetTables, usingPostgres, type TestDatabase } from './support/database';
import { activity, seed } from './support/reports';
import { removeExpiredActivity } from '../lib/jobs/retention';
import { Scheduler } from '../lib/jobs/scheduler';
import { verifyChain } from '../lib/integrity/verify';
import { createActivityTracker } from '../lib/tracker';

let db: TestDatabase;
beforeAll(async () => { db = await openTestDatabase(); });
afterAll(async () => { await db.destroy(); });
beforeEach(async () => { await resetTables(db.knex); });

const NOW = new Date(Date.UTC(2026, 10, 23, 12, 0, 0));
const daysAgo = (days: number) => NOW.getTime() - days * 86_400_000;

/** Positions 1-5 are 120 to 100 days old, 6 is 10 days old, 7 is 95 days old (behind a newer row), 8 is today. */
async function seedAges(): Promise<void> {
  await seed(db.knex, [120, 115, 110, 105, 100, 10, 95, 0].map((days, i) => activity({ startTime: daysAgo(days), entityId: String(i + 1) })));
}

describe('retention', () => {
  it('removes the expired prefix of the chain in batches, records each batch in the chain, and the chain still verifies', async () => {
    await seedAges();
    const result = await removeExpiredActivity(db.knex, { retentionDays: 90, job: 'retention-job', batchSize: 2, now: NOW });
    expect(result).toEqual({ cutoff: new Date(daysAgo(90)).toISOString(), removed: 5, fromPosition: 1, toPosition: 5, batches: 3, partitionsDropped: [], archives: [], dryRun: false });

    const runs = await db.knex('activity_retention').orderBy('id').select('from_position', 'to_position', 'removed', 'job', 'record_position');
    expect(runs.map((r) => [Number(r.from_position), Number(r.to_position), Number(r.removed), r.job, Number(r.record_position)]))
      .toEqual([[1, 2, 2, 'retention-job', 9], [3, 4, 2, 'retention-job', 10], [5, 5, 1, 'retention-job', 11]]);

    const kept = (await storedActivities(db.knex)).sort((x, y) => Number(x.chain_position) - Number(y.chain_position));
    // The 95-day-old row stays: it sits behind a newer one, and rows leave only as a prefix.
    expect(kept.filter((r) => r.action !== 'retention.removed').map((r) => r.entity_id)).toEqual(['6', '7', '8']);
    const records = kept.filter((r) => r.action === 'retention.removed');
    expect(records.map((r) => r.details)).toEqual([
      expect.objectContaining({ fromPosition: 1, toPosition: 2, removed: 2, job: 'retention-job' }),
      expect.objectContaining({ fromPosition: 3, toPosition: 4, removed: 2 }),
      expect.objectContaining({ fromPosition: 5, toPosition: 5, removed: 1 }),
    ]);

    const verification = await verifyChain(db.knex);
    expect(verification).toMatchObject({ ok: true, verifiedFrom: 6, verifiedTo: 11, rowsChecked: 6 });
  });

  it('a dry run says what it would remove and removes nothing', async () => {
    await seedAges();
    const result = await removeExpiredActivity(db.knex, { retentionDays: 90, job: 'cleanup-command', dryRun: true, now: NOW });
    expect(result).toMatchObject({ removed: 5, fromPosition: 1, toPosition: 5, batches: 0, dryRun: true });
    expect(await storedActivities(db.knex)).toHaveLength(8);
    expect(await db.knex('activity_retention').count({ n: '*' }).first()).toEqual({ n: expect.anything() });
    expect(Number((await db.knex('activity_retention').count({ n: '*' }).first())?.n)).toBe(0);
  });

  it('removes nothing when nothing has expired, and a row the retention path does not cover still cannot be deleted', async () => {
    await seedAges();
    expect((await removeExpiredActivity(db.knex, { retentionDays: 200, job: 'retention-job', now: NOW })).removed).toBe(0);
    await removeExpiredActivity(db.knex, { retentionDays: 90, job: 'retention-job', now: NOW });
    await expect(db.knex('user_activity').where('chain_position', 6).delete()).rejects.toThrow(/append-only/);
    await expect(db.knex('activity_retention').delete()).rejects.toThrow(/append-only/);
  });

  it('warns at start-up when the retention is shorter than the common 90-day minimum', async () => {
    const logger = memoryLogger();
    const tracker = testTracker(db.knex, { retentionDays: 30, logger });
    await tracker.close();
    expect(logger.lines).toContainEqual(expect.objectContaining({ level: 'warn', message: expect.stringContaining('at least 90') }));
  });
});

describe('a retention run that fails', () => {
  it('is logged, removes nothing, and the next run removes what it should', async () => {
    await seedAges();
    // A failure in the middle of a batch: after the chain record, before the deletes.
    await db.knex.raw(`create function refuse_retention() returns trigger language plpgsql as $$ begin raise exception 'disk full'; end $$`);
    await db.knex.raw('create trigger refuse_retention before insert on activity_retention for each row execute function refuse_retention()');
    const logger = memoryLogger();
    const scheduler = new Scheduler(db.knex, logger, () => Promise.resolve());
    const job = { name: 'retention', intervalMs: 60_000, run: () => removeExpiredActivity(db.knex, { retentionDays: 90, job: 'retention-job', now: NOW }) };
    try {
      expect(await scheduler.runOnce(job)).toBe(false);
      expect(logger.lines).toContainEqual(expect.objectContaining({ level: 'error', context: { error: expect.stringContaining('disk full') } }));
      expect(await storedActivities(db.knex)).toHaveLength(8);
      expect((await verifyChain(db.knex))).toMatchObject({ ok: true, rowsChecked: 8 });
    } finally {
      await db.knex.raw('drop trigger refuse_retention on activity_retention');
      await db.knex.raw('drop function refuse_retention()');
    }
    expect(await scheduler.runOnce(job)).toBe(true);
    expect(Number((await db.knex('activity_retention').sum({ n: 'removed' }).first())?.n)).toBe(5);
    expect((await verifyChain(db.knex))).toMatchObject({ ok: true, verifiedFrom: 6 });
    await scheduler.stop();
  });
});

describe('the job scheduler', () => {
  it('never keeps the process alive: its timers are unref\'d, and stop() clears them', async () => {
    const scheduler = new Scheduler(db.knex, memoryLogger(), () => Promise.resolve());
    scheduler.schedule({ name: 'idle', intervalMs: 60_000, run: async () => undefined });
    const timers = (scheduler as unknown as { timers: NodeJS.Timeout[] }).timers;
    expect(timers).toHaveLength(1);
    expect(timers[0]?.hasRef()).toBe(false);
    await scheduler.stop();
    expect(timers).toHaveLength(0);
  });

  it('runs a job, logs a failure and runs it again next time, and stops on close', async () => {
    const logger = memoryLogger();
    const scheduler = new Scheduler(db.knex, logger, () => Promise.resolve());
    let runs = 0;
    const job = { name: 'flaky', intervalMs: 60_000, run: async () => { runs++; if (runs === 1) throw new Error('database hiccup'); } };
    expect(await scheduler.runOnce(job)).toBe(false);
    expect(logger.lines).toContainEqual(expect.objectContaining({ level: 'error', message: expect.stringContaining('job flaky failed') }));
    expect(await scheduler.runOnce(job)).toBe(true);
    expect(runs).toBe(2);
    await scheduler.stop();
    expect(await scheduler.runOnce(job)).toBe(false);
    expect(runs).toBe(2);
  });

  (usingPostgres ? it : it.skip)('runs each job in one process at a time when two trackers share a database', async () => {
    const a = new Scheduler(db.knex, memoryLogger(), () => Promise.resolve());
    const b = new Scheduler(db.knex, memoryLogger(), () => Promise.resolve());
    let concurrent = 0;
    let maxConcurrent = 0;
    const job = {
      name: 'exclusive', intervalMs: 60_000,
      run: async () => { concurrent++; maxConcurrent = Math.max(maxConcurrent, concurrent); await new Promise((r) => setTimeout(r, 200)); concurrent--; },
    };
    const ran = await Promise.all([a.runOnce(job), b.runOnce(job)]);
    expect(ran.sort()).toEqual([false, true]);
    expect(maxConcurrent).toBe(1);
    // Once released, the other process may run it.
    expect(await b.runOnce(job)).toBe(true);
    await Promise.all([a.stop(), b.stop()]);
  });

  (usingPostgres ? it : it.skip)('two trackers skip a job while another process holds its lock', async () => {
    const other = await db.knex.client.acquireConnection();
    const trackers = [0, 1].map(() => createActivityTracker({ database: db.url!, logger: memoryLogger(), jobs: false }));
    try {
      // Another process running the retention job: its lock is taken on a connection of its own.
      await db.knex.raw("select pg_advisory_lock(hashtext('activity_tracking:retention'))").connection(other);
      expect(await Promise.all(trackers.map((t) => t.runJob('retention')))).toEqual([false, false]);
      await db.knex.raw("select pg_advisory_unlock(hashtext('activity_tracking:retention'))").connection(other);
      expect(await trackers[0]!.runJob('retention')).toBe(true);
    } finally {
      await db.knex.client.releaseConnection(other);
      await Promise.all(trackers.map((t) => t.close()));
    }
  });

  (usingPostgres ? it : it.skip)('retention through two trackers on one database removes each expired row once', async () => {
    await seedAges();
    const trackers = [createActivityTracker({ database: db.url!, logger: memoryLogger() }), createActivityTracker({ database: db.url!, logger: memoryLogger() })];
    try {
      await Promise.all(trackers.map((t) => t.ready()));
      await Promise.all(trackers.map(() => removeExpiredActivity(db.knex, { retentionDays: 90, job: 'retention-job', now: NOW, batchSize: 1 })));
      expect(Number((await db.knex('activity_retention').sum({ n: 'removed' }).first())?.n)).toBe(5);
      expect((await verifyChain(db.knex)).ok).toBe(true);
    } finally {
      await Promise.all(trackers.map((t) => t.close()));
    }
  });
});
