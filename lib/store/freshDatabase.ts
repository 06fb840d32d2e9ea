import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { messageOf } from '../util/messageOf';

/** Whether the folder holds a database; PGlite runs initdb on one that does not. */
export function hasDatabase(dataDir: string): boolean {
  return existsSync(path.join(dataDir, 'PG_VERSION'));
}

// Plain JavaScript, run with `node -e`, so the same code runs from the build and from the sources
// (tests). It stops when the parent goes, so no initdb writes into a folder whose lock is gone.
const CHILD_SCRIPT = `
const [pglitePath, nodefsPath, dataDir, startParams] = process.argv.slice(1);
process.on('disconnect', () => process.exit(2));
const { PGlite } = require(pglitePath);
const { NodeFS } = require(nodefsPath);
PGlite.create({ fs: new NodeFS(dataDir), startParams: JSON.parse(startParams) })
  .then((db) => db.close())
  .then(() => process.exit(0), (error) => {
    process.stderr.write(String((error && error.stack) || error));
    process.exit(1);
  });
`;

/**
 * PGlite creates a database in a new folder by running initdb in a second, in-memory PostgreSQL,
 * copying that one's whole heap before each of its runs, and moving the result through a tar held
 * in memory: the process reaches 850-900 MB and keeps about 800 MB for the rest of its life (its
 * WebAssembly memories are never given back). This does it in a child process instead, started
 * with the `startParams` the caller will use (smaller shared buffers make the child's peak smaller
 * too), and resolves once the child is done; the caller then opens the folder as an existing
 * database. Rejects, with what the child printed, when it could not run or did not finish.
 */
export function createDatabaseInChild(dataDir: string, startParams: readonly string[]): Promise<void> {
  const modules = [require.resolve('@electric-sql/pglite'), require.resolve('@electric-sql/pglite/nodefs')];
  // One V8 helper thread instead of four: fewer WebAssembly compilations at once, about 65 MB less
  // at the child's peak (700 MB instead of 770) and no slower.
  const args = ['--v8-pool-size=1', '-e', CHILD_SCRIPT, ...modules, dataDir, JSON.stringify(startParams)];
  return new Promise((resolve, reject) => {
    // ELECTRON_RUN_AS_NODE: in an Electron app process.execPath is Electron, which runs as Node only so.
    const child = spawn(process.execPath, args, {
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      if (stderr.length < 8192) stderr += chunk.toString();
    });
    child.once('error', (error) => reject(new Error(`could not start ${process.execPath}: ${messageOf(error)}`)));
    // 'close', not 'exit': by then everything the child printed has been read.
    child.once('close', (code, signal) => {
      if (code === 0 && hasDatabase(dataDir)) return resolve();
      const how = signal ? `was stopped by ${signal}` : `exited with code ${code}`;
      reject(new Error(`the process creating it ${how}${stderr.trim() ? `: ${stderr.trim()}` : ''}`));
    });
  });
}
