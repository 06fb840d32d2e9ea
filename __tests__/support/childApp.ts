/**
 * An application process, for tests where the process itself is signalled or killed:
 * `node -r __tests__/support/register-ts.js __tests__/support/childApp.ts '<tracker options as JSON>'`.
 * `GET /t/:seq` is tracked; `GET /__stats` (mounted before the tracker, so not tracked) answers
 * `tracker.stats()`. Prints `listening <port>` once the tracker is ready.
 */
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createActivityTracker } from '../../lib/tracker';
import type { Options } from '../../lib/types';

const options = JSON.parse(process.argv[2] ?? '{}') as Options;
const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const tracker = createActivityTracker({ jobs: false, geo: false, ...options, logger: quiet });
const app = express();
app.get('/__stats', (_req, res) => { res.json(tracker.stats()); });
app.use(tracker.middleware());
app.get('/t/:seq', (req, res) => { res.json({ seq: req.params.seq }); });

// The database may be unreachable on purpose: the app serves either way.
void tracker.ready().catch(() => undefined).then(() => {
  const server = app.listen(0, '127.0.0.1', () => {
    process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`);
  });
});
