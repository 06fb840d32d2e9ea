/**
 * The command line beside an app on the embedded database. PGlite has no lock of its own: two
 * processes on one data folder abort ("Aborted()") or damage it. The folder's lock file names the
 * app, and the command stops at once, saying what to do.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createActivityTracker } from '../lib/tracker';
import { DATA_FOLDER_LOCK_FILE } from '../lib/store/dataFolderLock';
import { startChildApp, type ChildApp } from './support/child';
import { runCli } from './support/cli';
import { withEnv } from './support/env';

const CHECKPOINT_KEY = 'cli-beside-the-app-checkpoint-key-0123';

let dataDir: string;
let app: ChildApp | undefined;
beforeEach(() => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'activity-cli-app-running-'));
});
afterEach(async () => {
  if (app && app.child.exitCode === null && app.child.signalCode === null) {
    app.child.kill('SIGKILL');
    await app.exited;
  }
  app = undefined;
  rmSync(dataDir, { recursive: true, force: true });
});

/** The embedded database in dataDir, whatever DATABASE_URL the suite runs with. */
const env = () => ({
  DATABASE_URL: undefined, ACTIVITY_DATA_DIR: dataDir, ACTIVITY_SIGNING_KEY: undefined,
  ACTIVITY_CHECKPOINT_KEY: CHECKPOINT_KEY, ACTIVITY_CHECKPOINT_PRIVATE_KEY: undefined, ACTIVITY_CHECKPOINT_PUBLIC_KEY: undefined,
});

async function startApp(): Promise<ChildApp> {
  app = await startChildApp({ handleSignals: true, flushIntervalMs: 20 }, env());
  for (let i = 1; i <= 3; i += 1) expect((await fetch(`${app.url}/t/${i}`)).status).toBe(200);
  return app;
}

describe('the command line while the app has the embedded database open', () => {
  it('stops every command at once with exit code 2, naming the app\'s process and the fix; never a WebAssembly abort', async () => {
    const running = await startApp();
    const lock = JSON.parse(readFileSync(path.join(dataDir, DATA_FOLDER_LOCK_FILE), 'utf8')) as { pid: number; openedBy: string };
    expect(lock).toMatchObject({ pid: running.child.pid, openedBy: 'a tracker' });
    // The failure was intermittent (7 of 8 checkpoints): each command, several times.
    const commands = [['checkpoint'], ['verify'], ['cleanup', '--dry-run'], ['migrate']];
    for (let round = 0; round < 3; round += 1) {
      for (const command of commands) {
        const result = await runCli(command, env());
        expect(result).toMatchObject({ code: 2, out: '' });
        expect(result.err).toMatch(new RegExp(`^activity-tracking: .*The embedded database in ${escapeRegExp(dataDir)} is in use by process ${running.child.pid} on this host `
          + `\\(a tracker of .*childApp\\.ts, since .*; lock file ${escapeRegExp(path.join(dataDir, DATA_FOLDER_LOCK_FILE))}\\): the embedded database \\(PGlite\\) can be open in one process at a time\\. `
          + 'Fix: stop that process \\(the app\\) and run this again, or set DATABASE_URL in both to a PostgreSQL server'));
        expect(result.err).not.toMatch(/Aborted|WebAssembly|RuntimeError/);
      }
    }
    // The app was not disturbed: it still records.
    expect((await fetch(`${running.url}/t/4`)).status).toBe(200);

    // Once the app has stopped (and with it, released its lock), the same commands work.
    running.child.kill('SIGTERM');
    expect(await running.exited).toMatchObject({ signal: 'SIGTERM' });
    expect(existsSync(path.join(dataDir, DATA_FOLDER_LOCK_FILE))).toBe(false);
    const verify = await runCli(['verify'], env());
    expect(verify).toMatchObject({ code: 0, err: '', out: expect.stringMatching(/^Checked \d+ row\(s\), chain positions 1 to \d+\.\nOK: the hash chain is intact/) });
    expect(Number(/Checked (\d+) row/.exec(verify.out)?.[1])).toBeGreaterThanOrEqual(4);
    expect(JSON.parse((await runCli(['checkpoint'], env())).out)).toMatchObject({ algorithm: 'HMAC-SHA256' });
    // And the command let go of the folder too.
    expect(existsSync(path.join(dataDir, DATA_FOLDER_LOCK_FILE))).toBe(false);
  }, 120_000);

  it('a second tracker on the folder fails at start-up with the same code, and the running app goes on', async () => {
    const running = await startApp();
    await withEnv({ DATABASE_URL: undefined }, async () => {
      expect(() => createActivityTracker({ dataDir, jobs: false, geo: false })).toThrow(expect.objectContaining({
        code: 'ERR_AT_DATA_DIR_IN_USE', message: expect.stringContaining(`is in use by process ${running.child.pid}`),
      }));
    });
    expect((await fetch(`${running.url}/t/5`)).status).toBe(200);
  }, 120_000);

  it('a lock left by an app that was killed is taken over, with a warning that names the dead process', async () => {
    const killed = await startApp();
    killed.child.kill('SIGKILL');
    await killed.exited;
    const left = readFileSync(path.join(dataDir, DATA_FOLDER_LOCK_FILE), 'utf8');
    expect(JSON.parse(left)).toMatchObject({ pid: killed.child.pid });
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      const verify = await runCli(['verify'], env());
      expect(verify).toMatchObject({ code: 0, err: '', out: expect.stringContaining('OK: the hash chain is intact') });
      expect(warn).toHaveBeenCalledWith(
        `[activity-tracking] Took over the lock of the embedded database in ${dataDir}: process ${killed.child.pid} is no longer running (it stopped without closing the database: killed or crashed)`,
        expect.objectContaining({ lockFile: path.join(dataDir, DATA_FOLDER_LOCK_FILE) }),
      );
    } finally {
      warn.mockRestore();
    }
    expect(existsSync(path.join(dataDir, DATA_FOLDER_LOCK_FILE))).toBe(false);
  }, 120_000);
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
