import { randomBytes } from 'node:crypto';
import { linkSync, openSync, readFileSync, statSync, unlinkSync, utimesSync, writeFileSync, closeSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ActivityTrackingError } from '../errors';
import { PRIVATE_FILE_MODE } from '../privateFiles';
import type { Logger } from '../types';
import { messageOf } from '../util/messageOf';
import { ownIdentity, stillRunning, type ProcessIdentity } from '../util/processIdentity';

/**
 * PGlite runs PostgreSQL inside the process, without PostgreSQL's own postmaster lock: a second
 * process that opens the same folder (the command line beside a running app) reads and writes the
 * files under the first one, and aborts ("Aborted()") or damages them. So whoever opens the
 * embedded database first creates this file in the folder, and removes it when it closes the
 * database (and at exit, as a best effort).
 */
export const DATA_FOLDER_LOCK_FILE = 'activity-tracking.lock';
/** How often a holder touches its lock: the only sign of life another host sharing the folder can see. */
export const LOCK_REFRESH_MS = 30_000;
/**
 * A lock of another host not touched for this long is taken over: its holder stopped without
 * closing. Four missed refreshes, so an event loop held up by a long embedded query is not robbed.
 */
export const LOCK_STALE_MS = 2 * 60_000;
/** A takeover or a write of the lock takes milliseconds; one older than this was left by a crash. */
const IN_PROGRESS_STALE_MS = 10_000;

interface LockContent extends ProcessIdentity {
  hostname: string;
  startedAt: string;
  /** What opened the database: "a tracker", "activity-tracking verify". */
  openedBy: string;
  /** The script the process runs (process.argv[1]), to tell which app it is. */
  script?: string;
}

interface FoundLock {
  raw: string;
  content: LockContent | null;
  mtimeMs: number;
}

export interface DataFolderLock {
  readonly file: string;
  /** Removes the lock if it is still this one; idempotent. */
  release(): void;
}

/** Locks held by this process, by file, with the exact content written: released at exit. */
const held = new Map<string, string>();
let exitHookInstalled = false;

/**
 * Takes the data folder for this process. Throws ERR_AT_DATA_DIR_IN_USE, naming the holder and
 * the fix, when a running process holds it; takes over (with a warning) a lock whose holder is gone.
 */
export function lockDataFolder(dataDir: string, openedBy: string, logger: Logger): DataFolderLock {
  const file = path.join(dataDir, DATA_FOLDER_LOCK_FILE);
  const content: LockContent = {
    ...ownIdentity(), hostname: os.hostname(), startedAt: new Date().toISOString(), openedBy,
    ...(process.argv[1] ? { script: process.argv[1] } : {}),
  };
  const raw = `${JSON.stringify(content)}\n`;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    if (createExclusive(file, raw)) return hold(file, raw, logger);
    const found = readLock(file);
    if (found === undefined) continue; // released meanwhile
    const stale = staleReason(file, found);
    if (stale === undefined) throw inUse(dataDir, file, found);
    if (takeOver(file, found, raw)) {
      logger.warn(`Took over the lock of the embedded database in ${dataDir}: ${stale}`, { lockFile: file, previousHolder: found.content ?? found.raw.slice(0, 200) });
      return hold(file, raw, logger);
    }
  }
  // Lost every race: another opener is at work on the folder right now.
  const found = readLock(file);
  throw found ? inUse(dataDir, file, found) : busy(dataDir, file);
}

/** Why the holder of this lock is gone, or undefined when it may still be using the folder. */
function staleReason(file: string, found: FoundLock): string | undefined {
  const age = Date.now() - found.mtimeMs;
  const holder = found.content;
  if (holder === null) return age > IN_PROGRESS_STALE_MS ? `its lock file was unreadable and ${Math.round(age / 1000)} s old` : undefined;
  if (holder.hostname !== os.hostname()) {
    return age > LOCK_STALE_MS ? `process ${holder.pid} on host ${holder.hostname} has not refreshed it for ${Math.round(age / 60_000)} minute(s) (that host stopped without closing the database)` : undefined;
  }
  if (holder.pid === process.pid) {
    // This pid, but not a lock this process took: an earlier life of the pid (a restarted container).
    return held.has(file) ? undefined : `it was left by an earlier process with this process's pid ${holder.pid} (a restart after a crash)`;
  }
  return stillRunning(holder) ? undefined : `process ${holder.pid} is no longer running (it stopped without closing the database: killed or crashed)`;
}

/**
 * Replaces the stale lock with ours, one opener at a time: a guard file is created exclusively
 * first, and the lock is removed only if it is still the one judged stale. False when another
 * opener got there first.
 */
function takeOver(file: string, stale: FoundLock, raw: string): boolean {
  const guard = `${file}.takeover`;
  if (!createExclusive(guard, raw)) {
    const left = readLock(guard);
    if (left && Date.now() - left.mtimeMs > IN_PROGRESS_STALE_MS) removeQuietly(guard);
    return false;
  }
  try {
    const now = readLock(file);
    if (now !== undefined && now.raw !== stale.raw) return false;
    if (now !== undefined) removeQuietly(file);
    return createExclusive(file, raw);
  } finally {
    removeQuietly(guard);
  }
}

function hold(file: string, raw: string, logger: Logger): DataFolderLock {
  held.set(file, raw);
  installExitHook();
  let complained = false;
  const refresh = setInterval(() => {
    try {
      if (readFileSync(file, 'utf8') !== raw) throw new Error('the lock file now names another holder');
      const now = new Date();
      utimesSync(file, now, now);
    } catch (error) {
      if (complained) return;
      complained = true;
      logger.error('The lock of the embedded database was removed or replaced while it is open: another process may open it too and damage it. Fix: stop the other process, then restart this one', { lockFile: file, error: messageOf(error) });
    }
  }, LOCK_REFRESH_MS);
  refresh.unref();
  let released = false;
  return {
    file,
    release: () => {
      if (released) return;
      released = true;
      clearInterval(refresh);
      held.delete(file);
      removeIfOurs(file, raw);
    },
  };
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A process that exits without closing (process.exit, an uncaught error) leaves no lock behind.
  process.on('exit', () => {
    for (const [file, raw] of held) removeIfOurs(file, raw);
    held.clear();
  });
}

function removeIfOurs(file: string, raw: string): void {
  try {
    if (readFileSync(file, 'utf8') === raw) unlinkSync(file);
  } catch {
    // Gone already, or the folder with it: nothing left to release.
  }
}

/**
 * Creates `file` with `raw` as its content, or returns false when it exists. Written to a private
 * temporary file and hard-linked into place, so a reader never sees a lock half written.
 */
function createExclusive(file: string, raw: string): boolean {
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(temporary, raw, { mode: PRIVATE_FILE_MODE, flag: 'wx' });
  try {
    linkSync(temporary, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    // A file system without hard links: an exclusive create, written at once.
    return createWithoutLink(file, raw);
  } finally {
    removeQuietly(temporary);
  }
}

function createWithoutLink(file: string, raw: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'wx', PRIVATE_FILE_MODE);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    writeSync(fd, raw);
  } finally {
    closeSync(fd);
  }
  return true;
}

function readLock(file: string): FoundLock | undefined {
  try {
    const { mtimeMs } = statSync(file);
    const raw = readFileSync(file, 'utf8');
    return { raw, content: parseLock(raw), mtimeMs };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function parseLock(raw: string): LockContent | null {
  try {
    const value = JSON.parse(raw) as Partial<LockContent> | null;
    if (!value || typeof value.pid !== 'number' || !Number.isSafeInteger(value.pid) || value.pid <= 0 || typeof value.hostname !== 'string') return null;
    return {
      pid: value.pid, hostname: value.hostname,
      startedAt: typeof value.startedAt === 'string' ? value.startedAt : 'an unknown time',
      openedBy: typeof value.openedBy === 'string' ? value.openedBy : 'an unknown opener',
      ...(typeof value.script === 'string' ? { script: value.script } : {}),
      ...(typeof value.bootId === 'string' ? { bootId: value.bootId } : {}),
      ...(typeof value.startTicks === 'string' ? { startTicks: value.startTicks } : {}),
    };
  } catch {
    return null;
  }
}

function removeQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // Already gone.
  }
}

const USE_POSTGRES = 'or set DATABASE_URL in both to a PostgreSQL server, which any number of processes and the command line can share';

function inUse(dataDir: string, file: string, found: FoundLock): ActivityTrackingError {
  const holder = found.content;
  if (holder === null) return busy(dataDir, file);
  const who = `${holder.openedBy}${holder.script ? ` of ${holder.script}` : ''}, since ${holder.startedAt}`;
  const oneAtATime = 'the embedded database (PGlite) can be open in one process at a time';
  if (holder.hostname === os.hostname() && holder.pid === process.pid) {
    return new ActivityTrackingError('ERR_AT_DATA_DIR_IN_USE', `The embedded database in ${dataDir} is already open in this process (${who}; lock file ${file}): ${oneAtATime}, and once. Fix: close() the tracker that opened it before opening it again, or share that one tracker; ${USE_POSTGRES}`);
  }
  const where = holder.hostname === os.hostname()
    ? 'on this host'
    : `on host ${holder.hostname} (its lock was refreshed ${Math.round((Date.now() - found.mtimeMs) / 1000)} s ago; one not refreshed for ${LOCK_STALE_MS / 60_000} minutes is taken over)`;
  return new ActivityTrackingError('ERR_AT_DATA_DIR_IN_USE', `The embedded database in ${dataDir} is in use by process ${holder.pid} ${where} (${who}; lock file ${file}): ${oneAtATime}. Fix: stop that process (the app) and run this again, ${USE_POSTGRES}`);
}

function busy(dataDir: string, file: string): ActivityTrackingError {
  return new ActivityTrackingError('ERR_AT_DATA_DIR_IN_USE', `The embedded database in ${dataDir} is being opened by another process at this moment (lock file ${file}): the embedded database (PGlite) can be open in one process at a time. Fix: stop the other process and run this again, ${USE_POSTGRES}`);
}
