import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import request from 'supertest';
import { memoryLogger, testTracker } from './support/app';
import { openTestDatabase, resetTables, type TestDatabase } from './support/database';
import { withEnv } from './support/env';
import { event, waitFor } from './support/recorder';
import { encodeRecord } from '../lib/recorder/journalFormat';
import { createActivityTracker, type ActivityTracker } from '../lib/tracker';
import { tightenTreeSync } from '../lib/privateFiles';

/**
 * Issue 12, section 5: everything the package keeps on disk (the embedded database, the journal,
 * rejects, torn records, locks, the session cookie key) is private to the process's user, whatever
 * the umask: folders 0700, files 0600.
 */

let db: TestDatabase;
beforeAll(async () => { db = await openTestDatabase(); });
afterAll(async () => { await db.destroy(); });
beforeEach(async () => { await resetTables(db.knex); });

interface Entry { path: string; kind: 'dir' | 'file'; mode: number }

function walk(root: string): Entry[] {
  const entries: Entry[] = [];
  const visit = (p: string): void => {
    const stat = lstatSync(p);
    if (stat.isDirectory()) {
      entries.push({ path: p, kind: 'dir', mode: stat.mode & 0o777 });
      for (const name of readdirSync(p)) visit(path.join(p, name));
    } else {
      entries.push({ path: p, kind: 'file', mode: stat.mode & 0o777 });
    }
  };
  visit(root);
  return entries;
}

/** Every folder and file that is not 0700 / 0600, as `mode path` lines (an empty list is what we want). */
function notPrivate(root: string): string[] {
  return walk(root)
    .filter((e) => e.mode !== (e.kind === 'dir' ? 0o700 : 0o600))
    .map((e) => `${e.mode.toString(8).padStart(4, '0')} ${path.relative(root, e.path) || '.'}`);
}

async function withUmask<T>(mask: number, fn: () => Promise<T>): Promise<T> {
  const saved = process.umask(mask);
  try { return await fn(); } finally { process.umask(saved); }
}

/**
 * Leaves what an older version, run under a loose umask, would have left in a journal folder: open
 * folders, a world-readable rejects file, and a segment of a process that is gone holding one row
 * the database refuses (its id is no UUID) followed by torn bytes. Adopting it makes the tracker
 * write a reject and keep a torn record.
 */
function plantLooseJournal(journalDir: string): void {
  mkdirSync(journalDir, { recursive: true });
  chmodSync(path.dirname(journalDir), 0o777);
  chmodSync(journalDir, 0o777);
  const refused = event({ id: 'not-a-uuid' });
  const segment = path.join(journalDir, '4194301-0badf00d-000000.journal');
  writeFileSync(segment, Buffer.concat([encodeRecord(JSON.stringify([refused])), Buffer.from('torn bytes, not a record')]));
  chmodSync(segment, 0o666);
  const rejects = path.join(journalDir, 'rejects.jsonl');
  writeFileSync(rejects, '');
  chmodSync(rejects, 0o644);
}

function app(tracker: ActivityTracker): express.Express {
  const a = express();
  a.use(express.json());
  a.use(tracker.middleware());
  a.get('/items/:id', (req, res) => { res.json({ id: req.params.id }); });
  a.post('/items', (req, res) => { res.status(201).json(req.body); });
  return a;
}

async function traffic(tracker: ActivityTracker): Promise<void> {
  const browser = request.agent(app(tracker));
  for (let i = 0; i < 10; i++) {
    await browser.get(`/items/${i}`).expect(200);
    await browser.post('/items').send({ name: `item ${i}`, password: 'hunter2' }).expect(201);
  }
  await tracker.flush();
  await waitFor(() => tracker.stats().rejected === 1 && tracker.stats().torn === 1, 20_000,
    () => `a reject and a torn record: ${JSON.stringify(tracker.stats())}`);
}

function names(root: string): string[] {
  return walk(root).map((e) => path.relative(root, e.path));
}

describe.each([['000', 0o000], ['022', 0o022]])('under umask %s', (_label, umask) => {
  it('keeps the embedded database, its journal, rejects, torn records, locks and the cookie key private (folders 0700, files 0600)', async () => {
    const dataDir = path.join(mkdtempSync(path.join(os.tmpdir(), 'activity-perm-')), 'data');
    const logger = memoryLogger();
    await withUmask(umask, () => withEnv({ DATABASE_URL: undefined, ACTIVITY_SESSION_SECRET: undefined }, async () => {
      plantLooseJournal(path.join(dataDir, 'journal'));
      const tracker = createActivityTracker({
        dataDir, jobs: false, geo: false, flushIntervalMs: 5, logger, journal: { mode: 'write-ahead' },
      });
      try {
        await tracker.ready();
        await traffic(tracker);
        // While it runs: the active segment and this process's lock are there too.
        const running = names(path.join(dataDir, 'journal'));
        expect(running).toEqual(expect.arrayContaining([expect.stringMatching(/^\d+-[0-9a-f]+-\d{6}\.journal$/), expect.stringMatching(/^\d+-[0-9a-f]+\.lock$/)]));
        expect(notPrivate(dataDir)).toEqual([]);
      } finally {
        await tracker.close();
      }
    }));
    const all = names(dataDir);
    // What was checked: PGlite's own files (hundreds, WAL included), the journal's, and the key.
    expect(all.length).toBeGreaterThan(500);
    expect(all).toEqual(expect.arrayContaining([
      'PG_VERSION', 'session-key', path.join('journal', 'rejects.jsonl'), path.join('journal', 'torn'),
      expect.stringMatching(/^pg_wal\/[0-9A-F]{24}$/), expect.stringMatching(/^journal\/torn\/.+\.bin$/),
    ]));
    expect(notPrivate(dataDir)).toEqual([]);
    // Private as PGlite writes, not only by a chmod when it closes.
    expect(logger.lines.filter((l) => /private|file modes/.test(l.message))).toEqual([]);
  }, 180_000);

  it('keeps the journal, rejects, torn records, locks and the cookie key private beside a database server too, and tightens a folder an older version left open', async () => {
    const dataDir = path.join(mkdtempSync(path.join(os.tmpdir(), 'activity-perm-')), 'data');
    await withUmask(umask, async () => {
      plantLooseJournal(path.join(dataDir, 'journal'));
      writeFileSync(path.join(dataDir, 'session-key'), `${'ab'.repeat(32)}\n`);
      chmodSync(path.join(dataDir, 'session-key'), 0o644);
      expect(notPrivate(dataDir).length).toBeGreaterThan(0);
      const tracker = testTracker(db.knex, { dataDir, journal: { dir: path.join(dataDir, 'journal'), mode: 'write-ahead' } });
      try {
        await traffic(tracker);
        expect(notPrivate(dataDir)).toEqual([]);
      } finally {
        await tracker.close();
      }
    });
    expect(existsSync(path.join(dataDir, 'journal', 'rejects.jsonl'))).toBe(true);
    expect(names(dataDir)).toEqual(expect.arrayContaining([expect.stringMatching(/^journal\/torn\/.+\.bin$/)]));
    expect(notPrivate(dataDir)).toEqual([]);
  }, 60_000);
});

describe('a data folder that is a symbolic link (a mounted volume, say)', () => {
  it('is made private through the link, with what an older version left in it', () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'activity-perm-link-'));
    const volume = path.join(root, 'volume');
    mkdirSync(path.join(volume, 'base'), { recursive: true });
    chmodSync(volume, 0o755);
    writeFileSync(path.join(volume, 'base', 'PG_VERSION'), '17\n');
    chmodSync(path.join(volume, 'base', 'PG_VERSION'), 0o666);
    const dataDir = path.join(root, 'data');
    symlinkSync(volume, dataDir);
    expect(tightenTreeSync(dataDir)).toEqual([]);
    expect(statSync(volume).mode & 0o777).toBe(0o700);
    expect(notPrivate(volume)).toEqual([]);
  });
});
