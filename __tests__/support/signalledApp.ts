/**
 * An application process for the shutdown test:
 * `node -r __tests__/support/register-ts.js __tests__/support/signalledApp.ts <journalDir> <count>`.
 * It serves itself <count> requests while its database cannot be reached and its batches are too
 * large to be written yet, prints "ready" once all of them wait in memory, and then waits for a
 * signal: the tracker's opt-in handler must journal them before the process ends.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createActivityTracker } from '../../lib/tracker';

const [journalDir, countArg] = process.argv.slice(2);
const count = Number(countArg);
const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const tracker = createActivityTracker({
  database: 'postgres://nobody@127.0.0.1:1/none', journal: { dir: journalDir as string }, handleSignals: true,
  batchSize: 2000, maxQueueSize: 10_000, flushIntervalMs: 60_000, closeTimeoutMs: 500, jobs: false, geo: false, logger: quiet,
});
const app = express();
app.use(tracker.middleware());
app.get('/item/:n', (req, res) => { res.json({ n: req.params.n }); });

const server = app.listen(0, '127.0.0.1', async () => {
  const { port } = server.address() as AddressInfo;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 20 });
  const one = (n: number) => new Promise<void>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: `/item/${n}`, agent }, (res) => { res.resume(); res.on('end', resolve); }).on('error', reject);
  });
  for (let n = 0; n < count; n += 20) await Promise.all(Array.from({ length: Math.min(20, count - n) }, (_, i) => one(n + i)));
  agent.destroy();
  while (tracker.stats().queued < count) await new Promise((resolve) => setTimeout(resolve, 10));
  process.stdout.write(`ready ${JSON.stringify(tracker.stats())}\n`);
});
