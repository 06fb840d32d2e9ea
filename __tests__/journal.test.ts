import { existsSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { openTestDatabase, resetTables, type TestDatabase } from './support/database';
import { countRows, event, switchableStore, testRecorder, waitFor } from './support/recorder';
import { startChildApp } from './support/child';
import { burst } from './support/traffic';
import { memoryLogger, tempJournalDir } from './support/app';
import { Journal } from '../lib/recorder/journal';
import { KnexActivityStore } from '../lib/store/activityStore';
import { HEADER_BYTES } from '../lib/recorder/journalFormat';
import type { ActivityEvent } from '../lib/types';

let db: TestDatabase;
beforeAll(async () => { db = await openTestDatabase(); });
afterAll(async () => { await db.destroy(); });
beforeEach(async () => { await resetTables(db.knex); });

const events = (n: number, overrides: Partial<ActivityEvent> = {}): ActivityEvent[] => Array.from({ length: n }, () => event(overrides));

/** Ids of stored request rows in chain order. */
async function storedIds(): Promise<string[]> {
  return (await db.knex('user_activity').whereNotIn('activity_type', ['session_start', 'session_end']).orderBy('chain_position').pluck('id')) as string[];
}

function journalBytes(dir: string): number {
  return readdirSync(dir).filter((name) => name.endsWith('.journal')).reduce((n, name) => n + statSync(path.join(dir, name)).size, 0);
}

/** Journals batches through a journal that is then let go, as a process that stopped leaves them. */
async function leaveJournal(dir: string, batches: ActivityEvent[][]): Promise<string> {
  const journal = await Journal.open({ dir, logger: memoryLogger() });
  for (const batch of batches) await journal.append(batch);
  await journal.close();
  const segment = readdirSync(dir).find((name) => name.startsWith(`${journal.owner}-`));
  return path.join(dir, segment as string);
}

describe('the journal', () => {
  it('takes what the database cannot, keeps memory bounded, then replays it in capture order, each event once, and trims itself', async () => {
    const gate = switchableStore(db.knex);
    const recorder = testRecorder(gate.store, { batchSize: 50, maxQueueSize: 200 });
    gate.down = true;
    const sent = events(2000);
    let maxQueued = 0;
    // Requests arrive over time, a few per turn of the event loop, never faster than the disk takes
    // them (on a loaded machine an fdatasync can outlast many turns: past twice maxQueueSize the
    // recorder refuses events, which the overload tests cover).
    for (let i = 0; i < sent.length; i += 20) {
      for (const e of sent.slice(i, i + 20)) expect(recorder.enqueue(e)).toBe(true);
      maxQueued = Math.max(maxQueued, recorder.stats().queued);
      await new Promise((resolve) => setTimeout(resolve, 1));
      while (recorder.stats().queued > 200) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await waitFor(() => recorder.stats().journalPending === 2000, 20_000, () => `everything journaled: ${JSON.stringify(recorder.stats())}`);
    expect(maxQueued).toBeLessThanOrEqual(2 * 200);
    expect(journalBytes(recorder.journalDir!)).toBeGreaterThan(0);
    expect(recorder.stats()).toMatchObject({ queued: 0, written: 0, journaled: 2000, dropped: 0, databaseAvailable: false });
    expect(recorder.stats().retried).toBeGreaterThan(0);
    expect(recorder.stats().lagMs).toBeGreaterThan(0);

    gate.down = false;
    await recorder.flush();
    expect(await storedIds()).toEqual(sent.map((e) => e.id));
    expect(recorder.stats()).toMatchObject({ queued: 0, journalPending: 0, written: 2000, replayed: 2000, dropped: 0, lagMs: 0, databaseAvailable: true });
    expect(journalBytes(recorder.journalDir!)).toBe(0);
    await recorder.close();
    expect(readdirSync(recorder.journalDir!)).toEqual([]);
  });

  it('puts a failed batch before everything journaled after it', async () => {
    const gate = switchableStore(db.knex);
    const recorder = testRecorder(gate.store, { batchSize: 10, maxQueueSize: 30 });
    const first = events(10);
    gate.down = true;
    for (const e of first) recorder.enqueue(e);
    // The first batch is on its way (and fails) while later events overflow memory into the journal.
    const later = events(100);
    for (const e of later) {
      recorder.enqueue(e);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await waitFor(() => recorder.stats().journalPending + recorder.stats().queued === 110, 10_000, () => `all events journaled or queued: ${JSON.stringify(recorder.stats())}`);
    expect(recorder.stats().dropped).toBe(0);
    gate.down = false;
    await recorder.flush();
    expect(await storedIds()).toEqual([...first, ...later].map((e) => e.id));
    await recorder.close();
  });

  it('never stores a replayed event twice (the process stopped after the commit, before the trim)', async () => {
    const batch = events(25);
    await new KnexActivityStore(db.knex).writeBatch(batch);
    const dir = tempJournalDir();
    await leaveJournal(dir, [batch, events(5)]);
    const recorder = testRecorder(async () => new KnexActivityStore(db.knex), { journalDir: dir });
    await recorder.flush();
    expect(await countRows(db.knex)).toBe(30);
    expect(recorder.stats()).toMatchObject({ replayed: 30, journalPending: 0, dropped: 0 });
    await recorder.close();
  });

  it('replays every complete batch of a journal whose last write was torn, and reports and keeps aside the torn one', async () => {
    const dir = tempJournalDir();
    const [a, b, c] = [events(10), events(10), events(10)];
    const file = await leaveJournal(dir, [a, b, c]);
    const size = statSync(file).size;
    truncateSync(file, size - 7);
    const recorder = testRecorder(async () => new KnexActivityStore(db.knex), { journalDir: dir });
    await recorder.flush();
    expect(await storedIds()).toEqual([...a, ...b].map((e) => e.id));
    expect(recorder.stats()).toMatchObject({ torn: 1, replayed: 20, dropped: 0 });
    expect(recorder.logger.lines).toContainEqual(expect.objectContaining({
      level: 'error', message: 'A journal record was torn or corrupt; it was not replayed', context: expect.objectContaining({ reason: expect.stringMatching(/incomplete payload/) }),
    }));
    const [torn] = readdirSync(path.join(dir, 'torn'));
    expect(statSync(path.join(dir, 'torn', torn as string)).size).toBe(size - 7 - 2 * (size / 3));
    await recorder.close();
  });

  it('skips a corrupt record in the middle, replays the ones around it, and stores no corrupted row', async () => {
    const dir = tempJournalDir();
    const [a, b, c] = [events(10), events(10, { action: 'will.be.corrupted' }), events(10)];
    const file = await leaveJournal(dir, [a, b, c]);
    const bytes = readFileSync(file);
    const second = bytes.length / 3;
    const at = bytes.indexOf('will.be.corrupted', second + HEADER_BYTES);
    bytes.write('WILL', at, 'latin1');
    writeFileSync(file, bytes);
    const recorder = testRecorder(async () => new KnexActivityStore(db.knex), { journalDir: dir });
    await recorder.flush();
    expect(await storedIds()).toEqual([...a, ...c].map((e) => e.id));
    expect(await countRows(db.knex, (q) => q.whereILike('action', '%will.be.corrupted%'))).toBe(0);
    expect(recorder.stats()).toMatchObject({ torn: 1, replayed: 20 });
    expect(recorder.logger.lines).toContainEqual(expect.objectContaining({ context: expect.objectContaining({ reason: 'checksum mismatch' }) }));
    await recorder.close();
  });

  it('close() journals what the database did not take by the deadline, and the next process replays it at start-up', async () => {
    const gate = switchableStore(db.knex);
    const dir = tempJournalDir();
    const recorder = testRecorder(gate.store, { journalDir: dir, batchSize: 100, maxQueueSize: 10_000, closeTimeoutMs: 300, retryInitialDelayMs: 1000, retryMaxDelayMs: 1000 });
    const sent = events(5000);
    gate.down = true;
    for (const e of sent) recorder.enqueue(e);
    const started = Date.now();
    await recorder.close();
    expect(Date.now() - started).toBeLessThan(5000);
    expect(recorder.stats()).toMatchObject({ written: 0, queued: 0, journaled: 5000, journalPending: 5000, dropped: 0 });
    // Events arriving after close are refused and counted, never silently lost.
    expect(recorder.enqueue(event())).toBe(false);
    expect(recorder.stats().dropped).toBe(1);

    gate.down = false;
    const next = testRecorder(gate.store, { journalDir: dir });
    await waitFor(() => next.stats().journalPending === 0 && next.stats().replayed === 5000, 30_000, 'the replay at start-up');
    expect(await storedIds()).toEqual(sent.map((e) => e.id));
    await next.close();
  });

  it('adopts what a dead process left, but not what a live one is still looking after', async () => {
    const dir = tempJournalDir();
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const deadPid = Number(dead.stdout);
    // A live owner in this process, with a batch of its own.
    const live = await Journal.open({ dir, logger: memoryLogger() });
    await live.append(events(5));
    const orphaned = events(10);
    await leaveJournal(dir, [orphaned]);
    // The lock a killed process would leave: it never got to remove it.
    const segment = readdirSync(dir).find((name) => name.endsWith('.journal') && !name.startsWith(live.owner));
    const owner = (segment as string).replace(/-\d{6}\.journal$/, '');
    writeFileSync(path.join(dir, `${owner}.lock`), JSON.stringify({ pid: deadPid, hostname: os.hostname(), startedAt: new Date().toISOString() }));
    const recorder = testRecorder(async () => new KnexActivityStore(db.knex), { journalDir: dir });
    await recorder.flush();
    expect(await storedIds()).toEqual(orphaned.map((e) => e.id));
    expect(live.pendingEvents).toBe(5);
    expect(existsSync(path.join(dir, `${owner}.lock`))).toBe(false);
    await recorder.close();
    await live.close();
  });

  it('drops only when the journal itself cannot be written, and then counts and logs every drop', async () => {
    const gate = switchableStore(db.knex);
    const recorder = testRecorder(gate.store, { batchSize: 10, maxQueueSize: 50 });
    // The journal folder becomes a file: no segment can be created in it.
    rmSync(recorder.journalDir!, { recursive: true });
    writeFileSync(recorder.journalDir!, 'not a folder');
    gate.down = true;
    const sent = events(200);
    let accepted = 0;
    let maxQueued = 0;
    for (let i = 0; i < sent.length; i += 10) {
      for (const e of sent.slice(i, i + 10)) if (recorder.enqueue(e)) accepted++;
      maxQueued = Math.max(maxQueued, recorder.stats().queued);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await waitFor(() => recorder.stats().queued + recorder.stats().dropped === 200, 10_000, () => JSON.stringify(recorder.stats()));
    expect(recorder.stats().dropped).toBeGreaterThan(0);
    expect(maxQueued).toBeLessThanOrEqual(2 * 50);
    expect(recorder.logger.lines).toContainEqual(expect.objectContaining({ level: 'error', message: 'Cannot write the activity journal' }));
    expect(recorder.logger.lines).toContainEqual(expect.objectContaining({ level: 'error', message: 'Activity event dropped' }));

    // What was not dropped is stored once the database answers: nothing vanished uncounted. (A batch
    // still queued when the counts were read above may yet fail against the closed database and be
    // dropped, so the final counts are the ones to compare.)
    gate.down = false;
    await recorder.flush();
    const { dropped, queued } = recorder.stats();
    expect(queued).toBe(0);
    expect(await countRows(db.knex)).toBe(200 - dropped);
    expect(accepted).toBeLessThanOrEqual(200);
    rmSync(recorder.journalDir!);
  });

  it('refuses batches past journal.maxBytes, and counts and logs what that drops', async () => {
    const gate = switchableStore(db.knex);
    const recorder = testRecorder(gate.store, { batchSize: 10, maxQueueSize: 20, journalMaxBytes: 40_000 });
    gate.down = true;
    const sent = events(300);
    for (let i = 0; i < sent.length; i += 10) {
      for (const e of sent.slice(i, i + 10)) recorder.enqueue(e);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await waitFor(() => { const s = recorder.stats(); return s.journalPending + s.queued + s.dropped === 300 && s.queued <= 2 * 20; }, 10_000, () => JSON.stringify(recorder.stats()));
    const full = recorder.stats();
    expect(full.dropped).toBeGreaterThan(0);
    expect(full.journalBytes).toBeGreaterThan(0);
    expect(full.journalBytes).toBeLessThanOrEqual(40_000);
    // lastError may since have been overwritten by a failed retry against the database; the log keeps it.
    expect(recorder.logger.lines).toContainEqual(expect.objectContaining({
      level: 'error', message: 'Cannot write the activity journal',
      context: expect.objectContaining({ error: expect.stringMatching(/past journal.maxBytes \(40000\).*ERR_AT_JOURNAL_FULL/) }),
    }));
    expect(recorder.logger.lines).toContainEqual(expect.objectContaining({ level: 'error', message: 'Activity event dropped' }));
    gate.down = false;
    await recorder.flush();
    expect(await countRows(db.knex)).toBe(300 - full.dropped);
    expect(recorder.stats()).toMatchObject({ journalBytes: 0, journalPending: 0 });
    await recorder.close();
  });

  it('counts a batch still being written against journal.maxBytes', async () => {
    const dir = tempJournalDir();
    const batch = events(20);
    const sizing = await Journal.open({ dir, logger: memoryLogger() });
    await sizing.append(batch);
    const oneBatch = sizing.bytes;
    await sizing.close();
    rmSync(dir, { recursive: true, force: true });

    // Room for one batch and a half: the second must be refused even while the first is mid-write.
    const journal = await Journal.open({ dir: tempJournalDir(), logger: memoryLogger(), maxBytes: Math.floor(oneBatch * 1.5) });
    const first = journal.append(batch);
    for (let i = 0; i < 5; i++) await Promise.resolve();
    expect(journal.bytes).toBe(0); // the first write has not reached the segment yet
    await expect(journal.append(events(20))).rejects.toMatchObject({ code: 'ERR_AT_JOURNAL_FULL' });
    await first;
    expect(journal.bytes).toBe(oneBatch);
    await expect(journal.append(events(20))).rejects.toMatchObject({ code: 'ERR_AT_JOURNAL_FULL' });
    await journal.close();
  });

  it('leaves the journal of a process on another host alone while its lock is fresh, and adopts it once the lock is stale', async () => {
    const dir = tempJournalDir();
    const elsewhere = events(7);
    const file = await leaveJournal(dir, [elsewhere]);
    const owner = path.basename(file).replace(/-\d{6}\.journal$/, '');
    const lock = path.join(dir, `${owner}.lock`);
    writeFileSync(lock, JSON.stringify({ pid: 1, hostname: 'another-host', startedAt: new Date().toISOString() }));
    const first = testRecorder(async () => new KnexActivityStore(db.knex), { journalDir: dir });
    await first.flush();
    expect(await countRows(db.knex)).toBe(0);
    await first.close();

    const twoMinutesAgo = new Date(Date.now() - 120_000);
    utimesSync(lock, twoMinutesAgo, twoMinutesAgo);
    const second = testRecorder(async () => new KnexActivityStore(db.knex), { journalDir: dir });
    await second.flush();
    expect(await storedIds()).toEqual(elsewhere.map((e) => e.id));
    await second.close();
  });

  it('a running process adopts the journal of a process that stopped after it started', async () => {
    const dir = tempJournalDir();
    const recorder = testRecorder(async () => new KnexActivityStore(db.knex), { journalDir: dir, orphanCheckIntervalMs: 50 });
    await recorder.flush();
    const orphaned = events(15);
    await leaveJournal(dir, [orphaned]);
    // The counter moves once the commit is acknowledged, a moment after the rows are visible.
    await waitFor(() => recorder.stats().replayed === 15, 10_000, () => `the orphaned batch replayed: ${JSON.stringify(recorder.stats())}`);
    expect(await storedIds()).toEqual(orphaned.map((e) => e.id));
    expect(recorder.stats()).toMatchObject({ replayed: 15, journalPending: 0 });
    await recorder.close();
  });

  it('write-ahead mode journals every batch before writing it, and empties the journal as they commit', async () => {
    const recorder = testRecorder(async () => new KnexActivityStore(db.knex), { journalMode: 'write-ahead', batchSize: 50 });
    const sent = events(250);
    for (const e of sent) recorder.enqueue(e);
    await recorder.flush();
    expect(await storedIds()).toEqual(sent.map((e) => e.id));
    expect(recorder.stats()).toMatchObject({ journaled: 250, replayed: 250, written: 250, journalPending: 0 });
    expect(journalBytes(recorder.journalDir!)).toBe(0);
    await recorder.close();
  });

  it('a write the database is too slow to answer is retried from the journal, and stored once', async () => {
    const real = new KnexActivityStore(db.knex);
    let delayed = 0;
    const slow = {
      writeBatch: async (batch: ActivityEvent[]) => {
        if (delayed++ === 0) await new Promise((resolve) => setTimeout(resolve, 400));
        return real.writeBatch(batch);
      },
    };
    const recorder = testRecorder(async () => slow as unknown as KnexActivityStore, { writeTimeoutMs: 100 });
    const sent = events(40);
    for (const e of sent) recorder.enqueue(e);
    await recorder.flush();
    await new Promise((resolve) => setTimeout(resolve, 500)); // the slow write commits too, late
    expect(await storedIds()).toEqual(sent.map((e) => e.id));
    expect(recorder.stats()).toMatchObject({ retried: 1, journaled: 40, replayed: 40, dropped: 0 });
    expect(recorder.stats().lastError).toMatch(/did not answer a write within 100 ms/);
    await recorder.close();
  });

  it('resolves record() once the event is stored, also when it went through the journal', async () => {
    const gate = switchableStore(db.knex);
    const recorder = testRecorder(gate.store);
    gate.down = true;
    const e = event();
    let settled = false;
    const written = recorder.write(e).then(() => { settled = true; });
    await waitFor(() => recorder.stats().journalPending === 1, 5000, 'the event journaled');
    expect(settled).toBe(false);
    gate.down = false;
    await written;
    expect(await storedIds()).toEqual([e.id]);
    await recorder.close();
  });

  it('with handleSignals, SIGTERM journals what waits in memory before the process ends by the signal', async () => {
    const dir = tempJournalDir();
    // Batches too large to be written yet, and a database that cannot be reached: all 600 wait in memory.
    const app = await startChildApp({
      database: 'postgres://nobody@127.0.0.1:1/none', journal: { dir }, handleSignals: true,
      batchSize: 2000, maxQueueSize: 10_000, flushIntervalMs: 60_000, closeTimeoutMs: 500,
    });
    const result = await burst(app.url, { count: 600, concurrency: 20, path: (i) => `/t/${i}` });
    expect(result).toMatchObject({ completed: 600, failed: 0 });
    expect(await app.stats()).toMatchObject({ queued: 600, journaled: 0 });
    app.child.kill('SIGTERM');
    expect(await app.exited).toEqual({ code: null, signal: 'SIGTERM' });
    const journal = await Journal.open({ dir, logger: memoryLogger() });
    expect(journal.pendingEvents).toBe(600);
    await journal.close();
  }, 60_000);
});
