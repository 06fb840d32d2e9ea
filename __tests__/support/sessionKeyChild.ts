/**
 * One process asking for the session cookie key of a data folder, for the test of several processes
 * starting at once: `node -r __tests__/support/register-ts.js __tests__/support/sessionKeyChild.ts <dataDir> <startAtMs>`.
 * Waits until startAtMs, so the processes ask at the same moment, then prints the key in hex.
 */
import { sessionMasterKey } from '../../lib/capture/sessionKey';

const [dataDir, startAt] = process.argv.slice(2) as [string, string];
const logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: (message: string) => { process.stderr.write(`${message}\n`); } };
while (Date.now() < Number(startAt)) { /* spin: a timer is too coarse to line the processes up */ }
process.stdout.write(`${sessionMasterKey({ sessionSecret: undefined, dataDir, logger }).toString('hex')}\n`);
