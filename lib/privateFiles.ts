import { chmodSync, lstatSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from './types';
import { messageOf } from './util/messageOf';

/**
 * The data folder holds the trail before it is stored (journal, rejects), the embedded database
 * and the session cookie key: only the process's own user may read or change any of it, whatever
 * the umask. A mode given at creation can only lose bits to the umask, never gain them, so
 * creating with these modes is enough for new files; what older versions (or a copy) left behind
 * is tightened by `tightenTreeSync`.
 */
export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/**
 * Creates the folder (and missing parents) private, and tightens what is already in it. Returns
 * what could not be made private, for the caller to report: the folder is still usable.
 */
export function preparePrivateDirSync(dir: string): Failure[] {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  return tightenTreeSync(dir);
}

export interface Failure {
  path: string;
  error: string;
}

/**
 * Makes every folder under `dir` (itself included, also when it is a symbolic link) 0700 and every
 * file 0600. Symbolic links below it are neither followed nor changed. Returns what could not be changed (a file owned by another user,
 * say), for the caller to report; the walk goes on past it.
 */
export function tightenTreeSync(dir: string): Failure[] {
  const failures: Failure[] = [];
  const pending = [dir];
  while (pending.length > 0) {
    const current = pending.pop() as string;
    try {
      // The folder itself may be a link (a mounted volume); below it, links are left alone.
      const stat = current === dir ? statSync(current) : lstatSync(current);
      if (stat.isDirectory()) {
        if ((stat.mode & 0o777) !== PRIVATE_DIR_MODE) chmodSync(current, PRIVATE_DIR_MODE);
        for (const name of readdirSync(current)) pending.push(path.join(current, name));
      } else if (stat.isFile() && (stat.mode & 0o777) !== PRIVATE_FILE_MODE) {
        chmodSync(current, PRIVATE_FILE_MODE);
      }
    } catch (error) {
      // Gone since it was listed (a journal segment trimmed by another process) is not a failure.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') failures.push({ path: current, error: messageOf(error) });
    }
  }
  return failures;
}

/** Tightening failures, reported once at the place they happen. */
export function reportFailures(failures: readonly Failure[], logger: Logger): void {
  if (failures.length === 0) return;
  logger.warn('Some activity data files cannot be made private (readable and writable by their owner only). Fix: run the app as the user that owns them, or chown them to it', {
    count: failures.length, first: failures[0],
  });
}
