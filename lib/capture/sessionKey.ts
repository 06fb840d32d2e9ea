import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, fchmodSync, fstatSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../types';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, reportFailures } from '../privateFiles';
import { messageOf } from '../util/messageOf';

/** Under the data folder; every process of an app that shares the folder signs and checks cookies with it. */
export const SESSION_KEY_FILE = 'session-key';
const KEY_TEXT = /^([0-9a-f]{64})\n?$/;

/**
 * The secret the session cookie's signature is derived from: `sessionSecret` when given, else a
 * random key generated once and kept (0600) under the data folder, so sessions survive a restart
 * and every process sharing the folder accepts the others' cookies. When that file cannot be read
 * or written, a key of this process's own is used and the problem is reported: cookies then last
 * as long as the process, which is safe, only less convenient.
 */
export function sessionMasterKey(config: { sessionSecret: string | undefined; dataDir: string; logger: Logger }): Buffer {
  if (config.sessionSecret !== undefined) return Buffer.from(config.sessionSecret);
  const dir = path.resolve(config.dataDir);
  const file = path.join(dir, SESSION_KEY_FILE);
  try {
    mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
    // On PostgreSQL nothing else may look at the folder: one an older version left open is closed here.
    if ((statSync(dir).mode & 0o777) !== PRIVATE_DIR_MODE) chmodSync(dir, PRIVATE_DIR_MODE);
  } catch (error) {
    reportFailures([{ path: dir, error: messageOf(error) }], config.logger);
  }
  try {
    return readOrCreateKey(file, config.logger);
  } catch (error) {
    config.logger.error('The session cookie key cannot be kept under the data folder; this process uses a key of its own, so its cookies are not accepted by other processes or after a restart. Fix: make ACTIVITY_DATA_DIR (or dataDir) writable, delete a damaged key file, or set sessionSecret (ACTIVITY_SESSION_SECRET)', {
      file, error: messageOf(error),
    });
    return randomBytes(32);
  }
}

function readOrCreateKey(file: string, logger: Logger): Buffer {
  const existing = readKey(file, logger);
  if (existing !== null) return existing;
  // Written whole under a name of its own, then linked into place: link fails if the name is taken,
  // so of several processes starting at once exactly one key wins and no one reads a partial file.
  const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  writeNewKey(temp);
  try {
    linkSync(temp, file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // A file system without hard links: create the name itself, exclusively (one process wins).
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP') {
      try {
        writeNewKey(file);
      } catch (created) {
        if ((created as NodeJS.ErrnoException).code !== 'EEXIST') throw created;
      }
    } else if (code !== 'EEXIST') {
      throw error;
    }
  } finally {
    unlinkSync(temp);
  }
  const key = readKey(file, logger);
  if (key === null) throw new Error(`${file} vanished as it was created`);
  return key;
}

function readKey(file: string, logger: Logger): Buffer | null {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  try {
    // A key file an older version or a copy left readable to others is made private; one this
    // process may not change (another owner, a read-only mount) is still a good key.
    if ((fstatSync(fd).mode & 0o777) !== PRIVATE_FILE_MODE) {
      try {
        fchmodSync(fd, PRIVATE_FILE_MODE);
      } catch (error) {
        logger.warn('The session cookie key file is readable by other users and cannot be made private; it is used as it is. Fix: chmod 600 it as its owner, or set sessionSecret (ACTIVITY_SESSION_SECRET)', { file, error: messageOf(error) });
      }
    }
    const match = KEY_TEXT.exec(readFileSync(fd, 'utf8'));
    if (!match) throw new Error(`${file} does not hold a key (64 hexadecimal digits)`);
    return Buffer.from(match[1] as string, 'hex');
  } finally {
    closeSync(fd);
  }
}

/** Creates `file` (failing if it exists) holding a new random key, flushed to disk. */
function writeNewKey(file: string): void {
  const fd = openSync(file, 'wx', PRIVATE_FILE_MODE);
  try {
    writeSync(fd, `${randomBytes(32).toString('hex')}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
