/**
 * The export memory check, in a process of its own so its RSS is the export's alone: runs the
 * report router, downloads `GET /export` from itself into a sink that only counts bytes and line
 * ends, and samples `process.memoryUsage().rss` every `sampleMs` while it does. argv[2] is a JSON
 * ExportChildConfig; the result goes back over IPC as an ExportChildResult.
 */
import http from 'node:http';
import express from 'express';
import { createActivityTracker } from '../lib/index';
import { messageOf } from '../lib/util/messageOf';

/** What bench/reports.ts tells this child. */
export interface ExportChildConfig {
  /** PostgreSQL connection string with `options=-c search_path=<schema>`. */
  databaseUrl: string;
  jwtSecret: string;
  /** A signed bearer token of a reader. */
  token: string;
  /** Path under the mount point, query string included. */
  path: string;
  sampleMs: number;
}

/** One distinct SQL text the export sent, with the bindings of its first use. */
export interface CapturedQuery {
  sql: string;
  bindings: unknown[];
}

export type ExportChildResult =
  | {
      type: 'done';
      status: number;
      contentType: string;
      bytes: number;
      /** Line ends (LF) seen; a CSV of n rows has n + 1 lines with its header. */
      lines: number;
      /** Whether the last byte was a line end, so a final line without one can be counted. */
      endsWithNewline: boolean;
      seconds: number;
      /** RSS when the request was sent, before any row was read. */
      startRssMb: number;
      peakRssMb: number;
      samples: number;
      queries: CapturedQuery[];
      /** The first bytes of a non-200 answer, to say why. */
      errorBody?: string;
    }
  | { type: 'failed'; error: string };

export const MOUNT = '/api/activity-tracking';
const MB = 1024 * 1024;

function send(message: ExportChildResult): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) {
      console.log(JSON.stringify(message));
      resolve();
      return;
    }
    process.send(message, undefined, undefined, () => resolve());
  });
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as ExportChildConfig;
  const tracker = createActivityTracker({
    database: config.databaseUrl,
    jwtSecret: config.jwtSecret,
    logger: { debug: () => undefined, info: () => undefined, warn: (m) => console.warn(`[export child] ${m}`), error: (m, c) => console.error(`[export child] ${m}`, c ?? '') },
  });
  await tracker.ready();
  const queries = new Map<string, CapturedQuery>();
  tracker.knex.on('query', (q: { sql: string; bindings?: unknown[]; method?: string }) => {
    if (q.method === 'insert' || queries.has(q.sql) || queries.size >= 20) return;
    queries.set(q.sql, { sql: q.sql, bindings: q.bindings ?? [] });
  });

  const app = express();
  app.use(MOUNT, tracker.router());
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');

  const startRss = process.memoryUsage().rss;
  let peakRss = startRss;
  let samples = 0;
  const sampler = setInterval(() => {
    samples++;
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, config.sampleMs);

  const started = performance.now();
  const outcome = await new Promise<{ status: number; contentType: string; bytes: number; lines: number; endsWithNewline: boolean; errorBody?: string }>((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port: address.port, path: `${MOUNT}${config.path}`, headers: { authorization: `Bearer ${config.token}` }, agent: false }, (res) => {
      let bytes = 0;
      let lines = 0;
      let last = -1;
      let errorBody = '';
      const status = res.statusCode ?? 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
        if (chunk.length > 0) last = chunk[chunk.length - 1] ?? -1;
        if (status !== 200 && errorBody.length < 500) errorBody += chunk.toString('utf8', 0, Math.min(chunk.length, 500));
      });
      res.on('end', () => resolve({
        status,
        contentType: String(res.headers['content-type'] ?? ''),
        bytes,
        lines,
        endsWithNewline: last === 10,
        ...(status !== 200 ? { errorBody: errorBody.slice(0, 500) } : {}),
      }));
      res.on('error', reject);
      res.on('aborted', () => reject(new Error(`the export was cut off after ${bytes} bytes`)));
    });
    request.on('error', reject);
  });
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  peakRss = Math.max(peakRss, process.memoryUsage().rss);

  await new Promise<void>((resolve) => server.close(() => resolve()));
  await tracker.close();
  await send({
    type: 'done',
    ...outcome,
    seconds,
    startRssMb: startRss / MB,
    peakRssMb: peakRss / MB,
    samples,
    queries: [...queries.values()],
  });
}

// bench/reports.ts imports the types and MOUNT from here; only a forked child runs the export.
if (require.main === module) {
  main().then(() => process.exit(0), async (error: unknown) => {
    await send({ type: 'failed', error: messageOf(error, { stack: true }) });
    process.exit(1);
  });
}
