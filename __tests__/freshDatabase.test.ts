import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { memoryLogger } from './support/app';
import { startChildApp } from './support/child';
import { withEnv } from './support/env';
import { createActivityTracker } from '../lib/tracker';

/**
 * Issue 15: an app started on a new data folder reached 900 MB, because PGlite creates the
 * database (initdb) inside the process and never gives that memory back. A short-lived child
 * process creates it now, and the database runs with 16 MB of shared buffers instead of 128 MB.
 */

function newDataDir(): string {
  return path.join(mkdtempSync(path.join(os.tmpdir(), 'activity-fresh-')), 'data');
}

/** The highest resident memory the process has had (VmHWM), in MiB. */
function peakMb(pid: number): number {
  const kb = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) / 1024;
}

/** Starts a tracker on the embedded database in dataDir (with `env` set), and reads its shared_buffers. */
async function sharedBuffersOfNewTracker(dataDir: string, logger: ReturnType<typeof memoryLogger>, env: Record<string, string> = {}): Promise<string | undefined> {
  return withEnv({ DATABASE_URL: undefined, ACTIVITY_SESSION_SECRET: undefined, ...env }, async () => {
    const tracker = createActivityTracker({ dataDir, jobs: false, geo: false, logger });
    try {
      await tracker.ready();
      const { rows } = await tracker.knex.raw<{ rows: Array<{ shared_buffers: string }> }>('show shared_buffers');
      return rows[0]?.shared_buffers;
    } finally {
      await tracker.close();
    }
  });
}

describe('an app on a new data folder', () => {
  it('gets its embedded database from a short-lived process, and itself peaks under 500 MB', async () => {
    const dataDir = newDataDir();
    const app = await startChildApp({ dataDir }, { DATABASE_URL: undefined, ACTIVITY_SESSION_SECRET: undefined });
    try {
      expect((await fetch(`${app.url}/t/1`)).status).toBe(200);
      // Created in the app's own process, the database took it to about 900 MB.
      expect(peakMb(app.child.pid as number)).toBeLessThan(500);
    } finally {
      app.child.kill('SIGKILL');
      await app.exited;
    }
    expect(existsSync(path.join(dataDir, 'PG_VERSION'))).toBe(true);
  }, 120_000);

  it('opens it with 16 MB of shared buffers, and says nothing', async () => {
    const dataDir = newDataDir();
    const logger = memoryLogger();
    expect(await sharedBuffersOfNewTracker(dataDir, logger)).toBe('16MB');
    // No fallback to creating it in this process, which warns.
    expect(logger.lines.filter((l) => l.level === 'warn' || l.level === 'error')).toEqual([]);
  }, 120_000);

  it('still gets its database when no child process can run, created in its own process as before, with a warning that says why', async () => {
    const dataDir = newDataDir();
    const logger = memoryLogger();
    // The child inherits the environment: a preload that does not exist stops it before it starts.
    expect(await sharedBuffersOfNewTracker(dataDir, logger, { NODE_OPTIONS: '--require ./no-such-preload.js' })).toBe('16MB');
    expect(existsSync(path.join(dataDir, 'PG_VERSION'))).toBe(true);
    expect(logger.lines.filter((l) => l.level === 'warn' || l.level === 'error')).toEqual([{
      level: 'warn',
      message: expect.stringMatching(/could not be created in a separate process \(the process creating it exited with code 1: .*no-such-preload/s),
      context: { dataDir },
    }]);
  }, 120_000);
});
