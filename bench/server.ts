/**
 * The app under test, run in its own process by bench/run.ts so the load generator does not share
 * its event loop. argv[2] is a JSON ServerConfig; the port is reported over IPC. On 'stop' it closes
 * the HTTP server, waits for every request to end, closes the tracker (which flushes everything)
 * and reports the recorder stats and the rows stored.
 */
import http from 'node:http';
import { createWriteStream } from 'node:fs';
import express from 'express';
import knexFactory, { type Knex } from 'knex';
import { createActivityTracker, type ActivityTracker, type Options } from '../lib/index';
import type { FromServer, ServerConfig, ToServer } from './protocol';
import { messageOf } from '../lib/util/messageOf';
import morgan from 'morgan';
import { pinoHttp } from 'pino-http';
import { pino } from 'pino';

const config = JSON.parse(process.argv[2] ?? '{}') as ServerConfig;

function send(message: FromServer): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(message, undefined, undefined, () => resolve());
  });
}

function trackerOptions(): Options {
  const quiet = { debug: () => undefined, info: () => undefined };
  const base: Options = {
    detailedTracking: true,
    geo: true,
    logger: { ...quiet, warn: (m, c) => console.warn(`[child warn] ${m}`, c ?? ''), error: (m, c) => console.error(`[child error] ${m}`, c ?? '') },
    ...config.trackerOverrides,
  };
  // Never the default <dataDir>/journal: on PostgreSQL that is ./.activity-data in the working copy.
  if (!config.journalDir) throw new Error('ServerConfig.journalDir is required for a tracked variant');
  base.journal = { dir: config.journalDir, mode: config.journalMode ?? 'spill' };
  if (config.kind === 'postgres') return { ...base, database: config.databaseUrl };
  return { ...base, dataDir: config.dataDir };
}

const ITEMS = new Map<string, { id: number; name: string; price: number; tags: string[] }>();
for (let i = 1; i <= 100; i++) ITEMS.set(String(i), { id: i, name: `Item ${i}`, price: 9.99 + i, tags: ['catalog', i % 2 === 0 ? 'even' : 'odd'] });

async function main(): Promise<void> {
  let tracker: ActivityTracker | undefined;
  // A variant run twice in one bench shares its database: count only the rows this run adds.
  let rowsBefore = { rows: 0, sessions: 0 };
  if (config.kind === 'postgres' || config.kind === 'embedded') {
    tracker = createActivityTracker(trackerOptions());
    await tracker.ready(); // migrations of the embedded database are not part of the measurement
    rowsBefore = await countRows(tracker.knex);
  }

  const app = express();
  app.set('trust proxy', true);
  if (tracker) app.use(tracker.middleware());
  // The loggers as their READMEs set them up, writing every request's line to /dev/null.
  if (config.kind === 'morgan') app.use(morgan('combined', { stream: createWriteStream('/dev/null') }));
  if (config.kind === 'pino-http') app.use(pinoHttp({ logger: pino(pino.destination('/dev/null')) }));
  app.use(express.json());
  app.get('/api/items/:id', (req, res) => {
    const item = ITEMS.get(req.params.id);
    if (item) res.json(item);
    else res.status(404).json({ error: 'not found' });
  });

  let served = 0;
  let servedNon2xx = 0;
  let inflight = 0;
  const server = http.createServer();
  server.keepAliveTimeout = 60_000;
  // Registered before the app, so every request that reaches Node is counted, tracked or not.
  server.on('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
    served++;
    inflight++;
    res.once('close', () => {
      inflight--;
      if (res.statusCode < 200 || res.statusCode >= 300 || !res.writableFinished) servedNon2xx++;
    });
  });
  server.on('request', app);

  let cpuAtMark = process.cpuUsage();
  let servedAtMark = 0;
  let stopping = false;

  process.on('message', (message: ToServer) => {
    if (message.type === 'mark') {
      cpuAtMark = process.cpuUsage();
      servedAtMark = served;
      void send({ type: 'marked' });
      return;
    }
    if (message.type === 'sample') {
      const cpu = process.cpuUsage(cpuAtMark);
      void send({ type: 'sampled', cpuMs: (cpu.user + cpu.system) / 1000, served: served - servedAtMark });
      return;
    }
    if (message.type === 'stop' && !stopping) {
      stopping = true;
      stop().catch(async (error: unknown) => {
        await send({ type: 'failed', error: messageOf(error, { stack: true }) });
        process.exit(1);
      });
    }
  });

  async function stop(): Promise<void> {
    // Events in memory and in the journal: in write-ahead mode the journal is where the backlog waits.
    const queuedAtStop = tracker ? tracker.stats().queued + tracker.stats().journalPending : null;
    // Stop accepting; autocannon has destroyed its sockets, so this resolves once they are gone.
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => server.closeAllConnections(), 5000);
      server.close(() => {
        clearTimeout(force);
        resolve();
      });
    });
    // Every request's 'close' listeners (the tracker's included) have run once inflight is 0.
    while (inflight > 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await new Promise((resolve) => setImmediate(resolve));

    let stats = null;
    let rows: number | null = null;
    let sessions: number | null = null;
    const closeStart = performance.now();
    if (tracker) {
      await tracker.close();
      stats = tracker.stats();
    }
    const closeMs = performance.now() - closeStart;
    if (tracker) {
      const after = await countRows();
      rows = after.rows - rowsBefore.rows;
      sessions = after.sessions;
    }
    await send({ type: 'stopped', served, servedNon2xx, queuedAtStop, closeMs, stats, rows, sessions, rssMb: process.memoryUsage().rss / 1048576 });
    process.exit(0);
  }

  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no TCP address');
    void send({ type: 'listening', port: address.port });
  });
}

/** Counted through the tracker's connection before the run, and through one of its own after the tracker closed. */
async function countRows(open?: Knex): Promise<{ rows: number; sessions: number }> {
  let knex: Knex;
  if (open) {
    knex = open;
  } else if (config.kind === 'postgres') {
    knex = knexFactory({ client: 'pg', connection: config.databaseUrl, searchPath: config.schema ? [config.schema] : undefined, pool: { min: 0, max: 1 } });
  } else {
    const ClientPgLite = require('knex-pglite') as typeof Knex.Client;
    knex = knexFactory({ client: ClientPgLite, dialect: 'postgres', connection: { filename: config.dataDir } } as Knex.Config);
  }
  try {
    // Requests only: the trail also holds a session_start row per new session.
    const [a] = (await knex('user_activity').whereNotNull('method').count<{ count: string | number }[]>({ count: '*' })) as Array<{ count: string | number }>;
    const [s] = (await knex('activity_sessions').count<{ count: string | number }[]>({ count: '*' })) as Array<{ count: string | number }>;
    return { rows: Number(a?.count ?? NaN), sessions: Number(s?.count ?? NaN) };
  } finally {
    if (!open) await knex.destroy();
  }
}

main().catch(async (error: unknown) => {
  await send({ type: 'failed', error: messageOf(error, { stack: true }) });
  process.exit(1);
});
